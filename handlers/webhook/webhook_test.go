package webhook

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

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// answer is a scripted response of the fake endpoint.
type answer struct {
	code   int
	header map[string]string
	body   string
	hang   bool
}

type recorded struct {
	method string
	path   string
	header http.Header
	body   []byte
}

// endpoint is a fake webhook receiver: it answers from its script (then
// 200) and records every request for the test to assert.
type endpoint struct {
	*httptest.Server
	mu      sync.Mutex
	script  []answer
	reqs    []recorded
	closing chan struct{}
	arrived chan struct{} // a value after each request, coalesced
}

func newEndpoint(t *testing.T, script ...answer) *endpoint {
	e := &endpoint{script: script, closing: make(chan struct{}), arrived: make(chan struct{}, 1)}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.reqs = append(e.reqs, recorded{r.Method, r.URL.RequestURI(), r.Header.Clone(), body})
		a := answer{code: http.StatusNoContent}
		if len(e.script) > 0 {
			a, e.script = e.script[0], e.script[1:]
		}
		e.mu.Unlock()
		select {
		case e.arrived <- struct{}{}:
		default:
		}
		if a.hang {
			select {
			case <-r.Context().Done():
			case <-e.closing:
			}
			return
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.code)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(func() { close(e.closing); e.Close() })
	return e
}

func (e *endpoint) requests() []recorded {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.reqs)
}

func sample() *stream.Status {
	return &stream.Status{ID: "42", Source: "mock", Author: stream.Author{ScreenName: "gopher", Name: "Go <Pher>"},
		Text: "hello & <world> @everyone\u202e\x1b", URL: "https://x.com/gopher/status/42", Lang: "en",
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Matched: []string{"go"}, Routes: []string{"golang"}}
}

func TestBodies(t *testing.T) {
	t.Parallel()
	rec, _ := json.Marshal(handlers.NewRecord(sample()))
	if !bytes.Contains(rec, []byte(`"matched":["go"],"routes":["golang"]`)) {
		t.Fatalf("the record lacks matched or routes: %s", rec)
	}
	tests := []struct {
		name   string
		format Format
		tmpl   string
		want   string
	}{
		{"json record", JSON, "", string(rec)},
		{"json template", JSON, `{"msg": {{json .Text}}, "who": {{json .Author}}, "tags": {{json .Matched}}}`,
			// JSON carries the data as it is (like the JSONL sink): only JSON-escaped.
			`{"msg": "hello \u0026 \u003cworld\u003e @everyone` + "\u202e" + `\u001b", "who": "gopher", "tags": ["go"]}`},
		{"slack", Slack, "", `{"text":"Go \u0026lt;Pher\u0026gt; (@gopher)\nhello \u0026amp; \u0026lt;world\u0026gt; @everyone\nhttps://x.com/gopher/status/42"}`},
		{"slack template", Slack, `*{{.Author}}*: {{.Text}} <{{.URL}}>`, `{"text":"*gopher*: hello \u0026amp; \u0026lt;world\u0026gt; @everyone \u0026lt;https://x.com/gopher/status/42\u0026gt;"}`},
		{"discord", Discord, "", `{"content":"Go \u003cPher\u003e (@gopher)\nhello \u0026 \u003cworld\u003e @everyone\nhttps://x.com/gopher/status/42","allowed_mentions":{"parse":[]}}`},
		{"discord template", Discord, `{{.Name}}: {{join .Matched ","}}`, `{"content":"Go \u003cPher\u003e: go","allowed_mentions":{"parse":[]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEndpoint(t)
			s, err := NewSender(Config{URL: e.URL + "/hook", Format: tc.format, Template: tc.tmpl,
				Headers: map[string]string{"Authorization": "Bearer x", "User-Agent": "custom"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Handle(context.Background(), sample()); err != nil {
				t.Fatal(err)
			}
			reqs := e.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.method != "POST" || r.path != "/hook" || r.header.Get("Content-Type") != "application/json" ||
				r.header.Get("Authorization") != "Bearer x" || r.header.Get("User-Agent") != "custom" {
				t.Errorf("request %s %s %v", r.method, r.path, r.header)
			}
			if string(r.body) != tc.want {
				t.Errorf("body\n got %s\nwant %s", r.body, tc.want)
			}
			if !json.Valid(r.body) {
				t.Error("the body is not JSON")
			}
		})
	}
}

func TestTextLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format Format
		text   string
		limit  int
	}{
		{"discord emoji", Discord, strings.Repeat("😀", 10000), MaxDiscordLen},
		{"discord words", Discord, strings.Repeat("word ", 1000), MaxDiscordLen},
		{"slack entities grow", Slack, strings.Repeat("&<>", 20000), MaxSlackLen},
		{"slack long", Slack, strings.Repeat("x", 50000), MaxSlackLen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSender(Config{URL: "https://example.com/hook", Format: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			st := sample()
			st.Text = tc.text
			body, err := s.Body(st)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			text, _ := m["text"].(string)
			if tc.format == Discord {
				text, _ = m["content"].(string)
			}
			if n := utf16Len(text); n > tc.limit || n < tc.limit*8/10 {
				t.Errorf("text of %d units, want at most %d (and not much less)", n, tc.limit)
			}
			if !strings.HasSuffix(text, "…\nhttps://x.com/gopher/status/42") {
				t.Errorf("the link did not survive: ...%q", text[max(0, len(text)-60):])
			}
			if strings.Contains(text, "&a…") || strings.Contains(text, "&l…") || strings.Contains(text, "&g…") {
				t.Error("an entity was cut")
			}
		})
	}
}

func TestClassification(t *testing.T) {
	t.Parallel()
	type verdict string
	const (
		ok        verdict = "ok"
		retryable verdict = "retryable"
		permanent verdict = "permanent"
		gone      verdict = "gone"
	)
	tests := []struct {
		a     answer
		want  verdict
		delay time.Duration
	}{
		{answer{code: 200}, ok, 0},
		{answer{code: 201}, ok, 0},
		{answer{code: 204}, ok, 0},
		{answer{code: 301, header: map[string]string{"Location": "/elsewhere"}}, permanent, 0},
		{answer{code: 400, body: "invalid_payload"}, permanent, 0},
		{answer{code: 401}, permanent, 0},
		{answer{code: 403, body: "action_prohibited"}, permanent, 0},
		{answer{code: 404, body: `{"message": "Unknown Webhook", "code": 10015}`}, permanent, 0},
		{answer{code: 408}, retryable, 0},
		{answer{code: 410, body: "channel_is_archived"}, gone, 0},
		{answer{code: 413}, permanent, 0},
		{answer{code: 429, header: map[string]string{"Retry-After": "3"}}, retryable, 3 * time.Second},
		{answer{code: 429, header: map[string]string{"Retry-After": "0.5"}}, retryable, 500 * time.Millisecond},
		{answer{code: 429, header: map[string]string{"Retry-After": "Wed, 01 Jan 2025 00:01:00 GMT"}}, retryable, time.Minute},
		{answer{code: 429}, retryable, 0},
		{answer{code: 500}, retryable, 0},
		{answer{code: 502, body: "<html>bad gateway</html>"}, retryable, 0},
		{answer{code: 503, header: map[string]string{"Retry-After": "7"}}, retryable, 7 * time.Second},
		{answer{code: 503}, retryable, 0},
		{answer{code: 504}, retryable, 0},
		{answer{hang: true}, retryable, 0},
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		name := fmt.Sprint(tc.a.code, tc.a.header)
		if tc.a.hang {
			name = "timeout"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEndpoint(t, tc.a)
			s, err := NewSender(Config{URL: e.URL, HTTPClient: &http.Client{Timeout: 100 * time.Millisecond,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
				Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Handle(context.Background(), sample())
			var got verdict
			switch {
			case err == nil:
				got = ok
			case errors.Is(err, handlers.ErrDestinationGone):
				got = gone
			case errors.Is(err, handlers.ErrPermanent):
				got = permanent
			case handlers.IsRetryable(err):
				got = retryable
			}
			if got != tc.want {
				t.Errorf("verdict %q, want %q (err %v)", got, tc.want, err)
			}
			if d, _ := handlers.RetryDelay(err); d != tc.delay {
				t.Errorf("delay %v, want %v", d, tc.delay)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "webhook: POST http://127.0.0.1:") {
				t.Errorf("err %q", err)
			}
			var se *StatusError
			if err != nil && !tc.a.hang && (!errors.As(err, &se) || se.Code != tc.a.code) {
				t.Errorf("no StatusError with code %d in %v", tc.a.code, err)
			}
			if tc.a.body != "" && tc.a.code >= 300 && !strings.Contains(err.Error(), strings.ReplaceAll(tc.a.body, "\n", " ")) {
				t.Errorf("err %q does not show the answer's body", err)
			}
			if n := len(e.requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestNetworkErrorsAndCancellation(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	s, err := NewSender(Config{URL: closed.URL + "/services/T0/B0/secret"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Handle(context.Background(), sample())
	if !handlers.IsRetryable(err) || strings.Contains(err.Error(), "secret") {
		t.Errorf("network error: %v", err)
	}

	e := newEndpoint(t, answer{hang: true})
	s, err = NewSender(Config{URL: e.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-e.arrived
		cancel()
	}()
	err = s.Handle(ctx, sample())
	if !errors.Is(err, context.Canceled) || handlers.IsRetryable(err) {
		t.Errorf("cancelled: %v", err)
	}
}

// sleeps records injected waits.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

// verdictOf names the classification of a Handle's error.
func verdictOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, handlers.ErrDestinationGone):
		return "gone"
	case errors.Is(err, handlers.ErrPermanent):
		return "permanent"
	case handlers.IsRetryable(err):
		return "retryable"
	}
	return "not retryable: " + err.Error()
}

// TestNewMakesOneAttemptAndLimits checks the handler New returns, the one
// package bot calls: each Handle is one POST behind the rate limit, and its
// error carries the Sender's classification for the bot's retry loop.
func TestNewMakesOneAttemptAndLimits(t *testing.T) {
	t.Parallel()
	e := newEndpoint(t,
		answer{code: 503},
		answer{code: 429, header: map[string]string{"Retry-After": "2"}},
		answer{code: 200},
		answer{code: 400, body: "bad"},
		answer{code: 410},
	)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var clockMu sync.Mutex
	limitWaits := &sleeps{}
	h, err := New(Config{URL: e.URL, Format: Slack,
		Limit: &handlers.Rate{Every: time.Second, Burst: 1},
		Now: func() time.Time {
			clockMu.Lock()
			defer clockMu.Unlock()
			return now
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			clockMu.Lock()
			now = now.Add(d)
			clockMu.Unlock()
			return limitWaits.sleep(ctx, d)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := sample()
	for i, tc := range []struct {
		want  string
		delay time.Duration
	}{
		{"retryable", 0},               // 503
		{"retryable", 2 * time.Second}, // 429 Retry-After: 2
		{"ok", 0},
		{"permanent", 0}, // 400
		{"gone", 0},      // 410
	} {
		err := h.Handle(context.Background(), st)
		if got := verdictOf(err); got != tc.want {
			t.Errorf("Handle %d: %s (err %v), want %s", i+1, got, err, tc.want)
		}
		if d, _ := handlers.RetryDelay(err); d != tc.delay {
			t.Errorf("Handle %d: retry delay %v, want %v", i+1, d, tc.delay)
		}
		if n := len(e.requests()); n != i+1 {
			t.Fatalf("Handle %d: %d requests in all, want one per Handle", i+1, n)
		}
	}
	// Each POST after the first waited its second for the limiter, and
	// nothing else waited: there is no backoff inside.
	if want := []time.Duration{time.Second, time.Second, time.Second, time.Second}; !slices.Equal(limitWaits.d, want) {
		t.Errorf("waits %v, want %v (the limiter's only)", limitWaits.d, want)
	}
	reqs := e.requests()
	if !bytes.Equal(reqs[0].body, reqs[2].body) {
		t.Error("handing the same status again must post the same body")
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	if !DefaultLimit(JSON).Unlimited() || DefaultLimit(Slack).Every != time.Second || DefaultLimit(Discord).Every != 2*time.Second {
		t.Errorf("defaults: %v %v %v", DefaultLimit(JSON), DefaultLimit(Slack), DefaultLimit(Discord))
	}
	// New with a zero Rate has no limit.
	e := newEndpoint(t)
	h, err := New(Config{URL: e.URL, Limit: &handlers.Rate{}})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := h.Handle(context.Background(), sample()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no URL"},
		{Config{URL: "ftp://host/secret-path"}, "absolute http or https URL"},
		{Config{URL: "/relative/secret-path"}, "absolute http or https URL"},
		{Config{URL: "https://host/secret-path\x7f"}, "does not parse"},
		{Config{URL: "https://host/x", Format: "teams"}, `unknown format "teams"`},
		{Config{URL: "https://host/x", Template: "{{.Text"}, "template"},
		{Config{URL: "https://host/x", Template: "{{.Nope}}"}, "template"},
		{Config{URL: "https://host/x", Template: `{"text": "{{.Text}}"}`}, "not a JSON document"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "webhook: ") {
			t.Errorf("%+v: err %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-path") {
			t.Errorf("the URL leaks: %v", err)
		}
	}
}

// TestSecretsNeverLeak fails in every way against a URL and a header that
// are secrets, and looks for them in every error and log line.
func TestPrintingTheConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{URL: "https://hooks.example/services/T0/PATHSECRET?token=QUERYSECRET", Headers: map[string]string{"Authorization": "Bearer HEADERSECRET"}},
		{URL: "https://user:PASSWORDSECRET@hooks.example/x\x00"},
	} {
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg)
		for _, text := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", &cfg), fmt.Sprintf("%#v", cfg), logs.String()} {
			if strings.Contains(text, "SECRET") || !strings.Contains(text, "https://") && !strings.Contains(text, "<redacted>") {
				t.Errorf("printed a secret, or not the URL: %s", text)
			}
		}
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const path, query, header = "/services/T000/B000/XXXXSECRETPATH", "token=QUERYSECRET", "Bearer HEADERSECRET"
	secrets := []string{"XXXXSECRETPATH", "QUERYSECRET", "HEADERSECRET", "B000"}
	e := newEndpoint(t,
		// The receiver echoes what it got, as some do.
		answer{code: 404, body: "no such hook " + path + "?" + query + " auth " + header},
		answer{code: 500, body: "http://user:pw@x" + path},
		answer{hang: true},
		answer{code: 302, header: map[string]string{"Location": path + "/moved"}},
	)
	cfg := Config{URL: e.URL + path + "?" + query, Headers: map[string]string{"Authorization": header},
		HTTPClient: &http.Client{Timeout: 100 * time.Millisecond,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for range 4 { // one attempt each: every scripted answer is used
		errs = append(errs, h.Handle(context.Background(), sample()))
	}
	e.Close()
	errs = append(errs, h.Handle(context.Background(), sample()))
	cfg.URL = "https://user:PASSWORDSECRET@host" + path + "\x00"
	_, err = New(cfg)
	errs = append(errs, err)
	secrets = append(secrets, "PASSWORDSECRET")
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded", i)
		}
		for _, e := range chain(err) {
			for _, text := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("secret %q leaks: %s", s, text)
					}
				}
			}
		}
	}
	all := fmt.Sprint(errs)
	for _, want := range []string{"HTTP 404", "HTTP 500", "Client.Timeout", "HTTP 302", "connection refused", "/<redacted>"} {
		if !strings.Contains(all, want) {
			t.Errorf("%q not exercised:\n%s", want, all)
		}
	}
}

func chain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, chain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, chain(e)...)
		}
	}
	return out
}
