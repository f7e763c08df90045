package x

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
)

// testToken is distinctive: no log line or error may ever contain it.
const testToken = "AAAA-test-bearer-7f3a9e%2Fb81c44"

var testRules = []Rule{{Tag: "python", Value: "python"}, {Tag: "golang", Value: "golang OR #go"}}

var errStop = errors.New("test: stop")

const (
	msec = time.Millisecond
	sec  = time.Second
)

// postLine is a stream line holding post id, matched by the python rule.
func postLine(id string) string {
	return `{"data":{"id":"` + id + `","text":"python ` + id + `","author_id":"42","lang":"en"},` +
		`"includes":{"users":[{"id":"42","username":"gopher","name":"Gopher"}]},` +
		`"matching_rules":[{"id":"1001","tag":"python"}]}`
}

const disconnectLine = `{"errors":[{"title":"operational-disconnect","disconnect_type":"UpstreamOperationalDisconnect",` +
	`"detail":"This stream has been disconnected upstream for operational reasons.","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}`

// sleepRecorder is the injected Sleep: it records each requested delay and
// returns at once, so a test asserts the exact schedule.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
	limit  int                // cancel after this many sleeps; 0 = never
	cancel context.CancelFunc // set by run
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.delays = append(r.delays, d)
	n := len(r.delays)
	r.mu.Unlock()
	if r.limit > 0 && n >= r.limit {
		r.cancel()
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

// observerLog records a source's connection reports.
type observerLog struct {
	mu     sync.Mutex
	events []string
}

func (o *observerLog) Connected() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, "connected")
}

func (o *observerLog) Disconnected(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, "disconnected:"+reason)
}

func (o *observerLog) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.events)
}

type harness struct {
	src    *Source
	sleeps *sleepRecorder
	logs   *logBuffer
	obs    *observerLog
}

func newHarness(t *testing.T, baseURL string, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{sleeps: &sleepRecorder{}, logs: &logBuffer{}, obs: &observerLog{}}
	cfg := Config{
		BearerToken: testToken,
		BaseURL:     baseURL,
		Rules:       testRules,
		Logger:      slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Sleep:       h.sleeps.sleep,
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
// by itself, or a 20 s safety net expires (a test failure).
func (h *harness) run(t *testing.T, stop func(events []stream.Event) bool) ([]stream.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	h.sleeps.cancel = cancel
	var events []stream.Event
	err := h.src.Run(ctx, func(ev stream.Event) error {
		events = append(events, ev)
		if stop != nil && stop(events) {
			return errStop
		}
		return nil
	})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Run did not finish; events %d, delays %v", len(events), h.sleeps.got())
	}
	return events, err
}

func afterStatuses(n int) func([]stream.Event) bool {
	return func(evs []stream.Event) bool {
		c := 0
		for _, e := range evs {
			if e.Kind == stream.KindStatus {
				c++
			}
		}
		return c >= n
	}
}

func statusIDs(evs []stream.Event) []string {
	var ids []string
	for _, e := range evs {
		if e.Kind == stream.KindStatus {
			ids = append(ids, e.Status.ID)
		}
	}
	return ids
}

// A step answers one request.
type step func(w http.ResponseWriter, r *http.Request)

// serve writes a 200 stream of lines, each followed by "\r\n", and ends it.
func serve(lines ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		for _, l := range lines {
			io.WriteString(w, l+"\r\n")
		}
		w.(http.Flusher).Flush()
	}
}

// serveRaw writes body as is.
func serveRaw(body string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
	}
}

func code(status int, body string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hangAfter writes lines, then keeps the connection open and silent until
// the client goes away or the test ends.
func hangAfter(done <-chan struct{}, lines ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		serve(lines...)(w, r)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

// hang never answers.
func hang(done <-chan struct{}) step {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

// listRules answers GET rules with rules.
func listRules(rules ...Rule) step {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, `{"title":"unexpected rules change"}`, http.StatusTeapot)
			return
		}
		type rule struct {
			ID    string `json:"id"`
			Value string `json:"value"`
			Tag   string `json:"tag"`
		}
		var data []rule
		for i, r := range rules {
			data = append(data, rule{fmt.Sprint(1001 + i), r.Value, r.Tag})
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data, "meta": map[string]any{"result_count": len(data)}})
	}
}

// recorded is one request a scriptServer received.
type recorded struct {
	method, path, query, auth, body string
}

// scriptServer answers stream request i with steps[i] and rules request j
// with rulesSteps[j] (the last step of each repeats; rules default to the
// test rules, so the sync changes nothing) and records every request.
type scriptServer struct {
	*httptest.Server
	done       chan struct{}
	received   chan struct{} // one value per request, if anyone listens
	mu         sync.Mutex
	steps      []step
	rulesSteps []step
	reqs       []recorded
	streams    int
	rulesReqs  int
}

func newScriptServer(t *testing.T, steps ...step) *scriptServer {
	t.Helper()
	s := &scriptServer{done: make(chan struct{}), received: make(chan struct{}, 1000), steps: steps,
		rulesSteps: []step{listRules(testRules...)}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), string(body)})
		var st step
		switch r.URL.Path {
		case StreamPath:
			st = s.steps[min(s.streams, len(s.steps)-1)]
			s.streams++
		case RulesPath:
			st = s.rulesSteps[min(s.rulesReqs, len(s.rulesSteps)-1)]
			s.rulesReqs++
		default:
			st = code(http.StatusNotFound, `{"title":"Not Found Error"}`)
		}
		s.mu.Unlock()
		select {
		case s.received <- struct{}{}:
		default:
		}
		st(w, r)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.done) }) // runs first: releases hanging handlers
	return s
}

func (s *scriptServer) counts() (streams, rules int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams, s.rulesReqs
}

func (s *scriptServer) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// fakeTimers replaces time.AfterFunc for the stall watchdog: the test fires
// the armed timer itself, so stall tests need no real waiting.
type fakeTimers struct {
	mu      sync.Mutex
	current *fakeTimer
	armedCh chan struct{}
	delays  []time.Duration
}

type fakeTimer struct {
	c     *fakeTimers
	f     func()
	armed bool
}

func newFakeTimers() *fakeTimers { return &fakeTimers{armedCh: make(chan struct{}, 1)} }

func (c *fakeTimers) afterFunc(d time.Duration, f func()) netstream.Timer {
	t := &fakeTimer{c: c, f: f}
	t.Reset(d)
	return t
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	was := t.armed
	t.armed, t.c.current = true, t
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
	was := t.armed
	t.armed = false
	return was
}

// fire waits until a timer is armed and fires it, as if its time had passed.
func (c *fakeTimers) fire(t *testing.T) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		cur := c.current
		if cur != nil && cur.armed {
			cur.armed = false
			c.mu.Unlock()
			cur.f()
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

// runAsync runs the Source in a goroutine and returns its result channel.
func runAsync(ctx context.Context, src *Source, emit func(stream.Event) error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, emit) }()
	return done
}

// wait returns Run's result, failing the test if it does not come.
func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}
