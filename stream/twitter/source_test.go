package twitter

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/sourcetest"
)

// Distinctive credentials: no log line or error may ever contain one.
var testCreds = Credentials{
	ConsumerKey:    "ck-KEY-7f3a9e",
	ConsumerSecret: "cs-SECRET-b81c44",
	AccessToken:    "at-TOKEN-5d20aa",
	AccessSecret:   "as-SECRET-e9f017",
}

func allCreds() []string {
	return []string{testCreds.ConsumerKey, testCreds.ConsumerSecret, testCreds.AccessToken, testCreds.AccessSecret}
}

func statusLine(id string) string {
	// No retweet_count on purpose: go-twitter recognized tweets by that key only.
	return `{"id_str":"` + id + `","text":"python ` + id + `","user":{"id_str":"42","screen_name":"gopher","name":"Gopher"}}`
}

type harness struct {
	src    *Source
	sleeps *sourcetest.Sleeps
	logs   *sourcetest.Logs
}

func newHarness(t *testing.T, baseURL string, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{sleeps: &sourcetest.Sleeps{}, logs: &sourcetest.Logs{}}
	cfg := Config{
		Credentials: testCreds,
		BaseURL:     baseURL,
		Track:       []string{"python"},
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
	h.src = src
	return h
}

// run runs the Source until stop says so (see sourcetest.Run).
func (h *harness) run(t *testing.T, stop func(events []stream.Event) bool) ([]stream.Event, error) {
	t.Helper()
	return sourcetest.Run(t, h.src, h.sleeps, stop)
}

// A step answers one connection.
type step func(w http.ResponseWriter, r *http.Request)

// serve writes a 200 stream of messages, each followed by "\r\n", and ends it.
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

// serveDelimited writes a delimited=length stream.
func serveDelimited(lines ...string) step {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%d\r\n%s\r\n", len(l)+2, l)
	}
	return serveRaw(b.String())
}

func code(status int, body string) step {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, body, status) }
}

// hangup closes the TCP connection without an HTTP response.
func hangup(w http.ResponseWriter, r *http.Request) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	c.Close()
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

// scriptServer answers connection i with steps[i] (the last step repeats)
// and records every request with its body.
// A step may use done, which closes when the test ends, to stop hanging.
type scriptServer struct {
	*httptest.Server
	done     chan struct{}
	received chan struct{} // one value per request, if anyone listens
	mu       sync.Mutex
	steps    []step
	reqs     []*http.Request
	forms    []string
}

func newScriptServer(t *testing.T, steps ...step) *scriptServer {
	t.Helper()
	s := &scriptServer{done: make(chan struct{}), received: make(chan struct{}, 1000), steps: steps}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		i := len(s.reqs)
		s.reqs = append(s.reqs, r)
		s.forms = append(s.forms, string(body))
		st := s.steps[min(i, len(s.steps)-1)]
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

func (s *scriptServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// oauthEncode is RFC 5849 3.6 percent-encoding.
func oauthEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// verifyOAuth1 checks r's HMAC-SHA1 signature the way a server does
// (RFC 5849 3.4.1): over the method, URL, oauth_* parameters, query and the
// form body.
func verifyOAuth1(r *http.Request, body string, consumerSecret, tokenSecret string) error {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	if !ok {
		return errors.New("no OAuth Authorization header")
	}
	params := map[string]string{}
	for kv := range strings.SplitSeq(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		v, err := url.PathUnescape(strings.Trim(v, `"`))
		if err != nil {
			return err
		}
		params[k] = v
	}
	sig := params["oauth_signature"]
	if sig == "" {
		return errors.New("no oauth_signature")
	}
	delete(params, "oauth_signature")
	delete(params, "realm")
	form, err := url.ParseQuery(body)
	if err != nil {
		return err
	}
	for k, v := range form {
		params[k] = v[0]
	}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	var pairs []string
	for k, v := range params {
		pairs = append(pairs, oauthEncode(k)+"="+oauthEncode(v))
	}
	sort.Strings(pairs)
	base := r.Method + "&" + oauthEncode("http://"+r.Host+r.URL.Path) + "&" + oauthEncode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(oauthEncode(consumerSecret)+"&"+oauthEncode(tokenSecret)))
	mac.Write([]byte(base))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); sig != want {
		return fmt.Errorf("oauth_signature %q, want %q", sig, want)
	}
	return nil
}

func TestNewSourceValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantIs  error
		wantMsg []string
	}{
		{"no credentials", func(c *Config) { c.Credentials = Credentials{} }, ErrMissingCredentials,
			[]string{"TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN and TWITTER_ACCESS_SECRET"}},
		{"no consumer secret", func(c *Config) { c.Credentials.ConsumerSecret = "" }, ErrMissingCredentials, []string{"set TWITTER_CONSUMER_SECRET "}},
		{"no access secret", func(c *Config) { c.Credentials.AccessSecret = "" }, ErrMissingCredentials, []string{"set TWITTER_ACCESS_SECRET "}},
		{"two missing", func(c *Config) { c.Credentials.ConsumerKey, c.Credentials.AccessToken = "", "" }, ErrMissingCredentials,
			[]string{"TWITTER_CONSUMER_KEY and TWITTER_ACCESS_TOKEN"}},
		{"pasted newline", func(c *Config) { c.Credentials.AccessSecret += "\n" }, ErrInvalidConfig, []string{"TWITTER_ACCESS_SECRET", "whitespace"}},
		{"no filter", func(c *Config) { c.Track = nil }, ErrNoFilter, []string{"track, follow or locations"}},
		{"blank filter", func(c *Config) { c.Track = []string{" , "} }, ErrNoFilter, nil},
		{"language alone is no filter", func(c *Config) { c.Track, c.Language = nil, []string{"en"} }, ErrNoFilter, nil},
		{"phrase too long", func(c *Config) { c.Track = []string{strings.Repeat("a", 61)} }, ErrInvalidConfig, []string{"60"}},
		{"follow not numeric", func(c *Config) { c.Follow = []string{"@gopher"} }, ErrInvalidConfig, []string{"@gopher", "numeric"}},
		{"too many follow ids", func(c *Config) { c.Follow = slices.Repeat([]string{"1"}, MaxFollow+1) }, ErrInvalidConfig, []string{"5000"}},
		{"locations not boxes", func(c *Config) { c.Locations = "1,2,3" }, ErrInvalidConfig, []string{"four"}},
		{"latitude out of range", func(c *Config) { c.Locations = "-122.75,36.8,-121.75,97" }, ErrInvalidConfig, []string{"latitude"}},
		{"too many boxes", func(c *Config) { c.Locations = strings.TrimSuffix(strings.Repeat("0,0,1,1,", 26), ",") }, ErrInvalidConfig, []string{"25"}},
		{"bad scheme", func(c *Config) { c.BaseURL = "ftp://example.com" }, ErrInvalidConfig, []string{"TWITTER_STREAM_URL"}},
		{"no host", func(c *Config) { c.BaseURL = "https://" }, ErrInvalidConfig, []string{"TWITTER_STREAM_URL"}},
		{"not a URL", func(c *Config) { c.BaseURL = "http://a b:pw@host/" }, ErrInvalidConfig, []string{"TWITTER_STREAM_URL"}},
		{"query", func(c *Config) { c.BaseURL = "https://example.com/?x=1" }, ErrInvalidConfig, []string{"query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Credentials: testCreds, Track: []string{"python"}}
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
			for _, secret := range append(allCreds(), "pw") {
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
		{"", "https://stream.twitter.com/1.1/statuses/filter.json"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/1.1/statuses/filter.json"},
		{"http://127.0.0.1:8080///", "http://127.0.0.1:8080/1.1/statuses/filter.json"},
		{" https://proxy.example/twitter/ ", "https://proxy.example/twitter/1.1/statuses/filter.json"},
		{"https://user:hunter2@proxy.example", "https://user:xxxxx@proxy.example/1.1/statuses/filter.json"},
	}
	for _, tt := range tests {
		src, err := NewSource(Config{Credentials: testCreds, BaseURL: tt.base, Follow: []string{"12"}})
		if err != nil {
			t.Fatalf("%q: %v", tt.base, err)
		}
		if got := src.Endpoint(); got != tt.want {
			t.Errorf("BaseURL %q: Endpoint() = %q, want %q", tt.base, got, tt.want)
		}
	}
	src, err := NewSource(Config{Credentials: testCreds, Locations: "-122.75,36.8,-121.75,37.8"})
	if err != nil {
		t.Fatal(err)
	}
	if src.cfg.StallTimeout != 90*time.Second || src.cfg.MaxLineBytes != 1<<20 || src.Name() != "twitter" || src.log == nil || !src.ownsClient {
		t.Errorf("defaults: stall %v, max %d, name %q, logger %v, own client %v",
			src.cfg.StallTimeout, src.cfg.MaxLineBytes, src.Name(), src.log, src.ownsClient)
	}
	if src.base.Timeout != 0 {
		t.Errorf("default client has an overall Timeout %v: it would cut streams", src.base.Timeout)
	}
	tr := src.base.Transport.(*http.Transport)
	if tr.ResponseHeaderTimeout == 0 || tr.TLSHandshakeTimeout == 0 || tr.DialContext == nil {
		t.Errorf("default transport lacks timeouts: %+v", tr)
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	t.Parallel()
	cfg := Config{Credentials: testCreds, Track: []string{"python"}}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg, "creds", cfg.Credentials)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "creds", cfg.Credentials)
	out := fmt.Sprintf("%v %+v %#v %s %v", cfg, cfg, cfg, cfg.Credentials, &cfg.Credentials) + logs.String()
	for _, secret := range allCreds() {
		if strings.Contains(out, secret) {
			t.Errorf("printing a Config reveals %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "ConsumerSecret:set") {
		t.Errorf("String should say which credentials are set: %s", out)
	}
	env := map[string]string{EnvConsumerKey: "a", EnvConsumerSecret: "b", EnvAccessToken: "c", EnvAccessSecret: "d"}
	if got := CredentialsFromEnv(func(k string) string { return env[k] }); got != (Credentials{"a", "b", "c", "d"}) {
		t.Errorf("CredentialsFromEnv = %#v", got.ConsumerKey+got.ConsumerSecret+got.AccessToken+got.AccessSecret)
	}
}

// The request is a signed, form-encoded POST with every filter parameter;
// the signature covers the form body.
func TestRequestIsSignedFormPOST(t *testing.T) {
	t.Parallel()
	for _, delimited := range []bool{false, true} {
		t.Run(fmt.Sprint("delimited=", delimited), func(t *testing.T) {
			t.Parallel()
			body := serve(statusLine("1"))
			if delimited {
				body = serveDelimited(statusLine("1"))
			}
			srv := newScriptServer(t, body)
			h := newHarness(t, srv.URL+"/", func(c *Config) {
				c.Track = []string{"python, golang generics", "café"}
				c.Follow = []string{"12", " 783214 "}
				c.Locations = "-122.75,36.8,-121.75,37.8"
				c.Language = []string{"en", "fr"}
				c.Delimited = delimited
			})
			events, err := h.run(t, sourcetest.AfterStatuses(1))
			if !errors.Is(err, sourcetest.ErrStop) {
				t.Fatalf("Run = %v, want the emit error returned as is", err)
			}
			if len(events) != 1 || events[0].Status.ID != "1" {
				t.Fatalf("events = %+v", events)
			}
			if srv.requests() != 1 {
				t.Fatalf("%d requests, want 1", srv.requests())
			}
			r, form := srv.reqs[0], srv.forms[0]
			if r.Method != http.MethodPost || r.URL.Path != "/1.1/statuses/filter.json" || r.URL.RawQuery != "" {
				t.Errorf("request %s %s", r.Method, r.URL)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type %q", ct)
			}
			got, err := url.ParseQuery(form)
			if err != nil {
				t.Fatal(err)
			}
			want := url.Values{
				"track":          {"python,golang generics,café"},
				"follow":         {"12,783214"},
				"locations":      {"-122.75,36.8,-121.75,37.8"},
				"language":       {"en,fr"},
				"stall_warnings": {"true"},
			}
			if delimited {
				want.Set("delimited", "length")
			}
			if got.Encode() != want.Encode() {
				t.Errorf("form\n got %v\nwant %v", got, want)
			}
			if err := verifyOAuth1(r, form, testCreds.ConsumerSecret, testCreds.AccessSecret); err != nil {
				t.Errorf("signature: %v", err)
			}
			// The verifier is not a rubber stamp.
			if err := verifyOAuth1(r, form, testCreds.ConsumerSecret, "wrong"); err == nil {
				t.Error("signature verified with a wrong secret")
			}
			if err := verifyOAuth1(r, "track=other", testCreds.ConsumerSecret, testCreds.AccessSecret); err == nil {
				t.Error("signature verified over a different body: the body is not signed")
			}
		})
	}
}

// Every message kind: statuses are emitted, and so are control events, in
// order; ignored, unknown and malformed messages are logged and skipped.
// Each message is decoded exactly once.
func TestEveryMessageKind(t *testing.T) {
	t.Parallel()
	malformed := `{"id_str":"9","text":"` + strings.Repeat("m", 300)
	srv := newScriptServer(t, serve(
		"",
		statusLine("1"),
		`{"delete":{"status":{"id":1,"id_str":"1","user_id":42,"user_id_str":"42"}}}`,
		`{"limit":{"track":1234}}`,
		`{"scrub_geo":{"user_id":42,"up_to_status_id":1}}`,
		`{"something_new":{"x":1}}`,
		malformed,
		"",
		`{"warning":{"code":"FALLING_BEHIND","message":"Your connection is falling behind","percent_full":60}}`,
		statusLine("2"),
		`{"disconnect":{"code":7,"stream_name":"gopher-statuses","reason":"admin logout"}}`,
	))
	h := newHarness(t, srv.URL)
	var decodes atomic.Int32
	h.src.decode = func(b []byte) (stream.Event, error) {
		decodes.Add(1)
		return Decode(b)
	}
	events, err := h.run(t, func(evs []stream.Event) bool { return len(evs) == 6 })
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind.String())
	}
	if want := []string{"status", "delete", "limit", "warning", "status", "disconnect"}; !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	if events[1].Delete.StatusID != "1" || events[2].Limit.Track != 1234 || events[3].Warning.PercentFull != 60 ||
		events[5].Disconnect.Code != 7 || events[0].Status.Author.ScreenName != "gopher" {
		t.Errorf("event fields: %+v", events)
	}
	if n := decodes.Load(); n != 9 {
		t.Errorf("%d decodes for 9 messages: decode each message exactly once", n)
	}

	checks := []struct {
		msg, level string
		attrs      map[string]any
	}{
		{"limit notice", "INFO", map[string]any{"track": 1234.0}},
		{"disconnecting", "WARN", map[string]any{"code": 7.0, "reason": "admin logout"}},
		{"stream warning", "WARN", map[string]any{"code": "FALLING_BEHIND", "percent_full": 60.0}},
		{"ignoring message", "DEBUG", nil},
		{"unknown message", "WARN", map[string]any{"prefix": `{"something_new":{"x":1}}`}},
		{"malformed message", "WARN", map[string]any{"bytes": float64(len(malformed)), "prefix": malformed[:120]}},
	}
	for _, c := range checks {
		recs := h.logs.Records(t, c.msg)
		if len(recs) != 1 {
			t.Errorf("%d log records %q, want 1", len(recs), c.msg)
			continue
		}
		if recs[0]["level"] != c.level {
			t.Errorf("%q logged at %v, want %s", c.msg, recs[0]["level"], c.level)
		}
		for k, v := range c.attrs {
			if recs[0][k] != v {
				t.Errorf("%q: %s = %v, want %v", c.msg, k, recs[0][k], v)
			}
		}
	}
}

// The reconnect schedule is Twitter's, for every kind of failure; the
// recorded delays are exact.
func TestReconnectSchedule(t *testing.T) {
	t.Parallel()
	ok := serve(statusLine("1"))
	rep := func(n int, s step) []step { return slices.Repeat([]step{s}, n) }
	var linear []time.Duration
	for i := 1; i <= 66; i++ {
		linear = append(linear, min(time.Duration(i)*250*time.Millisecond, 16*time.Second))
	}
	tests := []struct {
		name  string
		steps []step
		stop  int // statuses to receive
		want  []time.Duration
	}{
		{"503,503,420 then success", []step{code(503, "over capacity"), code(503, ""), code(420, "calm"), ok}, 1,
			[]time.Duration{5 * time.Second, 10 * time.Second, time.Minute}},
		{"HTTP errors double up to 320s and beyond 15 minutes", append(rep(12, code(500, "oops")), ok), 1,
			[]time.Duration{5 * sec, 10 * sec, 20 * sec, 40 * sec, 80 * sec, 160 * sec, 320 * sec, 320 * sec, 320 * sec, 320 * sec, 320 * sec, 320 * sec}},
		{"other retryable codes", []step{code(400, ""), code(502, ""), code(504, ""), code(204, ""), ok}, 1,
			[]time.Duration{5 * sec, 10 * sec, 20 * sec, 40 * sec}},
		{"429 doubles from 60s to 16 minutes", append(rep(7, code(429, "Too Many Requests")), ok), 1,
			[]time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 16 * time.Minute, 16 * time.Minute}},
		{"TCP errors are linear to 16s", append(rep(66, hangup), ok), 1, linear},
		{"an established stream that drops reconnects at once", []step{ok, ok, ok}, 3, []time.Duration{0, 0}},
		{"accept-and-close is not a hot loop", []step{serve(), serve(), serveRaw("\r\n\r\n"), ok}, 1,
			[]time.Duration{250 * msec, 500 * msec, 750 * msec}},
		{"data resets the counters", []step{code(503, ""), code(503, ""), hangup, ok, code(503, ""), hangup, ok}, 2,
			[]time.Duration{5 * sec, 10 * sec, 250 * msec, 0, 5 * sec, 250 * msec}},
		{"a disconnect message then close: at once", []step{serve(statusLine("1"), `{"disconnect":{"code":1,"reason":"Shutdown"}}`), ok}, 2,
			[]time.Duration{0}},
		{"a skipped giant line is not data", []step{serve(`{"x":"` + strings.Repeat("g", 5000) + `"}`), ok}, 1, []time.Duration{250 * msec}},
		{"a 200 of garbage is not data", []step{serve("<html>", "captive portal", "</html>"), serve("<html>"), ok}, 1,
			[]time.Duration{250 * msec, 500 * msec}},
		{"an unknown message is data", []step{serve(`{"novel":1}`), ok}, 1, []time.Duration{0}},
		{"malformed delimited framing", []step{serveRaw("abc\r\n"), serveDelimited(statusLine("1"))}, 1, []time.Duration{250 * msec}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScriptServer(t, tt.steps...)
			h := newHarness(t, srv.URL, func(c *Config) {
				c.MaxLineBytes = 1000
				c.Delimited = strings.HasSuffix(tt.name, "delimited framing")
			})
			_, err := h.run(t, sourcetest.AfterStatuses(tt.stop))
			if !errors.Is(err, sourcetest.ErrStop) {
				t.Fatalf("Run = %v", err)
			}
			if got := h.sleeps.Delays(); !slices.Equal(got, tt.want) {
				t.Errorf("delays\n got %v\nwant %v", got, tt.want)
			}
			if got, want := srv.requests(), len(tt.want)+1; got != want {
				t.Errorf("%d requests, want %d", got, want)
			}
			// Every reconnect is logged with its reason and delay.
			if recs := h.logs.Records(t, "reconnecting"); len(recs) != len(tt.want) {
				t.Errorf("%d reconnect log records, want %d", len(recs), len(tt.want))
			} else {
				for i, rec := range recs {
					if rec["delay"] != float64(tt.want[i]) || rec["reason"] == nil {
						t.Errorf("reconnect log %d: %v", i, rec)
					}
				}
			}
		})
	}
}

// go-twitter ended the stream on a network error; we retry until ctx ends,
// and a cancelled ctx makes Run return nil.
func TestNetworkErrorsRetryUntilCancelled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens: every dial is refused
	h := newHarness(t, base)
	h.sleeps.Limit = 5
	if _, err := h.run(t, nil); err != nil {
		t.Fatalf("Run = %v, want nil after ctx was cancelled", err)
	}
	want := []time.Duration{250 * msec, 500 * msec, 750 * msec, time.Second, 1250 * msec}
	if got := h.sleeps.Delays(); !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	recs := h.logs.Records(t, "reconnecting")
	if len(recs) != 5 || recs[0]["level"] != "WARN" || recs[0]["reason"] != "network" || !strings.Contains(fmt.Sprint(recs[0]["err"]), "refused") {
		t.Errorf("reconnect logs: %v", recs)
	}
}

// 401, 403 and the other codes retrying cannot fix end Run at once with a
// *stream.PermanentError that says what to do (go-twitter stopped silently).
func TestPermanentStatuses(t *testing.T) {
	t.Parallel()
	long := `{"errors":[{"code":87,"message":"Please use V2 filtered stream. ` + strings.Repeat("blah ", 100) + `"}]}`
	tests := []struct {
		code int
		body string
		want []string
	}{
		{401, `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`, []string{
			"twitter: the stream rejected the credentials (HTTP 401 Unauthorized): check TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN and TWITTER_ACCESS_SECRET",
			"Could not authenticate you."}},
		{403, long, []string{"HTTP 403 Forbidden", "access level", "retired", "2023", "Please use V2 filtered stream."}},
		{404, "Not Found", []string{"HTTP 404", "TWITTER_STREAM_URL"}},
		{406, "Parameter track item index 0 too long", []string{"HTTP 406", "filter", "too long"}},
		{413, "", []string{"HTTP 413", "400 track phrases"}},
		{416, "", []string{"HTTP 416"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			t.Parallel()
			srv := newScriptServer(t, code(tt.code, tt.body))
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
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.code || len(se.ServerMessage) > serverMessageBytes {
				t.Errorf("StatusError = %+v", se)
			}
			if srv.requests() != 1 || len(h.sleeps.Delays()) != 0 {
				t.Errorf("%d requests, sleeps %v: a permanent failure must not be retried", srv.requests(), h.sleeps.Delays())
			}
		})
	}
}

// bodyCounter wraps a transport and counts Close calls on each response body.
type bodyCounter struct {
	base   http.RoundTripper
	mu     sync.Mutex
	bodies []*countedBody
}

type countedBody struct {
	io.ReadCloser
	closes atomic.Int32
}

func (b *countedBody) Close() error {
	b.closes.Add(1)
	return b.ReadCloser.Close()
}

func (c *bodyCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	cb := &countedBody{ReadCloser: resp.Body}
	c.mu.Lock()
	c.bodies = append(c.bodies, cb)
	c.mu.Unlock()
	resp.Body = cb
	return resp, nil
}

func (c *bodyCounter) assertEachClosedOnce(t *testing.T, wantBodies int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bodies) != wantBodies {
		t.Errorf("%d responses, want %d", len(c.bodies), wantBodies)
	}
	for i, b := range c.bodies {
		if n := b.closes.Load(); n != 1 {
			t.Errorf("response %d: body closed %d times, want exactly once", i, n)
		}
	}
}

// A connection that goes silent after a status is closed when the stall
// timer fires and reopened with the TCP back-off; each body is closed
// exactly once. (go-twitter had no stall detection.)
func TestStallReconnects(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t)
	srv.steps = []step{hangAfter(srv.done, statusLine("1")), serve(statusLine("2"))}
	timers := sourcetest.NewTimers()
	counter := &bodyCounter{base: http.DefaultTransport}
	h := newHarness(t, srv.URL, func(c *Config) {
		c.StallTimeout = 42 * time.Second
		c.afterFunc = timers.AfterFunc
		c.HTTPClient = &http.Client{Transport: counter}
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	h.sleeps.SetCancel(cancel)
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
	if ev := <-events; ev.Kind != stream.KindStatus || ev.Status.ID != "2" {
		t.Fatalf("after the stall: %+v", ev)
	}
	if got, want := h.sleeps.Delays(), []time.Duration{250 * msec}; !slices.Equal(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
	counter.assertEachClosedOnce(t, 2)
	for _, d := range timers.Delays() {
		if d != 42*time.Second {
			t.Errorf("watchdog armed for %v, want StallTimeout", d)
		}
	}
	if recs := h.logs.Records(t, "reconnecting"); len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["err"]), "stalled") {
		t.Errorf("stall not logged: %v", recs)
	}
}

// Time spent in emit (backpressure) is not a stall: the watchdog runs only
// while the reader waits for the network.
func TestSlowEmitIsNotAStall(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t, serve(statusLine("1"), statusLine("2")))
	timers := sourcetest.NewTimers()
	h := newHarness(t, srv.URL, func(c *Config) { c.afterFunc = timers.AfterFunc })
	_, err := h.run(t, func(evs []stream.Event) bool {
		if timers.Armed() {
			t.Error("the stall timer runs while emit blocks")
		}
		return len(evs) == 2
	})
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if delays := timers.Delays(); len(delays) == 0 || delays[0] != DefaultStallTimeout {
		t.Errorf("watchdog armed for %v, want the default %v", delays, DefaultStallTimeout)
	}
}

// The real timer path: a server that never sends response headers is
// abandoned after StallTimeout, even through a client without timeouts.
func TestStallBeforeHeadersRealTimer(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t)
	srv.steps = []step{
		func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-srv.done:
			}
		},
		serve(statusLine("1")),
	}
	h := newHarness(t, srv.URL, func(c *Config) {
		// Long enough that a loaded machine answers the second request in
		// time; the first never answers.
		c.StallTimeout = time.Second
		c.HTTPClient = &http.Client{} // http.DefaultTransport: no response-header timeout
	})
	events, err := h.run(t, sourcetest.AfterStatuses(1))
	if !errors.Is(err, sourcetest.ErrStop) || len(events) != 1 {
		t.Fatalf("Run = %v, events %v", err, events)
	}
	got := h.sleeps.Delays()
	if len(got) == 0 || got[0] != 250*msec {
		t.Errorf("delays %v, want the TCP back-off starting at 250ms", got)
	}
	if recs := h.logs.Records(t, "reconnecting"); len(recs) == 0 || recs[0]["reason"] != "network" || !strings.Contains(fmt.Sprint(recs[0]["err"]), "no response within 1s") {
		t.Errorf("reconnect logs %v", recs)
	}
}

// A message that arrived whole is emitted even when the connection drops
// right after it, without its "\r\n"; a truncated one is dropped.
func TestLastMessageBeforeDrop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"complete but unterminated", statusLine("1") + "\r\n" + statusLine("2"), []string{"1", "2", "3"}},
		{"truncated", statusLine("1") + "\r\n" + statusLine("2")[:30], []string{"1", "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScriptServer(t, serveRaw(tt.body), serve(statusLine("3")))
			h := newHarness(t, srv.URL)
			events, err := h.run(t, func(evs []stream.Event) bool { return evs[len(evs)-1].Status.ID == "3" })
			if !errors.Is(err, sourcetest.ErrStop) {
				t.Fatalf("Run = %v", err)
			}
			var ids []string
			for _, e := range events {
				ids = append(ids, e.Status.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("ids %v, want %v", ids, tt.want)
			}
			if got := h.sleeps.Delays(); !slices.Equal(got, []time.Duration{0}) {
				t.Errorf("delays %v, want [0]", got)
			}
		})
	}
}

func TestGiantLineIsSkipped(t *testing.T) {
	t.Parallel()
	giant := `{"id_str":"9","text":"` + strings.Repeat("x", 2<<20) + `"}`
	srv := newScriptServer(t, serve(statusLine("1"), giant, statusLine("2")))
	h := newHarness(t, srv.URL)
	events, err := h.run(t, sourcetest.AfterStatuses(2))
	if !errors.Is(err, sourcetest.ErrStop) || events[0].Status.ID != "1" || events[1].Status.ID != "2" {
		t.Fatalf("Run = %v, events %+v", err, events)
	}
	recs := h.logs.Records(t, "oversized")
	if len(recs) != 1 || recs[0]["bytes"] != float64(len(giant)) || recs[0]["level"] != "WARN" {
		t.Errorf("oversized log records %v", recs)
	}
	if len(h.sleeps.Delays()) != 0 {
		t.Errorf("a giant line must not cost a reconnect: %v", h.sleeps.Delays())
	}
}

// A cancelled ctx ends Run with nil promptly wherever Run waits.
func TestCancelReturnsNil(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		step func(done <-chan struct{}) step
	}{
		{"during the back-off", func(<-chan struct{}) step { return code(503, "") }},
		{"waiting for headers", func(done <-chan struct{}) step {
			return func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-done:
				}
			}
		}},
		{"reading the stream", func(done <-chan struct{}) step { return hangAfter(done, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScriptServer(t)
			srv.steps = []step{tt.step(srv.done)}
			h := newHarness(t, srv.URL, func(c *Config) {
				c.Sleep = nil // the real timer
				c.Backoff = Backoff{HTTPInitial: time.Hour}
			})
			ctx, cancel := context.WithCancel(t.Context())
			done := sourcetest.Start(ctx, h.src, func(stream.Event) error { return nil })
			<-srv.received
			cancel()
			if err := sourcetest.Wait(t, done); err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		})
	}
}

// emit's error ends Run and comes back unchanged, also mid-stream.
func TestEmitErrorStopsRun(t *testing.T) {
	t.Parallel()
	srv := newScriptServer(t)
	srv.steps = []step{hangAfter(srv.done, statusLine("1"), statusLine("2"))}
	h := newHarness(t, srv.URL)
	boom := errors.New("queue full")
	err := h.src.Run(t.Context(), func(stream.Event) error { return boom })
	if err != boom {
		t.Errorf("Run = %v, want emit's error", err)
	}
}

// No secret reaches a log line or an error, even when the server echoes
// them back in error bodies and messages.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	secrets := strings.Join(allCreds(), " ")
	echo := func(status int) step {
		return func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"errors":[{"message":"bad `+secrets+` `+r.Header.Get("Authorization")+`"}]}`, status)
		}
	}
	srv := newScriptServer(t,
		echo(503),
		echo(429),
		hangup,
		serve(
			`{"id_str":"1","text":"`+secrets,
			`{"novel":"`+secrets+`"}`,
			`{"disconnect":{"code":2,"reason":"`+secrets+`"}}`,
			`{"warning":{"code":"X","message":"`+secrets+`"}}`,
			statusLine("1"),
		),
		echo(403),
	)
	h := newHarness(t, srv.URL)
	_, err := h.run(t, nil)
	if !errors.Is(err, stream.ErrPermanent) {
		t.Fatalf("Run = %v, want the 403", err)
	}
	out := h.logs.String() + "\n" + err.Error() + fmt.Sprintf("%+v %#v", err, err) +
		fmt.Sprintf("%v %+v %#v", h.src, h.src, h.src) // a Source printed by a caller
	for _, secret := range allCreds() {
		if strings.Contains(out, secret) {
			t.Errorf("%q leaked:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "[REDACTED]") || len(h.sleeps.Delays()) != 4 {
		t.Errorf("the scenario did not run as planned: delays %v\n%s", h.sleeps.Delays(), out)
	}
}

// Hundreds of reconnects leak no goroutine, connection or body: a server
// that closes after one status, 300 times over.
func TestReconnectsLeakNothing(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	noLeak := sourcetest.LeakCheck(t)
	srv := newScriptServer(t, serve(statusLine("1")))
	h := newHarness(t, srv.URL, func(c *Config) { c.Logger = nil })
	events, err := h.run(t, sourcetest.AfterStatuses(300))
	if !errors.Is(err, sourcetest.ErrStop) || len(events) != 300 {
		t.Fatalf("Run = %v after %d events", err, len(events))
	}
	delays := h.sleeps.Delays()
	if len(delays) != 299 || slices.Max(delays) != 0 {
		t.Errorf("%d delays (max %v), want 299 immediate reconnects", len(delays), slices.Max(delays))
	}
	srv.Close()
	noLeak()
}

// A Sleep hook that fails while ctx is live ends Run with its error rather
// than spinning or stopping silently.
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
