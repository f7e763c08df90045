package sourcetest

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
)

// Sleeps is an injected Sleep (the sources' Config.Sleep): it records each
// delay asked for and returns at once with ctx's error, so a test asserts
// the exact reconnect schedule without waiting. Safe for concurrent use;
// set Limit and Hook before the Source runs.
type Sleeps struct {
	// Limit, when above 0, makes the Limit-th sleep and every later one
	// call the cancel function of SetCancel (Run passes its context's).
	Limit int
	// Hook, when not nil, is called with the number of each sleep (1 for
	// the first) before it returns.
	Hook func(n int)

	mu     sync.Mutex
	delays []time.Duration
	cancel context.CancelFunc
}

// Sleep records d and returns ctx.Err() at once.
func (r *Sleeps) Sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.delays = append(r.delays, d)
	n := len(r.delays)
	cancel := r.cancel
	r.mu.Unlock()
	if r.Hook != nil {
		r.Hook(n)
	}
	if r.Limit > 0 && n >= r.Limit && cancel != nil {
		cancel()
	}
	return ctx.Err()
}

// SetCancel sets what the sleeps from the Limit-th on call.
func (r *Sleeps) SetCancel(cancel context.CancelFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancel = cancel
}

// Delays returns a copy of the delays asked for so far, in order.
func (r *Sleeps) Delays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.delays)
}

// Logs collects JSON log lines; Logger returns a logger that writes them.
// Safe for concurrent use.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a JSON logger that writes every level, debug included, to l.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Records returns the log records whose msg contains substr, in order. A
// line that is not a JSON object fails t.
func (l *Logs) Records(t testing.TB, substr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := rec["msg"].(string); strings.Contains(msg, substr) {
			out = append(out, rec)
		}
	}
	return out
}

// Observer is a stream.ConnectionObserver that records what it hears:
// "connected" for Connected, "disconnected:" and the reason for
// Disconnected. Safe for concurrent use.
type Observer struct {
	mu     sync.Mutex
	events []string
}

// Connected records "connected".
func (o *Observer) Connected() { o.add("connected") }

// Disconnected records "disconnected:" + reason.
func (o *Observer) Disconnected(reason string) { o.add("disconnected:" + reason) }

func (o *Observer) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, s)
}

// Events returns a copy of what was recorded so far, in order.
func (o *Observer) Events() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.events)
}

// ErrStop is what the emit function of Run returns once stop says so.
var ErrStop = errors.New("sourcetest: stop")

// RunTimeout is how long Run and Wait wait for a Source before failing the
// test: a safety net, never reached by a passing test.
const RunTimeout = 20 * time.Second

// Run calls src.Run with an emit that collects the events and returns
// ErrStop as soon as stop (when not nil) reports true for the events so
// far, and returns the events and Run's error. sleeps, when not nil, gets
// the cancel function of Run's context (see Sleeps.Limit). If src.Run has
// not returned after RunTimeout, the test fails.
func Run(t testing.TB, src stream.Source, sleeps *Sleeps, stop func([]stream.Event) bool) ([]stream.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), RunTimeout)
	defer cancel()
	var delays func() []time.Duration
	if sleeps != nil {
		sleeps.SetCancel(cancel)
		delays = sleeps.Delays
	} else {
		delays = func() []time.Duration { return nil }
	}
	var events []stream.Event
	err := src.Run(ctx, func(ev stream.Event) error {
		events = append(events, ev)
		if stop != nil && stop(events) {
			return ErrStop
		}
		return nil
	})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Run did not finish; events %d, delays %v", len(events), delays())
	}
	return events, err
}

// Start calls src.Run in a goroutine and returns the channel its result
// comes on (buffered, so the goroutine never blocks on it).
func Start(ctx context.Context, src stream.Source, emit func(stream.Event) error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, emit) }()
	return done
}

// Wait returns the result from done, failing the test if it does not come
// within RunTimeout.
func Wait(t testing.TB, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(RunTimeout):
		t.Fatal("Run did not return")
		return nil
	}
}

// Next returns the next event from events, which an emit started with
// Start feeds. The test fails if Run's result comes on done first or no
// event comes within RunTimeout.
func Next(t testing.TB, events <-chan stream.Event, done <-chan error) stream.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case err := <-done:
		t.Fatalf("Run = %v before the next event", err)
	case <-time.After(RunTimeout):
		t.Fatal("no next event")
	}
	return stream.Event{}
}

// AfterStatuses returns a stop function for Run that stops at the nth
// status event.
func AfterStatuses(n int) func([]stream.Event) bool {
	return func(evs []stream.Event) bool { return len(StatusIDs(evs)) >= n }
}

// StatusIDs returns the IDs of the status events among evs, in order.
func StatusIDs(evs []stream.Event) []string {
	var ids []string
	for _, e := range evs {
		if e.Kind == stream.KindStatus {
			ids = append(ids, e.Status.ID)
		}
	}
	return ids
}
