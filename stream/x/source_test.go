package x

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
	"github.com/streambot/streambot/stream/internal/sourcetest"
	"github.com/streambot/streambot/stream/twitter"
)

func TestNewSourceValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantIs  error
		wantMsg []string
	}{
		{"no token", func(c *Config) { c.BearerToken = "" }, ErrMissingToken, []string{"X_BEARER_TOKEN"}},
		{"pasted newline", func(c *Config) { c.BearerToken += "\n" }, ErrInvalidConfig, []string{"X_BEARER_TOKEN", "whitespace"}},
		{"Bearer prefix", func(c *Config) { c.BearerToken = "Bearer " + testToken }, ErrInvalidConfig, []string{"X_BEARER_TOKEN", `"Bearer "`}},
		{"inner space", func(c *Config) { c.BearerToken = Token(testToken[:5] + " " + testToken[5:]) }, ErrInvalidConfig, []string{"X_BEARER_TOKEN"}},
		{"no rules", func(c *Config) { c.Rules = nil }, ErrNoRules, []string{"route"}},
		{"no tag", func(c *Config) { c.Rules = []Rule{{Value: "python"}} }, ErrInvalidConfig, []string{"no tag", `"python"`}},
		{"no value", func(c *Config) { c.Rules = []Rule{{Tag: "py", Value: "  "}} }, ErrInvalidConfig, []string{`route "py"`, "no value"}},
		{"same tag twice", func(c *Config) { c.Rules = []Rule{{Tag: "a", Value: "x"}, {Tag: "a", Value: "y"}} }, ErrInvalidConfig, []string{`"a"`, "one rule per route"}},
		{"same value twice", func(c *Config) { c.Rules = []Rule{{Tag: "a", Value: "go"}, {Tag: "b", Value: " go"}} }, ErrInvalidConfig,
			[]string{`"a"`, `"b"`, `"go"`, "merge"}},
		{"bad scheme", func(c *Config) { c.BaseURL = "ftp://example.com" }, ErrInvalidConfig, []string{"X_API_URL"}},
		{"no host", func(c *Config) { c.BaseURL = "https://" }, ErrInvalidConfig, []string{"X_API_URL"}},
		{"not a URL", func(c *Config) { c.BaseURL = "http://a b:pw@host/" }, ErrInvalidConfig, []string{"X_API_URL"}},
		{"query", func(c *Config) { c.BaseURL = "https://example.com/?x=1" }, ErrInvalidConfig, []string{"query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{BearerToken: testToken, Rules: testRules}
			tt.mutate(&cfg)
			_, err := NewSource(cfg)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not mention %q", err, w)
				}
			}
			for _, secret := range []string{testToken, testToken[:5], "pw"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("err %q reveals %q", err, secret)
				}
			}
		})
	}
}

func TestNewSourceDefaultsAndEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct{ base, want string }{
		{"", "https://api.x.com/2/tweets/search/stream?" + StreamQuery},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/2/tweets/search/stream?" + StreamQuery},
		{" http://127.0.0.1:8080/// ", "http://127.0.0.1:8080/2/tweets/search/stream?" + StreamQuery},
		{"https://proxy.example/x/", "https://proxy.example/x/2/tweets/search/stream?" + StreamQuery},
		{"https://user:hunter2@proxy.example", "https://user:xxxxx@proxy.example/2/tweets/search/stream?" + StreamQuery},
	}
	for _, tt := range tests {
		src, err := NewSource(Config{BearerToken: testToken, BaseURL: tt.base, Rules: testRules})
		if err != nil {
			t.Fatalf("%q: %v", tt.base, err)
		}
		if got := src.Endpoint(); got != tt.want {
			t.Errorf("BaseURL %q: Endpoint() = %q, want %q", tt.base, got, tt.want)
		}
	}
	src, err := NewSource(Config{BearerToken: testToken, Rules: []Rule{{Tag: " py ", Value: " python "}}})
	if err != nil {
		t.Fatal(err)
	}
	if src.cfg.StallTimeout != 30*sec || src.cfg.MaxLineBytes != 1<<20 || src.Name() != "x" || !src.ownsClient ||
		src.requestTimeout != DefaultRequestTimeout || src.rulesURL != "https://api.x.com/2/tweets/search/stream/rules" {
		t.Errorf("defaults: stall %v, max %d, name %q, own client %v, request timeout %v, rules %s",
			src.cfg.StallTimeout, src.cfg.MaxLineBytes, src.Name(), src.ownsClient, src.requestTimeout, src.rulesURL)
	}
	if got := src.cfg.Rules; !slices.Equal(got, []Rule{{Tag: "py", Value: "python"}}) {
		t.Errorf("rules not trimmed: %q", got)
	}
	if src.client.Timeout != 0 {
		t.Errorf("default client has an overall Timeout %v: it would cut streams", src.client.Timeout)
	}
	// A caller's client keeps its transport, loses its Timeout for the
	// stream, and bounds rules requests with it.
	tr := &http.Transport{}
	src, err = NewSource(Config{BearerToken: testToken, Rules: testRules, HTTPClient: &http.Client{Transport: tr, Timeout: 5 * sec}})
	if err != nil {
		t.Fatal(err)
	}
	if src.client.Transport != tr || src.client.Timeout != 0 || src.requestTimeout != 5*sec || src.ownsClient {
		t.Errorf("caller's client: %+v, request timeout %v", src.client, src.requestTimeout)
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	t.Parallel()
	cfg := Config{BearerToken: testToken, Rules: testRules}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg, "token", cfg.BearerToken)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "token", cfg.BearerToken)
	// The Source holds the token in unexported fields, which fmt prints
	// without their String methods: the Source must describe itself.
	src, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	slog.New(slog.NewTextHandler(&logs, nil)).Info("source", "src", src)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("source", "src", src)
	if got := src.String(); got != "x.Source(https://api.x.com)" {
		t.Errorf("String() = %q", got)
	}
	out := fmt.Sprintf("%v %+v %#v %s %q %x %v", cfg, cfg, cfg, cfg.BearerToken, cfg.BearerToken, cfg.BearerToken, &cfg) +
		fmt.Sprintf("%v %+v %#v", src, src, src) + logs.String()
	if strings.Contains(out, testToken) || strings.Contains(out, "7f3a9e") {
		t.Errorf("printing a Config or a Source reveals the token:\n%s", out)
	}
	if !strings.Contains(out, "x.Token(set)") || Token("").String() != "x.Token(unset)" {
		t.Errorf("String should say whether the token is set: %s", out)
	}
	env := map[string]string{EnvBearerToken: "tok"}
	if got := TokenFromEnv(func(k string) string { return env[k] }); string(got) != "tok" {
		t.Errorf("TokenFromEnv = %d bytes", len(got))
	}
}

// The rules are listed, then the stream is a GET with the documented
// query and the bearer token; nothing is changed when the rules are right.
func TestRequests(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t, serve(postLine("1")))
	h := newHarness(t, srv.URL+"/")
	events, err := h.run(t, sourcetest.AfterStatuses(1))
	if !errors.Is(err, sourcetest.ErrStop) || len(events) != 1 {
		t.Fatalf("Run = %v, events %+v", err, events)
	}
	reqs := srv.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests %+v, want a rules list and a stream", reqs)
	}
	list, st := reqs[0], reqs[1]
	if list.method != "GET" || list.path != RulesPath || list.query != "" {
		t.Errorf("rules request %+v", list)
	}
	if st.method != "GET" || st.path != StreamPath || st.query != StreamQuery || st.body != "" {
		t.Errorf("stream request %+v", st)
	}
	for _, r := range reqs {
		if r.auth != "Bearer "+testToken {
			t.Errorf("%s %s: Authorization %q", r.method, r.path, r.auth)
		}
	}
	if got := h.obs.Events(); !slices.Equal(got, []string{"connected"}) {
		t.Errorf("observer %v", got)
	}
}

// 400, 401, 403 and 404 end Run at once with a *stream.PermanentError that
// says what to do, from the stream or from the rules endpoint.
func TestPermanentStatuses(t *testing.T) {
	t.Parallel()
	notEnrolled := `{"client_id":"123","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.","registration_url":"https://developer.twitter.com/en/docs/projects/overview","title":"Client Forbidden","required_enrollment":"Appropriate Level of API Access","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"}`
	unauthorized := `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`
	tests := []struct {
		name   string
		rules  bool // the rules endpoint answers, not the stream
		code   int
		body   string
		want   []string
		stream int // stream requests expected
	}{
		{"stream 401", false, 401, unauthorized, []string{"x: the stream endpoint rejected the bearer token (HTTP 401 Unauthorized): check X_BEARER_TOKEN", `"Unauthorized"`}, 1},
		{"stream 403", false, 403, notEnrolled, []string{"HTTP 403 Forbidden", "Project", "Client Forbidden", "attached to a Project", "client-not-enrolled"}, 1},
		{"stream 404", false, 404, "Not Found", []string{"HTTP 404", "X_API_URL", "no stream endpoint"}, 1},
		{"stream 400", false, 400, `{"errors":[{"parameters":{"tweet.fields":["nope"]},"message":"The query parameter [tweet.fields] is invalid"}],"title":"Invalid Request"}`,
			[]string{"HTTP 400", "tweet.fields"}, 1},
		{"rules 401", true, 401, unauthorized, []string{"rules endpoint rejected the bearer token", "X_BEARER_TOKEN"}, 0},
		{"rules 403", true, 403, notEnrolled, []string{"rules endpoint refused access", "client-not-enrolled"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScriptServer(t, code(tt.code, tt.body))
			if tt.rules {
				srv.rulesSteps = []step{code(tt.code, tt.body)}
			}
			h := newHarness(t, srv.URL)
			_, err := h.run(t, nil)
			var perm *stream.PermanentError
			if !errors.As(err, &perm) || !errors.Is(err, stream.ErrPermanent) {
				t.Fatalf("Run = %v, want a *stream.PermanentError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			se, ok := errors.AsType[*StatusError](err)
			if !ok || se.StatusCode != tt.code || !se.Permanent() || len(se.ServerMessage) > serverMessageBytes {
				t.Errorf("StatusError = %+v", se)
			}
			if streams, _ := srv.counts(); streams != tt.stream || len(h.sleeps.Delays()) != 0 {
				t.Errorf("%d stream requests, sleeps %v: a permanent failure must not be retried", streams, h.sleeps.Delays())
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("the error reveals the token: %v", err)
			}
		})
	}
}

// Retryable answers back off by X's schedule: HTTP errors exponentially
// from 5 s, 429 from a minute (with a log line that says another client
// holds the connection); a stream that delivered resets the schedule.
func TestReconnectSchedule(t *testing.T) {
	t.Parallel()
	tooMany := `{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.twitter.com/2/problems/streaming-connection"}`
	srv := newScriptServer(t,
		code(503, `{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}`),
		code(500, "oops"),
		code(429, tooMany),
		code(429, tooMany),
		serve(postLine("1")),      // delivers, then ends: dropped
		serve(),                   // ends without a post: network
		serve(postLine("2"), "{"), // the last line is garbage
	)
	h := newHarness(t, srv.URL)
	events, err := h.run(t, sourcetest.AfterStatuses(2))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if got := sourcetest.StatusIDs(events); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("statuses %v", got)
	}
	want := []time.Duration{5 * sec, 10 * sec, time.Minute, 2 * time.Minute, 0, 250 * msec}
	if got := h.sleeps.Delays(); !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	wantObs := []string{"disconnected:http", "disconnected:http", "disconnected:rate-limited", "disconnected:rate-limited",
		"connected", "disconnected:dropped", "connected", "disconnected:network", "connected"}
	if got := h.obs.Events(); !slices.Equal(got, wantObs) {
		t.Errorf("observer\n got %v\nwant %v", got, wantObs)
	}
	recs := h.logs.Records(t, "another client holds the filtered stream connection")
	if len(recs) != 2 || recs[0]["reason"] != "rate-limited" || recs[0]["status"] != 429.0 ||
		!strings.Contains(fmt.Sprint(recs[0]["err"]), "TooManyConnections") || recs[0]["level"] != "WARN" {
		t.Errorf("429 log records %v", recs)
	}
	if recs := h.logs.Records(t, "stream ended, reconnecting"); len(recs) != 4 || recs[0]["status"] != 503.0 {
		t.Errorf("reconnect log records %v", recs)
	}
}

// A failed rule sync is retried with the back-off of its failure before
// the stream is opened; the stream is not opened without the rules.
func TestSyncRetried(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t, serve(postLine("1")))
	srv.rulesSteps = []step{
		code(503, `{"title":"Service Unavailable","type":"about:blank"}`),
		code(429, `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`),
		serveRaw(`{"data":[`), // malformed JSON
		listRules(testRules...),
	}
	h := newHarness(t, srv.URL)
	if _, err := h.run(t, sourcetest.AfterStatuses(1)); !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if got, want := h.sleeps.Delays(), []time.Duration{5 * sec, time.Minute, 10 * sec}; !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	if streams, rules := srv.counts(); streams != 1 || rules != 4 {
		t.Errorf("%d stream and %d rules requests", streams, rules)
	}
	if recs := h.logs.Records(t, "syncing the rules failed"); len(recs) != 3 || recs[2]["reason"] != "http" ||
		!strings.Contains(fmt.Sprint(recs[2]["err"]), "malformed JSON") {
		t.Errorf("sync log records %v", recs)
	}
	if got := h.obs.Events(); !slices.Equal(got, []string{"connected"}) {
		t.Errorf("observer %v: a rule sync is not a connection", got)
	}
}

// An operational disconnect is emitted as KindDisconnect and the Source
// reconnects at once (after posts) without waiting for the server to
// close; before any post it backs off as after a network error.
func TestOperationalDisconnect(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t)
	srv.steps = []step{
		hangAfter(srv.done, postLine("1"), disconnectLine, postLine("never")),
		hangAfter(srv.done, disconnectLine),
		serve(postLine("2")),
	}
	h := newHarness(t, srv.URL)
	events, err := h.run(t, sourcetest.AfterStatuses(2))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind.String())
	}
	if want := []string{"status", "disconnect", "disconnect", "status"}; !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	if d := events[1].Disconnect; d.Reason != "This stream has been disconnected upstream for operational reasons." {
		t.Errorf("disconnect %+v", d)
	}
	if got := sourcetest.StatusIDs(events); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("statuses %v", got)
	}
	if got, want := h.sleeps.Delays(), []time.Duration{0, 250 * msec}; !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	recs := h.logs.Records(t, "the server is disconnecting")
	if len(recs) != 2 || recs[0]["type"] != "UpstreamOperationalDisconnect" {
		t.Errorf("disconnect logs %v", recs)
	}
	if got := h.obs.Events(); !slices.Equal(got[:2], []string{"connected", "disconnected:dropped"}) || got[3] != "disconnected:network" {
		t.Errorf("observer %v", got)
	}
}

// Malformed, unknown, post-less and oversized lines are logged and
// skipped; in-stream errors other than disconnects are warnings; the
// stream goes on without a reconnect. Heartbeats in any form are skipped.
func TestBadLinesSkipped(t *testing.T) {
	t.Parallel()
	giant := `{"data":{"id":"9","text":"` + strings.Repeat("x", 2<<20) + `"}}`
	malformed := `{"data":{"id":"9","text":"` + strings.Repeat("m", 300)
	body := "\r\n" + postLine("1") + "\r\n\r\n" +
		malformed + "\r\n" +
		`{"something_new":{"x":1}}` + "\r\n" +
		`{"data":{"text":"no id"}}` + "\r\n" +
		giant + "\r\n" +
		`{"errors":[{"title":"Authorization Error","detail":"Sorry, you are not authorized to see the Tweet with id: [1].","type":"https://api.twitter.com/2/problems/not-authorized-for-resource"}]}` + "\r\n" +
		"\n" + postLine("2") + "\n" + // a bare "\n" terminates too
		"  \r\n" + postLine("3") // the last line arrives whole but without "\r\n"
	srv := newScriptServer(t, serveRaw(body), serve(postLine("4")))
	h := newHarness(t, srv.URL)
	events, err := h.run(t, sourcetest.AfterStatuses(4))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if got := sourcetest.StatusIDs(events); !slices.Equal(got, []string{"1", "2", "3", "4"}) {
		t.Errorf("statuses %v", got)
	}
	if len(events) != 5 || events[1].Kind != stream.KindWarning || events[1].Warning.Code != "Authorization Error" ||
		!strings.Contains(events[1].Warning.Message, "not authorized") {
		t.Errorf("events %+v", events)
	}
	checks := []struct {
		msg   string
		n     int
		attrs map[string]any
	}{
		{"malformed message", 2, map[string]any{"level": "WARN"}},
		{"unknown message", 1, map[string]any{"prefix": `{"something_new":{"x":1}}`}},
		{"oversized", 1, map[string]any{"bytes": float64(len(giant)), "max": float64(1 << 20)}},
		{"error in the stream", 1, map[string]any{"title": "Authorization Error"}},
	}
	for _, c := range checks {
		recs := h.logs.Records(t, c.msg)
		if len(recs) != c.n {
			t.Errorf("%d log records %q, want %d", len(recs), c.msg, c.n)
			continue
		}
		for k, v := range c.attrs {
			if recs[0][k] != v {
				t.Errorf("%q: %s = %v, want %v", c.msg, k, recs[0][k], v)
			}
		}
	}
	if got := h.sleeps.Delays(); !slices.Equal(got, []time.Duration{0}) {
		t.Errorf("delays %v: bad lines must not cost a reconnect", got)
	}
}

// A connection that goes silent (no heartbeat) is closed when the stall
// timer fires and reopened with the network back-off.
func TestStallReconnects(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t)
	srv.steps = []step{hangAfter(srv.done, postLine("1")), serve(postLine("2"))}
	timers := sourcetest.NewTimers()
	h := newHarness(t, srv.URL, func(c *Config) {
		c.StallTimeout = 42 * sec
		c.afterFunc = timers.AfterFunc
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := make(chan stream.Event, 10)
	done := sourcetest.Start(ctx, h.src, func(ev stream.Event) error {
		events <- ev
		if ev.Status.ID == "2" {
			return sourcetest.ErrStop
		}
		return nil
	})
	if ev := sourcetest.Next(t, events, done); ev.Kind != stream.KindStatus || ev.Status.ID != "1" {
		t.Fatalf("first event %+v", ev)
	}
	timers.Fire(t) // the connection has gone silent
	if err := sourcetest.Wait(t, done); !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if got, want := h.sleeps.Delays(), []time.Duration{250 * msec}; !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	for _, d := range timers.Delays() {
		if d != 42*sec {
			t.Errorf("watchdog armed for %v, want StallTimeout", d)
		}
	}
	recs := h.logs.Records(t, "reconnecting")
	if len(recs) != 1 || recs[0]["reason"] != "network" || !strings.Contains(fmt.Sprint(recs[0]["err"]), "stalled") {
		t.Errorf("stall not logged: %v", recs)
	}
	if got := h.obs.Events(); !slices.Equal(got, []string{"connected", "disconnected:network", "connected"}) {
		t.Errorf("observer %v", got)
	}
}

// The real timer path (the default AfterFunc): a server that never sends
// response headers is abandoned after StallTimeout. The fake-timer tests
// pin the exact schedule; without a working timer this one hangs until the
// harness's safety net fails it.
func TestStallBeforeHeadersRealTimer(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t)
	srv.steps = []step{hang(srv.done), serve(postLine("1"))}
	h := newHarness(t, srv.URL, func(c *Config) {
		c.StallTimeout = 100 * msec
		c.HTTPClient = &http.Client{} // no response-header timeout
	})
	events, err := h.run(t, sourcetest.AfterStatuses(1))
	if !errors.Is(err, sourcetest.ErrStop) || len(events) != 1 {
		t.Fatalf("Run = %v, events %v", err, events)
	}
	// The real timer may also cut a later connection short on a loaded
	// machine: every retry is a network one, and the first ended the hang.
	recs := h.logs.Records(t, "reconnecting")
	if len(recs) == 0 || !strings.Contains(fmt.Sprint(recs[0]["err"]), "no response within 100ms") {
		t.Fatalf("reconnect logs %v", recs)
	}
	for _, r := range recs {
		if r["reason"] != "network" {
			t.Errorf("reconnect log %v, want reason network", r)
		}
	}
	delays := h.sleeps.Delays()
	for i, d := range delays {
		if want := time.Duration(i+1) * 250 * msec; d != want {
			t.Errorf("delays %v, want the network back-off 250ms, 500ms, ...", delays)
			break
		}
	}
	if len(delays) != len(recs) {
		t.Errorf("%d delays for %d reconnects", len(delays), len(recs))
	}
}

// A cancelled ctx ends Run with nil promptly wherever Run waits, and
// nothing is emitted after it.
func TestCancelReturnsNil(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(s *scriptServer)
		reqs     int  // requests made before Run waits for the network
		sleeping bool // Run waits in Sleep instead
	}{
		{"during the back-off", func(s *scriptServer) { s.steps = []step{code(503, "")} }, 0, true},
		{"waiting for headers", func(s *scriptServer) { s.steps = []step{hang(s.done)} }, 2, false},
		{"reading the stream", func(s *scriptServer) { s.steps = []step{hangAfter(s.done)} }, 2, false},
		{"syncing the rules", func(s *scriptServer) { s.rulesSteps = []step{hang(s.done)} }, 1, false},
		{"backing off a rule sync", func(s *scriptServer) { s.rulesSteps = []step{code(503, "")} }, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScriptServer(t, serve())
			tt.setup(srv)
			sleeping := make(chan struct{}, 1)
			h := newHarness(t, srv.URL, func(c *Config) {
				c.Sleep = func(ctx context.Context, d time.Duration) error {
					select {
					case sleeping <- struct{}{}:
					default:
					}
					return netstream.Sleep(ctx, d) // the real timer, an hour long
				}
				c.Backoff = twitter.Backoff{HTTPInitial: time.Hour}
			})
			ctx, cancel := context.WithCancel(t.Context())
			done := sourcetest.Start(ctx, h.src, func(stream.Event) error { return nil })
			for range tt.reqs {
				<-srv.received
			}
			if tt.sleeping {
				select {
				case <-sleeping:
				case err := <-done:
					t.Fatalf("Run = %v before it backed off", err)
				}
			}
			cancel()
			if err := sourcetest.Wait(t, done); err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		})
	}
	// Lines already read when ctx ends are not emitted.
	srv := newScriptServer(t, serve(postLine("1"), postLine("2"), postLine("3")))
	h := newHarness(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	var got []string
	err := h.src.Run(ctx, func(ev stream.Event) error {
		got = append(got, ev.Status.ID)
		cancel()
		return nil
	})
	if err != nil || !slices.Equal(got, []string{"1"}) {
		t.Errorf("Run = %v, emitted %v after cancel", err, got)
	}
}

// emit's error ends Run and comes back unchanged, also mid-stream.
func TestEmitErrorStopsRun(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t)
	srv.steps = []step{hangAfter(srv.done, postLine("1"), postLine("2"))}
	h := newHarness(t, srv.URL)
	boom := errors.New("queue full")
	if err := h.src.Run(t.Context(), func(stream.Event) error { return boom }); err != boom {
		t.Errorf("Run = %v, want emit's error", err)
	}
}

// A Sleep hook that fails while ctx is live ends Run with its error.
func TestSleepErrorEndsRun(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t, code(503, ""))
	h := newHarness(t, srv.URL)
	broken := errors.New("clock broke")
	h.src.cfg.Sleep = func(context.Context, time.Duration) error { return broken }
	if _, err := h.run(t, nil); !errors.Is(err, broken) {
		t.Errorf("Run = %v, want the Sleep error", err)
	}
}

// The token reaches no log line and no error, even when the server echoes
// the Authorization header back in every error body and in stream lines.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	echo := func(status int) step {
		return func(w http.ResponseWriter, r *http.Request) {
			a := r.Header.Get("Authorization")
			code(status, `{"title":"`+a+`","detail":"bad token `+a+`","connection_issue":"TooManyConnections","errors":[{"message":"`+a+`"}]}`)(w, r)
		}
	}
	srv := newScriptServer(t)
	srv.rulesSteps = []step{echo(503), func(w http.ResponseWriter, r *http.Request) {
		code(200, `{"data":[{"id":"1","value":"python","tag":"python"}],"meta":{}}`)(w, r)
	}, func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		if strings.Contains(r.URL.RawQuery, "dry_run") {
			code(200, `{"meta":{},"errors":[{"value":"golang OR #go","title":"DuplicateRule","id":"`+a+`"}]}`)(w, r)
			return
		}
		code(200, `{"data":[{"id":"2","value":"golang OR #go","tag":"golang"}],"meta":{}}`)(w, r)
	}, listRules(testRules...)}
	srv.steps = []step{
		echo(503),
		echo(429),
		func(w http.ResponseWriter, r *http.Request) {
			a := r.Header.Get("Authorization")
			serve(
				`{"data":{"id":"1","text":"`+a,
				`{"novel":"`+a+`"}`,
				`{"errors":[{"title":"`+a+`","detail":"`+a+`"}]}`,
				postLine("1"),
				`{"errors":[{"title":"operational-disconnect","disconnect_type":"`+a+`","detail":"`+a+`","type":"`+ProblemOperationalDisconnect+`"}]}`,
			)(w, r)
		},
		echo(403),
	}
	h := newHarness(t, srv.URL)
	events, err := h.run(t, nil)
	if !errors.Is(err, stream.ErrPermanent) {
		t.Fatalf("Run = %v, want the 403", err)
	}
	out := h.logs.String() + "\n" + err.Error() + fmt.Sprintf("%+v %#v", err, err)
	for _, ev := range events {
		out += fmt.Sprintf("%+v %+v", ev.Warning, ev.Disconnect) // consumers log these
	}
	if strings.Contains(out, testToken) {
		t.Errorf("the token leaked:\n%s", out)
	}
	if !strings.Contains(out, "[REDACTED]") || len(h.sleeps.Delays()) != 5 {
		t.Errorf("the scenario did not run as planned: delays %v\n%s", h.sleeps.Delays(), out)
	}
}
