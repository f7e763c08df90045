package mastodon

import (
	"bytes"
	"context"
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
	"github.com/streambot/streambot/stream/internal/sourcetest"
	"github.com/streambot/streambot/stream/twitter"
)

// testToken is distinctive: no log line or error may ever contain it.
const testToken = "tok-SECRET-7f3a9e5d20aa"

func statusData(id, text string) string {
	return `{"id":"` + id + `","content":"<p>` + text + `</p>","account":{"id":"1","acct":"alice","display_name":"Alice"}}`
}

// frame renders one server-sent event as Mastodon writes it.
func frame(event, data string) string { return "event: " + event + "\ndata: " + data + "\n\n" }

// A step answers one stream request.
type step func(w http.ResponseWriter, r *http.Request)

// serve answers 200 with a body of server-sent events and ends the stream.
func serve(body string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, ":)\n"+body)
	}
}

// code answers an HTTP error with a body and optional Retry-After.
func code(status int, body string, retryAfter ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(retryAfter) > 0 {
			w.Header().Set("Retry-After", retryAfter[0])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hangUp closes the connection without an answer: a network error.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// hold streams body, then keeps the stream open and silent until the client
// leaves.
func hold(body string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, ":)\n"+body)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}
}

// scripted is a Mastodon instance whose stream requests get the steps in
// order (past the end: hold("")), and whose /api/v2/instance names itself.
type scripted struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	steps    []step
	requests []*http.Request
	instance http.HandlerFunc // nil: the default v2 document
}

func newScripted(t *testing.T, steps ...step) *scripted {
	s := &scripted{t: t, steps: steps}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scripted) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case InstanceV2Path, InstanceV1Path:
		if s.instance != nil {
			s.instance(w, r)
			return
		}
		fmt.Fprintf(w, `{"configuration":{"urls":{"streaming":"ws://%s"}}}`, r.Host)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(context.Background()))
	n := len(s.requests)
	var st step = hold("")
	if n <= len(s.steps) {
		st = s.steps[n-1]
	}
	s.mu.Unlock()
	st(w, r)
}

func (s *scripted) streamRequests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

type harness struct {
	src    *Source
	sleeps *sourcetest.Sleeps
	logs   *sourcetest.Logs
	obs    *sourcetest.Observer
}

func newHarness(t *testing.T, instance string, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{sleeps: &sourcetest.Sleeps{}, logs: &sourcetest.Logs{}, obs: &sourcetest.Observer{}}
	cfg := Config{
		InstanceURL: instance,
		Token:       testToken,
		Logger:      h.logs.Logger(),
		Sleep:       h.sleeps.Sleep,
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

// run runs the Source until stop says so (see sourcetest.Run) and checks
// that the token reached no log line and not the error.
func (h *harness) run(t *testing.T, stop func(events []stream.Event) bool) ([]stream.Event, error) {
	t.Helper()
	events, err := sourcetest.Run(t, h.src, h.sleeps, stop)
	if strings.Contains(h.logs.String(), testToken) {
		t.Errorf("the token reached the logs:\n%s", h.logs)
	}
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Errorf("the token reached the error: %v", err)
	}
	return events, err
}

func statusIDs(events []stream.Event) []string {
	var ids []string
	for _, e := range events {
		switch e.Kind {
		case stream.KindStatus:
			ids = append(ids, e.Status.ID)
		case stream.KindDelete:
			ids = append(ids, "-"+e.Delete.StatusID)
		}
	}
	return ids
}

func afterStatuses(n int) func([]stream.Event) bool {
	return func(evs []stream.Event) bool { return len(statusIDs(evs)) >= n }
}

func TestNewSourceValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr error
		want    string // in the message
	}{
		{"no instance", Config{Token: testToken}, ErrMissingInstance, EnvURL},
		{"no token", Config{InstanceURL: "https://social.example"}, ErrMissingToken, EnvToken},
		{"token with spaces", Config{InstanceURL: "https://social.example", Token: " " + testToken}, ErrInvalidConfig, "whitespace"},
		{"token with a line break", Config{InstanceURL: "https://social.example", Token: "abc\r\nX-Evil: 1"}, ErrInvalidConfig, EnvToken},
		{"token with quotes", Config{InstanceURL: "https://social.example", Token: `"abc"`}, ErrInvalidConfig, EnvToken},
		{"not http", Config{InstanceURL: "ftp://social.example", Token: testToken}, ErrInvalidConfig, "http or https"},
		{"userinfo", Config{InstanceURL: "https://me:pw@social.example", Token: testToken}, ErrInvalidConfig, "user name or password"},
		{"query", Config{InstanceURL: "https://social.example/?x=1", Token: testToken}, ErrInvalidConfig, "query"},
		{"unparseable", Config{InstanceURL: "https://social.example/%zz", Token: testToken}, ErrInvalidConfig, "not a URL"},
		{"hashtag with space", Config{InstanceURL: "social.example", Token: testToken, Hashtags: []string{"two words"}}, ErrInvalidConfig, "two words"},
		{"hashtag with slash", Config{InstanceURL: "social.example", Token: testToken, Hashtags: []string{"a/b"}}, ErrInvalidConfig, "a/b"},
		{"hashtag digits only", Config{InstanceURL: "social.example", Token: testToken, Hashtags: []string{"#2024"}}, ErrInvalidConfig, "no letter"},
		{"too many hashtags", Config{InstanceURL: "social.example", Token: testToken, Hashtags: manyTags(MaxHashtags + 1)}, ErrInvalidConfig, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSource(tt.cfg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "mastodon: ") {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "pw@") {
				t.Errorf("error %q reveals a secret", err)
			}
		})
	}
}

func manyTags(n int) []string {
	var tags []string
	for i := range n {
		tags = append(tags, fmt.Sprintf("tag%d", i))
	}
	return tags
}

func TestNewSourceNormalizes(t *testing.T) {
	t.Parallel()
	src, err := NewSource(Config{InstanceURL: " social.example/ ", Token: testToken,
		Hashtags: []string{"#Python", "python", " golang ", "", "日本語", "café_au·lait"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Instance(); got != "https://social.example" {
		t.Errorf("Instance() = %q", got)
	}
	want := []string{"hashtag:Python", "hashtag:golang", "hashtag:日本語", "hashtag:café_au·lait"}
	if got := src.Streams(); !slices.Equal(got, want) {
		t.Errorf("Streams() = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		cfg  Config
		want []string
	}{
		{Config{}, []string{"public"}},
		{Config{Local: true}, []string{"public:local"}},
		{Config{Local: true, Hashtags: []string{"go"}}, []string{"hashtag:local:go"}},
	} {
		tt.cfg.InstanceURL, tt.cfg.Token = "https://social.example/prefix", testToken
		src, err := NewSource(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := src.Streams(); !slices.Equal(got, tt.want) || src.Name() != "mastodon" || src.Instance() != "https://social.example/prefix" {
			t.Errorf("%+v: Streams() = %q, Instance() = %q", tt.cfg, got, src.Instance())
		}
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	t.Parallel()
	cfg := Config{InstanceURL: "https://social.example", Token: testToken}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg, "token", cfg.Token)
	// The Source holds the token in unexported fields, which fmt prints
	// without their String methods: the Source must describe itself.
	src, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	slog.New(slog.NewTextHandler(&logs, nil)).Info("source", "src", src)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("source", "src", src)
	outs := []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.Token.String(), logs.String(),
		fmt.Sprint(src), fmt.Sprintf("%+v", src), fmt.Sprintf("%#v", src)}
	for _, out := range outs {
		if strings.Contains(out, testToken) {
			t.Errorf("the token is printed: %s", out)
		}
	}
	if got := src.String(); got != "mastodon.Source(https://social.example public)" {
		t.Errorf("String() = %q", got)
	}
	if Token("").String() != "unset" || Token("x").String() != "[REDACTED]" {
		t.Error("Token.String does not say whether the token is set")
	}
	got := FromEnv(func(k string) string { return map[string]string{EnvURL: "https://a.example", EnvToken: "t"}[k] })
	if got.InstanceURL != "https://a.example" || got.Token != "t" {
		t.Errorf("FromEnv = %+v", got)
	}
}

func TestPermanentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		body   string
		want   []string
	}{
		{401, `{"error":"Invalid access token ` + testToken + `"}`, []string{EnvToken, "read:statuses", "HTTP 401", "Invalid access token [REDACTED]"}},
		{401, `{"error":"Access token does not cover required scopes"}`, []string{EnvToken, "required scopes"}},
		{403, `{"error":"This method requires an authenticated user"}`, []string{"refused the public stream", "HTTP 403", "authenticated user"}},
		{404, `<html><body>Not Found</body></html>`, []string{EnvURL, "HTTP 404", "no public stream at http://", PublicPath}},
		{410, ``, []string{EnvURL, "HTTP 410"}},
		{400, `{"error":"No tag for stream provided"}`, []string{"hashtags", "No tag"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			fake := newScripted(t, code(tt.status, tt.body))
			h := newHarness(t, fake.srv.URL)
			events, err := h.run(t, nil)
			if !errors.Is(err, stream.ErrPermanent) {
				t.Fatalf("Run = %v, want a permanent error", err)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.status {
				t.Fatalf("error %v is not a *StatusError with %d", err, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if len(events) != 0 || len(h.sleeps.Delays()) != 0 || len(fake.streamRequests()) != 1 {
				t.Errorf("events %d, sleeps %v, requests %d: a permanent failure was retried", len(events), h.sleeps.Delays(), len(fake.streamRequests()))
			}
			if got := h.obs.Events(); len(got) != 0 {
				t.Errorf("observer heard %q", got)
			}
		})
	}
}

// Retryable failures back off by twitter.Backoff's schedule, honouring
// Retry-After; a stream that delivered events and ended is reopened at once.
func TestRetryableErrorsBackOff(t *testing.T) {
	t.Parallel()
	fake := newScripted(t,
		code(500, `{"error":"boom"}`),
		code(502, "<html>Bad Gateway</html>"),
		code(503, "", "120"),
		code(429, `{"error":"Too many requests"}`),
		code(429, "", "600"),
		hangUp,
		serve(frame("update", statusData("1", "one"))),
		serve(""), // 200 and nothing: network back-off, not an immediate reconnect
		serve(frame("update", statusData("2", "two"))),
	)
	h := newHarness(t, fake.srv.URL)
	h.sleeps.Limit = 9
	events, err := h.run(t, nil)
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := statusIDs(events); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("events %q", got)
	}
	s := time.Second
	want := []time.Duration{5 * s, 10 * s, 120 * s, time.Minute, 10 * time.Minute, 250 * time.Millisecond, 0, 250 * time.Millisecond, 0}
	if got := h.sleeps.Delays(); !slices.Equal(got, want) {
		t.Errorf("delays\n got %v\nwant %v", got, want)
	}
	wantObs := []string{"disconnected:http", "disconnected:http", "disconnected:http", "disconnected:rate-limited", "disconnected:rate-limited",
		"disconnected:network", "connected", "disconnected:dropped", "connected", "disconnected:network", "connected", "disconnected:dropped"}
	if got := h.obs.Events(); !slices.Equal(got, wantObs) {
		t.Errorf("observer\n got %q\nwant %q", got, wantObs)
	}
	recs := h.logs.Records(t, "reconnecting")
	if len(recs) != 9 || recs[0]["status"] != float64(500) || !strings.Contains(recs[0]["err"].(string), "boom") {
		t.Errorf("reconnect logs: %v", recs)
	}
	for _, r := range fake.streamRequests() {
		if r.Header.Get("Authorization") != "Bearer "+testToken || r.URL.RawQuery != "" || r.Header.Get("Accept") != "text/event-stream" {
			t.Errorf("request %s: Authorization %q, Accept %q", r.URL, r.Header.Get("Authorization"), r.Header.Get("Accept"))
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 11, 5, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{" 5 ", 5 * time.Second},
		{"99999999999999999", time.Hour},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// Nothing at all for StallTimeout, not even a heartbeat: the connection is
// closed and reopened with the network back-off.
func TestStallReconnects(t *testing.T) {
	t.Parallel()
	fake := newScripted(t,
		hold(frame("update", statusData("1", "one"))),
		hold(frame("update", statusData("2", "two"))),
	)
	timers := sourcetest.NewTimers()
	h := newHarness(t, fake.srv.URL, func(c *Config) {
		c.StallTimeout = 42 * time.Second
		c.afterFunc = timers.AfterFunc
	})
	stop, wait := stallAfter(t, timers, 2, 1) // the first connection goes silent after "1"
	events, err := h.run(t, stop)
	wait()
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatal(err)
	}
	if got := statusIDs(events); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("events %q", got)
	}
	// The connection delivered an event before stalling, which reset the
	// back-off: the stall is the first network failure in a row.
	if got := h.sleeps.Delays(); !slices.Equal(got, []time.Duration{250 * time.Millisecond}) {
		t.Errorf("delays %v", got)
	}
	recs := h.logs.Records(t, "reconnecting")
	if len(recs) != 1 || !strings.Contains(recs[0]["err"].(string), "stalled: no data and no heartbeat for 42s") || recs[0]["reason"] != "network" {
		t.Errorf("reconnect logs: %v", recs)
	}
	if n := len(fake.streamRequests()); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// The real timer (the default AfterFunc) abandons a server that never
// answers. On a loaded machine it may also cut a later connection short,
// so every later request is answered the same way; without a working timer
// the test hangs until the harness's safety net fails it.
func TestStallRealTimer(t *testing.T) {
	t.Parallel()
	steps := []step{func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }}
	for range 20 {
		steps = append(steps, serve(frame("update", statusData("1", "one"))))
	}
	fake := newScripted(t, steps...)
	h := newHarness(t, fake.srv.URL, func(c *Config) { c.StallTimeout = 100 * time.Millisecond })
	events, err := h.run(t, afterStatuses(1))
	if !errors.Is(err, sourcetest.ErrStop) || !slices.Equal(statusIDs(events), []string{"1"}) {
		t.Fatalf("Run = %v, events %q", err, statusIDs(events))
	}
	recs := h.logs.Records(t, "reconnecting")
	if len(recs) == 0 || !strings.Contains(recs[0]["err"].(string), "no response within 100ms") || recs[0]["reason"] != "network" {
		t.Errorf("reconnect logs: %v", recs)
	}
}

// Heartbeats keep a quiet stream alive, and a slow consumer is not a
// stall: the watchdog runs only while the source waits for the network, is
// disarmed while emit runs, and starts over after every byte, heartbeats
// included. Fake timers make this exact: nothing waits for real time.
func TestHeartbeatsAndSlowEmitAreNotStalls(t *testing.T) {
	t.Parallel()
	beats := make(chan struct{})
	fake := newScripted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		io.WriteString(w, ":)\n"+frame("update", statusData("1", "one")))
		rc.Flush()
		for range 3 {
			select {
			case <-beats:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, ":thump\n")
			rc.Flush()
		}
		io.WriteString(w, frame("update", statusData("2", "two")))
		rc.Flush()
		<-r.Context().Done()
	})
	timers := sourcetest.NewTimers()
	h := newHarness(t, fake.srv.URL, func(c *Config) {
		c.StallTimeout = 42 * time.Second
		c.afterFunc = timers.AfterFunc
	})
	// After the first event, each heartbeat is sent once the source waits
	// for data again (it re-armed the watchdog), so each is a Read of its own.
	first := make(chan int, 1) // the number of arms when event 1 was emitted
	beaten := make(chan struct{})
	go func() {
		defer close(beaten)
		var base int
		select {
		case base = <-first:
		case <-t.Context().Done():
			return
		}
		for k := 1; k <= 3; k++ {
			if !timers.WaitArms(base + k) {
				t.Errorf("the source did not wait for data again before heartbeat %d", k)
				return
			}
			select {
			case beats <- struct{}{}:
			case <-time.After(10 * time.Second):
				t.Errorf("the stream ended before heartbeat %d", k)
				return
			}
		}
	}()
	events, err := h.run(t, func(evs []stream.Event) bool {
		if timers.Armed() {
			t.Errorf("event %d is emitted with the watchdog armed: a slow consumer would be taken for a stall", len(evs))
		}
		if len(evs) == 1 {
			first <- timers.Arms()
		}
		return len(evs) == 2
	})
	<-beaten
	if !errors.Is(err, sourcetest.ErrStop) || !slices.Equal(statusIDs(events), []string{"1", "2"}) {
		t.Fatalf("Run = %v, events %q", err, statusIDs(events))
	}
	if n := len(fake.streamRequests()); n != 1 || len(h.logs.Records(t, "stalled")) != 0 {
		t.Errorf("%d connections: a live stream was taken for stalled\n%s", n, h.logs)
	}
	// Armed for the response headers, then before every Read: the three
	// heartbeats and event 2 restarted the full StallTimeout.
	delays := timers.Delays()
	if len(delays) < 5 {
		t.Errorf("watchdog armed %d times, want at least 5 (headers, event 1, three heartbeats)", len(delays))
	}
	for _, d := range delays {
		if d != 42*time.Second {
			t.Errorf("watchdog armed for %v, want StallTimeout", d)
		}
	}
}

// stallAfter returns a stop function for harness.run that ends Run after
// the nth status and, after each status whose number is in stalls, fires
// the stall timer as soon as the source waits for data again: the server
// has nothing more to send on that connection. Call the returned wait
// after run.
func stallAfter(t *testing.T, c *sourcetest.Timers, n int, stalls ...int) (stop func([]stream.Event) bool, wait func()) {
	fire := make(chan int, len(stalls))
	firing := make(chan struct{})
	go func() {
		defer close(firing)
		for arms := range fire {
			if !c.FireAfter(arms) {
				t.Error("the source did not wait for data after a stalled connection's last event")
				return
			}
		}
	}()
	stop = func(evs []stream.Event) bool {
		got := len(statusIDs(evs))
		if slices.Contains(stalls, got) && evs[len(evs)-1].Kind == stream.KindStatus {
			fire <- c.Arms() + 1
		}
		return got >= n
	}
	return stop, func() {
		close(fire)
		<-firing
	}
}

// Malformed, unknown, ignored and oversized events are logged and skipped;
// the stream goes on, and the token never reaches the logs.
func TestBadEventsAreSkipped(t *testing.T) {
	t.Parallel()
	body := frame("update", `{"id":"1","content":"cut`) +
		frame("update", `{"id":"x y","content":"`+testToken+`"}`) +
		frame("notification", `{"id":"9","type":"mention"}`) +
		frame("filters_changed", "undefined") +
		frame("weird.new.event", "{}") +
		frame("update", statusData("big", strings.Repeat("x", 2048))) +
		frame("delete", "not an id") +
		frame("update", statusData("2", "fine")) +
		"event: update\ndata: " + statusData("3", "last without a blank line") + "\n"
	fake := newScripted(t, serve(body))
	h := newHarness(t, fake.srv.URL, func(c *Config) { c.MaxLineBytes = 1024 })
	events, err := h.run(t, afterStatuses(2))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if got := statusIDs(events); !slices.Equal(got, []string{"2", "3"}) {
		t.Errorf("events %q", got)
	}
	if n := len(h.logs.Records(t, "malformed")); n != 3 {
		t.Errorf("%d malformed events logged, want 3\n%s", n, h.logs)
	}
	if n := len(h.logs.Records(t, "unknown")); n != 1 {
		t.Errorf("%d unknown events logged, want 1", n)
	}
	if recs := h.logs.Records(t, "oversized"); len(recs) != 1 || recs[0]["event"] != "update" {
		t.Errorf("oversized: %v", recs)
	}
	if n := len(h.logs.Records(t, "ignoring")); n != 2 {
		t.Errorf("%d ignored events logged, want 2", n)
	}
}

// An edit is a new status, marked; a delete also names the edits emitted.
func TestEditsAndDeletes(t *testing.T) {
	t.Parallel()
	edit := func(at, text string) string {
		return `{"id":"1","edited_at":"` + at + `","content":"<p>` + text + `</p>","account":{"id":"1","acct":"alice"}}`
	}
	body := frame("update", statusData("1", "first")) +
		frame("status.update", edit("2024-11-05T10:00:01Z", "second")) +
		frame("status.update", edit("2024-11-05T10:00:02Z", "third")) +
		frame("update", statusData("2", "other")) +
		frame("delete", "1") +
		frame("delete", "2") +
		frame("update", statusData("3", "end"))
	fake := newScripted(t, serve(body))
	h := newHarness(t, fake.srv.URL)
	events, err := h.run(t, func(evs []stream.Event) bool {
		last := evs[len(evs)-1]
		return last.Kind == stream.KindStatus && last.Status.ID == "3"
	})
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatal(err)
	}
	want := []string{"1", "1@2024-11-05T10:00:01Z", "1@2024-11-05T10:00:02Z", "2",
		"-1", "-1@2024-11-05T10:00:01Z", "-1@2024-11-05T10:00:02Z", "-2", "3"}
	if got := statusIDs(events); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
	if got := events[2].Status.Text; got != "(edited) third" {
		t.Errorf("edit text %q", got)
	}
}

func TestEmitErrorEndsRun(t *testing.T) {
	t.Parallel()
	fake := newScripted(t, serve(frame("update", statusData("1", "a"))+frame("update", statusData("2", "b"))))
	h := newHarness(t, fake.srv.URL)
	events, err := h.run(t, afterStatuses(1))
	if !errors.Is(err, sourcetest.ErrStop) || len(events) != 1 || len(fake.streamRequests()) != 1 {
		t.Errorf("Run = %v after %d events and %d requests", err, len(events), len(fake.streamRequests()))
	}
}

// A Sleep that fails while the context lives ends Run with its error.
func TestSleepErrorEndsRun(t *testing.T) {
	t.Parallel()
	boom := errors.New("clock broke")
	fake := newScripted(t, code(500, ""))
	h := newHarness(t, fake.srv.URL, func(c *Config) {
		c.Sleep = func(context.Context, time.Duration) error { return boom }
	})
	if _, err := h.run(t, nil); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "mastodon: ") {
		t.Errorf("Run = %v", err)
	}
}

// loopFrame names a connection loop of src in a goroutine's stack, for
// sourcetest.Goroutines: the receiver's address tells src from the Sources
// of parallel tests.
func loopFrame(src *Source) string { return fmt.Sprintf("stream/mastodon.(*Source).loop(%p", src) }

// Cancelling the context ends Run promptly with nil, from any state:
// discovering, connected, waiting to reconnect.
func TestCancelEndsRunPromptly(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		tags []string
	}{{"public", nil}, {"hashtags", []string{"a", "b", "c"}}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newScripted(t) // every stream holds
			connected := make(chan struct{})
			h := newHarness(t, fake.srv.URL, func(c *Config) { c.Hashtags = tt.tags; c.Sleep = nil })
			h.src.Observe(connectedSignal(connected))
			ctx, cancel := context.WithCancel(t.Context())
			done := sourcetest.Start(ctx, h.src, func(stream.Event) error { return nil })
			select {
			case <-connected:
			case err := <-done:
				t.Fatalf("Run = %v before connecting", err)
			}
			// The check below must be able to see the loops.
			if n := len(sourcetest.Goroutines(loopFrame(h.src))); n != max(len(tt.tags), 1) {
				t.Fatalf("%d connection loops found while connected, want %d", n, max(len(tt.tags), 1))
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			sourcetest.NoGoroutines(t, loopFrame(h.src))
		})
	}
}

type connectedSignal chan struct{}

func (c connectedSignal) Connected()          { close(c) }
func (c connectedSignal) Disconnected(string) {}

// The instance is down at first: discovery retries with back-off.
func TestDiscoveryRetries(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	fake := newScripted(t, serve(frame("update", statusData("1", "a"))))
	fake.instance = func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch n {
		case 1:
			w.WriteHeader(503)
		case 2: // a body cut short: a network error the transport cannot retry
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, `{"configuration"`)
		case 3:
			w.Header().Set("Retry-After", "90")
			w.WriteHeader(429)
		default:
			fmt.Fprintf(w, `{"configuration":{"urls":{"streaming":"ws://%s"}}}`, r.Host)
		}
	}
	h := newHarness(t, fake.srv.URL)
	events, err := h.run(t, afterStatuses(1))
	if !errors.Is(err, sourcetest.ErrStop) || len(events) != 1 {
		t.Fatalf("Run = %v, %d events", err, len(events))
	}
	want := []time.Duration{5 * time.Second, 250 * time.Millisecond, 90 * time.Second}
	if got := h.sleeps.Delays(); !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	if n := len(h.logs.Records(t, "cannot ask the instance")); n != 3 {
		t.Errorf("%d discovery retries logged", n)
	}
}

func TestDiscoveryRejectsToken(t *testing.T) {
	t.Parallel()
	fake := newScripted(t)
	fake.instance = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":"The access token is invalid"}`)
	}
	h := newHarness(t, fake.srv.URL)
	_, err := h.run(t, nil)
	if !errors.Is(err, stream.ErrPermanent) || !strings.Contains(err.Error(), EnvToken) || !strings.Contains(err.Error(), "access token is invalid") {
		t.Errorf("Run = %v", err)
	}
	if len(fake.streamRequests()) != 0 {
		t.Error("streamed after the instance rejected the token")
	}
}

func TestStreamingBase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		instance, announced, want string
	}{
		{"https://social.example", "wss://streaming.social.example", "https://streaming.social.example"},
		{"https://social.example", "wss://streaming.social.example/", "https://streaming.social.example"},
		{"https://social.example", "https://streaming.social.example:4000/prefix/", "https://streaming.social.example:4000/prefix"},
		{"http://127.0.0.1:3000", "ws://127.0.0.1:4000", "http://127.0.0.1:4000"},
		{"https://social.example", "ws://streaming.social.example", ""}, // a downgrade would expose the token
		{"https://social.example", "ftp://streaming.social.example", ""},
		{"https://social.example", "wss://", ""},
		{"https://social.example", "wss://user:pw@streaming.example", ""},
		{"https://social.example", "", ""},
		{"https://social.example", "::not a url", ""},
	}
	for _, tt := range tests {
		src, err := NewSource(Config{InstanceURL: tt.instance, Token: testToken})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if u := src.streamingBase(tt.announced, "test"); u != nil {
			got = u.String()
		}
		if got != tt.want {
			t.Errorf("instance %s announcing %q: got %q, want %q", tt.instance, tt.announced, got, tt.want)
		}
	}
}

// The observer of a Source with several streams hears "connected" only
// when all of them are.
func TestConnTracker(t *testing.T) {
	t.Parallel()
	obs := &sourcetest.Observer{}
	tr := &connTracker{obs: obs, total: 2}
	a, b := &connState{}, &connState{}
	tr.connected(a)
	tr.connected(a) // idempotent
	tr.connected(b)
	tr.disconnected(a, "dropped")
	tr.disconnected(a, "network") // a failed reconnect
	tr.connected(a)
	want := []string{"connected", "disconnected:dropped", "disconnected:network", "connected"}
	if got := obs.Events(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

var _ stream.Source = (*Source)(nil)

// The reasons the observer reports are twitter.Reason's names.
var _ = twitter.ReasonDropped
