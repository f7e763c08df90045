package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/streambot/streambot/stream"
)

// ObservableSource is an optional interface of a stream.Source that can
// report its connection. Run calls Observe once, before the source's Run;
// a source that does not implement it is judged by the data it emits
// only: "stream connected" then means that an event arrived within
// Config.StaleAfter.
type ObservableSource interface {
	stream.Source
	// Observe hands the source the observer to report to.
	Observe(ConnectionObserver)
}

// ConnectionObserver receives a source's connection changes; it is
// stream.ConnectionObserver, named here for the readers of this package.
type ConnectionObserver = stream.ConnectionObserver

// health is what /healthz and /readyz look at.
type health struct {
	lastData  atomic.Int64 // unix ns of the last event or connection
	observed  atomic.Bool  // the source reports its connection
	connected atomic.Bool
	ready     atomic.Bool
}

func (h *health) init(now time.Time)    { h.lastData.Store(now.UnixNano()) }
func (h *health) sawData(now time.Time) { h.lastData.Store(now.UnixNano()) }

type observer struct{ b *Bot }

func (o observer) Connected() {
	o.b.health.connected.Store(true)
	o.b.health.sawData(o.b.cfg.Now())
}

func (o observer) Disconnected(reason string) {
	o.b.health.connected.Store(false)
	if reason == "" {
		reason = "unknown"
	}
	o.b.metrics.reconnects.WithLabelValues(reason).Inc()
}

// streamConnected is the observer's word when there is one, else whether
// data arrived within StaleAfter.
func (b *Bot) streamConnected(now time.Time) bool {
	if b.health.observed.Load() {
		return b.health.connected.Load()
	}
	return !b.stale(now)
}

func (b *Bot) stale(now time.Time) bool {
	return now.Sub(time.Unix(0, b.health.lastData.Load())) > b.cfg.StaleAfter
}

// Healthy reports whether the bot works: the stream is connected (when the
// source reports it) and data arrived within StaleAfter, and no
// destination's oldest queued status is older than StuckAfter. The
// problems say what is wrong.
func (b *Bot) Healthy() (bool, []string) {
	now := b.cfg.Now()
	var problems []string
	if b.health.observed.Load() && !b.health.connected.Load() {
		problems = append(problems, "stream: not connected")
	}
	if b.stale(now) {
		problems = append(problems, fmt.Sprintf("stream: no data for %s (limit %s)",
			now.Sub(time.Unix(0, b.health.lastData.Load())).Round(time.Second), b.cfg.StaleAfter))
	}
	for _, d := range b.dests {
		if age := b.oldestAge(d, now); age > b.cfg.StuckAfter {
			problems = append(problems, fmt.Sprintf("destination %s: stuck, the oldest queued status waits for %s (limit %s)",
				d.Name, age.Round(time.Second), b.cfg.StuckAfter))
		}
	}
	return len(problems) == 0, problems
}

// Ready reports whether Run has loaded the store and is accepting
// statuses; it turns false when shutdown begins.
func (b *Bot) Ready() bool { return b.health.ready.Load() }

func (b *Bot) oldestAge(d *destination, now time.Time) time.Duration {
	t := d.oldest()
	if t.IsZero() {
		return 0
	}
	return max(now.Sub(t), 0)
}

// Registry returns the Bot's own Prometheus registry (no global state):
// the metrics Handler serves.
func (b *Bot) Registry() *prometheus.Registry { return b.metrics.reg }

// Handler serves /metrics (Prometheus text format), /healthz (200 "ok" or
// 503 with one problem per line, see Healthy) and /readyz (200 while Run
// accepts statuses, 503 before and during shutdown).
func (b *Bot) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(b.metrics.reg, promhttp.HandlerOpts{Registry: b.metrics.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ok, problems := b.Healthy(); !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(problems, "\n"))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !b.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready")
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// serve starts the metrics server when MetricsAddr is set and returns
// the function that stops it.
func (b *Bot) serve() (func(), error) {
	if b.cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", b.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("bot: metrics: %w", err)
	}
	srv := &http.Server{Handler: b.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.log.Error("metrics server stopped", "err", err)
		}
	}()
	b.log.Info("serving metrics", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}, nil
}
