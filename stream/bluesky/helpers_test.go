package bluesky

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
)

var errStop = errors.New("test: stop")

// sleepRecorder is the injected Sleep: it records each requested delay and
// returns at once, so a test asserts the exact schedule.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
	limit  int                // cancel after this many sleeps; 0 = never
	cancel context.CancelFunc // set by the harness
	hook   func(n int)        // called with the number of the sleep, if set
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.delays = append(r.delays, d)
	n := len(r.delays)
	cancel, hook := r.cancel, r.hook
	r.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	if r.limit > 0 && n >= r.limit && cancel != nil {
		cancel()
	}
	return ctx.Err()
}

func (r *sleepRecorder) got() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.delays)
}

// logBuffer collects JSON log records.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// records returns the log records whose msg contains substr.
func (l *logBuffer) records(t *testing.T, substr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if strings.Contains(rec["msg"].(string), substr) {
			out = append(out, rec)
		}
	}
	return out
}

// observer records connection changes.
type observer struct {
	mu      sync.Mutex
	changes []string // "connected" or the disconnect reason
}

func (o *observer) Connected() { o.add("connected") }

func (o *observer) Disconnected(reason string) { o.add(reason) }

func (o *observer) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.changes = append(o.changes, s)
}

func (o *observer) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.changes)
}

type harness struct {
	src    *Source
	sleeps *sleepRecorder
	logs   *logBuffer
	obs    *observer
}

func newHarness(t *testing.T, url string, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{sleeps: &sleepRecorder{}, logs: &logBuffer{}, obs: &observer{}}
	cfg := Config{
		URL:    url,
		Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep:  h.sleeps.sleep,
	}
	for _, o := range opts {
		o(&cfg)
	}
	src, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src.Observe(h.obs)
	h.src = src
	return h
}

// run calls Run until stop says so (emit then returns errStop), Run returns
// by itself, or a 20 s safety net expires (a test failure). each, when not
// nil, sees every event first (it may call Committed, as the bot does).
func (h *harness) run(t *testing.T, each func(stream.Event), stop func(events []stream.Event) bool) ([]stream.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	h.sleeps.mu.Lock()
	h.sleeps.cancel = cancel
	h.sleeps.mu.Unlock()
	var events []stream.Event
	err := h.src.Run(ctx, func(ev stream.Event) error {
		events = append(events, ev)
		if each != nil {
			each(ev)
		}
		if stop != nil && stop(events) {
			return errStop
		}
		return nil
	})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Run did not finish; %d events, delays %v\n%s", len(events), h.sleeps.got(), h.logs.String())
	}
	return events, err
}

// untilID stops at the event for the post with this rkey.
func untilID(rkey string) func([]stream.Event) bool {
	return func(evs []stream.Event) bool {
		ev := evs[len(evs)-1]
		return ev.Kind == stream.KindStatus && strings.HasSuffix(ev.Status.ID, "/"+rkey)
	}
}

// ids lists the IDs of statuses ("s:rkey") and deletes ("d:rkey").
func ids(evs []stream.Event) []string {
	var out []string
	for _, ev := range evs {
		switch ev.Kind {
		case stream.KindStatus:
			out = append(out, "s:"+ev.Status.ID[strings.LastIndexByte(ev.Status.ID, '/')+1:])
		case stream.KindDelete:
			out = append(out, "d:"+ev.Delete.StatusID[strings.LastIndexByte(ev.Delete.StatusID, '/')+1:])
		}
	}
	return out
}

// fakeTimers replaces time.AfterFunc for the stall watchdog: the test fires
// the armed timer itself, so stall tests need no real waiting.
type fakeTimers struct {
	mu      sync.Mutex
	f       func()
	armed   bool
	delays  []time.Duration
	armedCh chan struct{}
}

type fakeTimer struct {
	c *fakeTimers
	f func()
}

func newFakeTimers() *fakeTimers { return &fakeTimers{armedCh: make(chan struct{}, 1)} }

func (c *fakeTimers) afterFunc(d time.Duration, f func()) netstream.Timer {
	t := &fakeTimer{c: c, f: f}
	t.Reset(d)
	return t
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	was := t.c.armed
	t.c.armed, t.c.f = true, t.f
	t.c.delays = append(t.c.delays, d)
	t.c.mu.Unlock()
	select {
	case t.c.armedCh <- struct{}{}:
	default:
	}
	return was
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.c.armed
	t.c.armed = false
	return was
}

// fire waits until a timer is armed and fires it, as if its time had passed.
func (c *fakeTimers) fire(t *testing.T) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		if c.armed {
			c.armed = false
			f := c.f
			c.mu.Unlock()
			f()
			return
		}
		c.mu.Unlock()
		select {
		case <-c.armedCh:
		case <-deadline:
			t.Fatal("the watchdog was never armed")
		}
	}
}
