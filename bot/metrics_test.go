package bot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// observedSource is a funcSource that reports its connection.
type observedSource struct {
	funcSource
	obs chan ConnectionObserver
}

func (s observedSource) Observe(o ConnectionObserver) { s.obs <- o }

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestMetricsAndHealth(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	emitted := make(chan struct{})
	src := observedSource{obs: make(chan ConnectionObserver, 1), funcSource: func(ctx context.Context, emit func(stream.Event) error) error {
		for _, ev := range []stream.Event{
			status("1", "python one"),
			status("1", "python one"), // re-sent
			status("2", "python two"),
			{Kind: stream.KindLimit, Limit: stream.Limit{Track: 3}},
			{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{Code: 7}},
		} {
			if err := emit(ev); err != nil {
				return err
			}
		}
		close(emitted)
		<-ctx.Done()
		return nil
	}}
	ok := &sink{hit: make(chan string, 2)}
	badDone := make(chan struct{}, 2)
	bad := handlers.HandlerFunc(func(context.Context, *stream.Status) error {
		badDone <- struct{}{}
		return handlers.Permanent(errors.New("webhook: HTTP 400"))
	})
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	stuck := handlers.HandlerFunc(func(ctx context.Context, _ *stream.Status) error {
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	b, err := New(Config{
		Source: src,
		Routes: []Route{route("py", "python", "ok", "bad", "stuck")},
		Destinations: []Destination{
			{Name: "ok", Handler: ok}, {Name: "bad", Handler: bad}, {Name: "stuck", Handler: stuck},
		},
		Now:           clock.Now,
		StaleAfter:    time.Minute,
		StuckAfter:    10 * time.Minute,
		StatsInterval: -1,
		DrainTimeout:  time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	acked := whenCommitted(b, func() bool {
		st := b.Stats().Destinations
		return st["ok"].Queued == 0 && st["bad"].Queued == 0 && st["stuck"].Queued == 2
	})
	h := b.Handler()
	if code, _ := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before Run = %d, want 503", code)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	obs := <-src.obs
	obs.Connected()
	<-emitted
	<-ok.hit
	<-ok.hit
	<-badDone
	<-badDone
	<-entered // "stuck" holds status 1; status 2 waits behind it
	<-acked   // the acks of ok and bad are committed

	if code, body := get(t, h, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz while running = %d %q", code, body)
	}
	if code, body := get(t, h, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz healthy = %d %q", code, body)
	}

	obs.Disconnected("stall")
	obs.Disconnected("stall")
	if code, body := get(t, h, "/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "stream: not connected") {
		t.Errorf("/healthz disconnected = %d %q", code, body)
	}
	obs.Connected()

	clock.Add(2 * time.Minute) // no data since
	if code, body := get(t, h, "/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "stream: no data for 2m0s") {
		t.Errorf("/healthz stale = %d %q", code, body)
	}
	if v := testutil.ToFloat64(b.metrics.reconnects.WithLabelValues("stall")); v != 2 {
		t.Errorf("reconnects{stall} = %v", v)
	}

	clock.Add(10 * time.Minute)
	obs.Connected() // fresh again; only the destination is stuck now
	code, body := get(t, h, "/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "destination stuck: stuck") || strings.Contains(body, "stream:") {
		t.Errorf("/healthz stuck destination = %d %q", code, body)
	}

	expected := `
# HELP streambot_received_total Statuses received from the stream, duplicates excluded.
# TYPE streambot_received_total counter
streambot_received_total 2
# HELP streambot_duplicates_total Re-sent statuses dropped by ID.
# TYPE streambot_duplicates_total counter
streambot_duplicates_total 1
# HELP streambot_matched_total Statuses at least one route took.
# TYPE streambot_matched_total counter
streambot_matched_total 2
# HELP streambot_forwarded_total Statuses a destination accepted.
# TYPE streambot_forwarded_total counter
streambot_forwarded_total{destination="bad"} 0
streambot_forwarded_total{destination="ok"} 2
streambot_forwarded_total{destination="stuck"} 0
# HELP streambot_failed_total Statuses a destination refused for good.
# TYPE streambot_failed_total counter
streambot_failed_total{destination="bad"} 2
streambot_failed_total{destination="ok"} 0
streambot_failed_total{destination="stuck"} 0
# HELP streambot_queue_depth Statuses queued for a destination.
# TYPE streambot_queue_depth gauge
streambot_queue_depth{destination="bad"} 0
streambot_queue_depth{destination="ok"} 0
streambot_queue_depth{destination="stuck"} 2
# HELP streambot_queue_oldest_age_seconds Age of the oldest status queued for a destination (0 when empty).
# TYPE streambot_queue_oldest_age_seconds gauge
streambot_queue_oldest_age_seconds{destination="bad"} 0
streambot_queue_oldest_age_seconds{destination="ok"} 0
streambot_queue_oldest_age_seconds{destination="stuck"} 720
# HELP streambot_stream_connected 1 when the stream is connected (or, for sources that do not report it, sent data recently).
# TYPE streambot_stream_connected gauge
streambot_stream_connected 1
# HELP streambot_stream_events_total Control events from the stream, by kind.
# TYPE streambot_stream_events_total counter
streambot_stream_events_total{kind="delete"} 0
streambot_stream_events_total{kind="disconnect"} 1
streambot_stream_events_total{kind="limit"} 1
streambot_stream_events_total{kind="warning"} 0
# HELP streambot_stream_reconnects_total Stream disconnections followed by a reconnect, by reason (reported by sources that support it).
# TYPE streambot_stream_reconnects_total counter
streambot_stream_reconnects_total{reason="stall"} 2
`
	if err := testutil.GatherAndCompare(b.Registry(), strings.NewReader(expected),
		"streambot_received_total", "streambot_duplicates_total", "streambot_matched_total",
		"streambot_forwarded_total", "streambot_failed_total", "streambot_queue_depth",
		"streambot_queue_oldest_age_seconds", "streambot_stream_connected", "streambot_stream_events_total",
		"streambot_stream_reconnects_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(b.metrics.send, "streambot_send_duration_seconds"); n != 2 {
		t.Errorf("send latency series = %d, want ok/ok and bad/error", n)
	}
	code, body = get(t, h, "/metrics")
	if code != http.StatusOK || !strings.Contains(body, `streambot_send_duration_seconds_count{destination="ok",result="ok"} 2`) {
		t.Errorf("/metrics = %d, body lacks the send histogram:\n%s", code, body)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after shutdown = %d, want 503", code)
	}
	close(release)
}

func TestStreamConnectedWithoutObserverFollowsData(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	b, err := New(Config{
		Source: sliceSource(), Routes: []Route{route("py", "python", "s")},
		Destinations: []Destination{{Name: "s", Handler: &sink{}}},
		Now:          clock.Now, StaleAfter: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !b.streamConnected(clock.Now()) {
		t.Error("fresh bot: not connected")
	}
	clock.Add(2 * time.Minute)
	if ok, problems := b.Healthy(); ok || b.streamConnected(clock.Now()) || len(problems) != 1 {
		t.Errorf("stale: healthy %v, problems %q", ok, problems)
	}
}
