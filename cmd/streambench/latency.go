package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/telegram"
	"github.com/streambot/streambot/handlers/telegram/telegramtest"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// latencyRate is the stream's rate for the latency measurement.
const latencyRate = 1000

// latencyResult is what measureLatency found.
type latencyResult struct {
	sent, delivered int
	p50, p99, max   time.Duration
}

// measureLatency runs the bot in this process: the mock server at 1,000
// statuses/s (all matching track=python) → twitter.Source → outbox →
// telegram.Sender (no rate limits) → the fake Bot API. It times each status
// from the server's write of it to the fake's answer to its sendMessage.
func measureLatency(ctx context.Context, o *options, progress func(string, ...any)) ([]row, error) {
	// telegramtest.NewServer takes a testing.TB for its cleanup; a
	// benchmark run once provides a real one outside of a test.
	var res latencyResult
	var err error
	ran := false
	testing.Benchmark(func(b *testing.B) {
		if ran {
			return // testing.Benchmark calls again when a run was short: measure once
		}
		ran = true
		res, err = latency(ctx, b, o.windows)
	})
	if err != nil {
		return nil, err
	}
	progress("latency: p50 %v, p99 %v over %d statuses", res.p50, res.p99, res.delivered)
	note := fmt.Sprintf("%d statuses at %d/s, outbox on, rate limits off; max %.1f ms", res.delivered, latencyRate, ms(res.max))
	return []row{
		{Name: "latency p50: server write -> fake Telegram answer", Value: ms(res.p50), Unit: "ms", Note: note},
		row{Name: "latency p99: server write -> fake Telegram answer", Value: ms(res.p99), Unit: "ms"}.atMost(10, "<= 10 ms"),
	}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func latency(ctx context.Context, tb testing.TB, w windows) (latencyResult, error) {
	dir, err := os.MkdirTemp("", "streambench-latency-")
	if err != nil {
		return latencyResult{}, err
	}
	defer os.RemoveAll(dir)
	book := newStampBook()

	srv, err := streamtest.NewServer(streamtest.Config{Generator: mock.NewGenerator(seed), Rate: latencyRate, KeepAlive: -1})
	if err != nil {
		return latencyResult{}, err
	}
	defer srv.Close()
	streamURL, stop, err := serveLoopback(stampWrites{srv, book})
	if err != nil {
		return latencyResult{}, err
	}
	defer stop()
	src, err := twitter.NewSource(twitter.Config{Credentials: twitter.Credentials(streamtest.DemoCredentials()), BaseURL: streamURL, Track: []string{"python"}})
	if err != nil {
		return latencyResult{}, err
	}

	const token = "123456:streambench"
	tg := telegramtest.NewServer(tb, token)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sender, err := telegram.New(ctx, telegram.Config{
		Token: token, BaseURL: tg.URL, Chats: []string{"42"}, Limits: telegram.NoLimits(),
		HTTPClient: &http.Client{Transport: stampAnswers{book}, Timeout: 10 * time.Second},
	})
	if err != nil {
		return latencyResult{}, err
	}
	outbox, err := bot.OpenOutbox(filepath.Join(dir, "outbox.db"))
	if err != nil {
		return latencyResult{}, err
	}
	defer outbox.Close()
	b, err := bot.New(bot.Config{
		Source:        src,
		Routes:        []bot.Route{{Name: "python", Filter: handlers.Match(track.MustCompile("python")), Destinations: []string{"telegram"}}},
		Destinations:  []bot.Destination{{Name: "telegram", Handler: sender}},
		Store:         outbox,
		StatsInterval: -1,
	})
	if err != nil {
		return latencyResult{}, err
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()

	// Statuses written during the window count; the warm-up and a second
	// after the window (for the last ones to arrive) do not.
	start := time.Now().Add(w.warmup)
	end := start.Add(w.latency)
	select {
	case err := <-done:
		return latencyResult{}, fmt.Errorf("the bot stopped: %v", err)
	case <-time.After(time.Until(end) + time.Second):
	case <-ctx.Done():
	}
	cancel()
	if err := <-done; err != nil {
		return latencyResult{}, err
	}
	return book.result(start, end)
}

// stampBook records when each status was written and answered.
type stampBook struct {
	mu       sync.Mutex
	written  map[string]time.Time
	answered map[string]time.Time
}

func newStampBook() *stampBook {
	return &stampBook{written: map[string]time.Time{}, answered: map[string]time.Time{}}
}

func (s *stampBook) stamp(m map[string]time.Time, id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := m[id]; !ok {
		m[id] = at
	}
}

// result computes the latencies of the statuses written in [start, end).
func (s *stampBook) result(start, end time.Time) (latencyResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var lat []time.Duration
	sent := 0
	for id, w := range s.written {
		if w.Before(start) || !w.Before(end) {
			continue
		}
		sent++
		if a, ok := s.answered[id]; ok {
			lat = append(lat, a.Sub(w))
		}
	}
	if len(lat) == 0 {
		return latencyResult{}, fmt.Errorf("none of the %d statuses written during the window reached the fake Telegram", sent)
	}
	if len(lat) < sent*99/100 {
		return latencyResult{}, fmt.Errorf("only %d of the %d statuses written during the window reached the fake Telegram", len(lat), sent)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return latencyResult{sent: sent, delivered: len(lat), p50: pct(0.50), p99: pct(0.99), max: lat[len(lat)-1]}, nil
}

// stampWrites wraps the mock server: every status it writes is stamped
// with the time of the write, by its id_str.
type stampWrites struct {
	h    http.Handler
	book *stampBook
}

func (s stampWrites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.h.ServeHTTP(&stampWriter{ResponseWriter: w, book: s.book}, r)
}

// stampWriter sees each message as one Write (the mock server writes the
// message, then its "\r\n").
type stampWriter struct {
	http.ResponseWriter
	book *stampBook
}

func (w *stampWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if id := statusID(p); id != "" {
		w.book.stamp(w.book.written, id, time.Now())
	}
	return n, err
}

// Unwrap lets http.NewResponseController reach Flush and the deadlines.
func (w *stampWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusID returns the first id_str of a v1.1 status: the generator writes
// the status's own before any nested one.
func statusID(msg []byte) string {
	const key = `"id_str":"`
	i := bytes.Index(msg, []byte(key))
	if i < 0 || !bytes.HasPrefix(msg, []byte(`{"created_at"`)) {
		return ""
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// stampAnswers is the Sender's transport: it stamps each successful
// sendMessage with the time its answer arrived, by the status ID in the
// message's link.
type stampAnswers struct{ book *stampBook }

func (s stampAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/sendMessage") || req.Body == nil {
		return http.DefaultTransport.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	c := req.Clone(req.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultTransport.RoundTrip(c)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	at := time.Now()
	form, perr := url.ParseQuery(string(body))
	if perr != nil {
		return resp, nil
	}
	if id := linkedID(form.Get("text")); id != "" {
		s.book.stamp(s.book.answered, id, at)
	}
	return resp, nil
}

// linkedID returns the status ID of the last x.com status link in text.
func linkedID(text string) string {
	i := strings.LastIndex(text, "/status/")
	if i < 0 {
		return ""
	}
	rest := text[i+len("/status/"):]
	j := 0
	for j < len(rest) && '0' <= rest[j] && rest[j] <= '9' {
		j++
	}
	return rest[:j]
}
