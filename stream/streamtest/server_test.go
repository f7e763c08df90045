package streamtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dghubble/oauth1"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// testTimeout bounds every request of a test, so a hang fails instead of
// blocking the run.
const testTimeout = 20 * time.Second

// everything is a locations parameter that, not being applied, lets every
// message through: fault tests count content messages without filtering.
const everything = "-180,-90,180,90"

// oauthClient returns oauth1's own client for creds. (Its ctx only carries
// the base client; requests end with their own context.)
func oauthClient(ctx context.Context, creds Credentials) *http.Client {
	return oauth1.NewConfig(creds.ConsumerKey, creds.ConsumerSecret).Client(ctx, oauth1.NewToken(creds.AccessToken, creds.AccessSecret))
}

// get opens a stream with a GET signed with the demo credentials.
func get(t *testing.T, ts *httptest.Server, params url.Values) *http.Response {
	t.Helper()
	ctx := testContext(t)
	return do(ctx, t, oauthClient(ctx, DemoCredentials()), http.MethodGet, ts.URL, params)
}

// do sends a request that ends with ctx, with params in the query (GET) or
// a form body (POST).
func do(ctx context.Context, t *testing.T, client *http.Client, method, base string, params url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	target := base + FilterPath
	if method == http.MethodPost {
		body = strings.NewReader(params.Encode())
	} else {
		target += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, FilterPath, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// testContext returns a context that ends with the test or after testTimeout.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// msgReader reads a stream the way a client must: messages end with "\r\n",
// with delimited=length each is preceded by its length and "\r\n", and a
// bare "\r\n" is a keep-alive.
type msgReader struct {
	t         *testing.T
	br        *bufio.Reader
	delimited bool
}

func newReader(t *testing.T, resp *http.Response) *msgReader {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, want 200; body %s", resp.StatusCode, b)
	}
	q := resp.Request.URL.Query()
	return &msgReader{t: t, br: bufio.NewReader(resp.Body), delimited: q.Get("delimited") == "length"}
}

// next returns the next message without its framing; a keep-alive is an
// empty, non-nil slice.
func (r *msgReader) next() ([]byte, error) {
	line, err := r.br.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(line, []byte("\r\n")) {
		return nil, errors.New("line does not end with \\r\\n: " + string(line))
	}
	line = line[:len(line)-2]
	if !r.delimited || len(line) == 0 {
		return line, nil
	}
	n, err := strconv.Atoi(string(line))
	if err != nil {
		return nil, errors.New("bad length prefix " + strconv.Quote(string(line)))
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r.br, msg); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		return nil, errors.New("length-delimited message does not end with \\r\\n")
	}
	return msg[:n-2], nil
}

// message returns the next message, skipping keep-alives; it fails the test
// on error.
func (r *msgReader) message() []byte {
	r.t.Helper()
	for {
		m, err := r.next()
		if err != nil {
			r.t.Fatalf("reading the stream: %v", err)
		}
		if len(m) > 0 {
			return m
		}
	}
}

// messages returns the next n messages.
func (r *msgReader) messages(n int) [][]byte {
	r.t.Helper()
	out := make([][]byte, n)
	for i := range out {
		out[i] = r.message()
	}
	return out
}

// keepAlive fails unless the next thing on the stream is a keep-alive.
func (r *msgReader) keepAlive() {
	r.t.Helper()
	m, err := r.next()
	if err != nil {
		r.t.Fatalf("reading the stream: %v", err)
	}
	if len(m) != 0 {
		r.t.Fatalf("got a message where a keep-alive was due: %.120s", m)
	}
}

// eof fails unless the server ended the stream.
func (r *msgReader) eof() {
	r.t.Helper()
	for {
		m, err := r.next()
		if err == io.EOF {
			return
		}
		if err != nil {
			r.t.Fatalf("stream ended with %v, want a clean end", err)
		}
		if len(m) > 0 {
			r.t.Fatalf("got a message after the stream should have ended: %.120s", m)
		}
	}
}

// decode decodes a message as clients do, failing the test on error.
func decode(t *testing.T, msg []byte) stream.Event {
	t.Helper()
	ev, err := twitter.Decode(msg)
	if err != nil {
		t.Fatalf("decode %.120s: %v", msg, err)
	}
	return ev
}

func newServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	return NewTestServer(t, cfg)
}

// errorBody decodes a Twitter-style error body.
func errorBody(t *testing.T, resp *http.Response) (code int, message string, raw string) {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Errors []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &body); err != nil || len(body.Errors) != 1 {
		t.Fatalf("error body %q: want {\"errors\":[{...}]} (%v)", b, err)
	}
	return body.Errors[0].Code, body.Errors[0].Message, string(b)
}

// rewriteHost sends requests signed for another host to target, cloning
// them first as a RoundTripper must.
type rewriteHost struct{ target *url.URL }

func (rt rewriteHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = rt.target.Scheme, rt.target.Host, ""
	return http.DefaultTransport.RoundTrip(r)
}

// TestAuth runs oauth1's real client against the server: signatures over
// the query, a form body and the canonical host verify; wrong secrets and
// unsigned requests get 401 without a secret in the answer.
func TestAuth(t *testing.T) {
	t.Parallel()
	creds := Credentials{ConsumerKey: "ck", ConsumerSecret: "consumer-secret-1", AccessToken: "at", AccessSecret: "access-secret-2"}
	srv, ts := newServer(t, Config{Credentials: creds, KeepAlive: -1})
	target, _ := url.Parse(ts.URL)
	params := url.Values{"track": {"python, go lang"}, "language": {"en"}}

	tests := []struct {
		name     string
		client   func(ctx context.Context) *http.Client
		method   string
		base     string
		verified bool
	}{
		{"GET query", func(ctx context.Context) *http.Client { return oauthClient(ctx, creds) }, http.MethodGet, ts.URL, true},
		{"POST form", func(ctx context.Context) *http.Client { return oauthClient(ctx, creds) }, http.MethodPost, ts.URL, true},
		{"signed for stream.twitter.com, sent here", func(ctx context.Context) *http.Client {
			ctx = context.WithValue(ctx, oauth1.HTTPClient, &http.Client{Transport: rewriteHost{target}})
			return oauthClient(ctx, creds)
		}, http.MethodPost, "https://stream.twitter.com", true},
		{"wrong consumer secret", func(ctx context.Context) *http.Client {
			c := creds
			c.ConsumerSecret = "guess"
			return oauthClient(ctx, c)
		}, http.MethodGet, ts.URL, false},
		{"wrong access secret", func(ctx context.Context) *http.Client {
			c := creds
			c.AccessSecret = "guess"
			return oauthClient(ctx, c)
		}, http.MethodPost, ts.URL, false},
		{"demo credentials", func(ctx context.Context) *http.Client { return oauthClient(ctx, DemoCredentials()) }, http.MethodGet, ts.URL, false},
		{"unsigned", func(context.Context) *http.Client { return ts.Client() }, http.MethodGet, ts.URL, false},
	}
	for _, tt := range tests { // sequential: each checks the newest record
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Connections()
			ctx := testContext(t)
			resp := do(ctx, t, tt.client(ctx), tt.method, tt.base, params)
			if got := srv.Connections(); got != before+1 {
				t.Fatalf("Connections() = %d, want %d: the server was not called", got, before+1)
			}
			reqs := srv.Requests()
			rec := reqs[len(reqs)-1]
			if rec.Verified != tt.verified || rec.Method != tt.method || rec.Params.Get("track") != "python, go lang" {
				t.Fatalf("record = %+v, want verified=%v method %s with the track parameter", rec, tt.verified, tt.method)
			}
			if tt.verified {
				if resp.StatusCode != http.StatusOK || rec.Status != http.StatusOK {
					t.Fatalf("status %d (recorded %d), want 200", resp.StatusCode, rec.Status)
				}
				newReader(t, resp).message()
				return
			}
			if resp.StatusCode != http.StatusUnauthorized || rec.Status != http.StatusUnauthorized || rec.AuthError == "" {
				t.Fatalf("status %d, record %+v: want 401 with a reason", resp.StatusCode, rec)
			}
			code, msg, raw := errorBody(t, resp)
			if code != 32 || msg != "Could not authenticate you." {
				t.Errorf("error body %s, want code 32", raw)
			}
			for _, secret := range []string{creds.ConsumerSecret, creds.AccessSecret, "guess", DemoConsumerSecret, DemoAccessSecret} {
				if strings.Contains(raw, secret) || strings.Contains(rec.AuthError, secret) {
					t.Errorf("a secret leaks into the answer %s or the record %q", raw, rec.AuthError)
				}
			}
		})
	}
}

// TestParameters checks Twitter's parameter validation: 406 without a
// filter parameter or with an invalid one, booleans as clients send them.
func TestParameters(t *testing.T) {
	t.Parallel()
	_, ts := newServer(t, Config{KeepAlive: -1})
	long := strings.Repeat("x", 61)
	tests := []struct {
		name   string
		params url.Values
		status int
		msg    string // substring of the error message
	}{
		{"no parameters", url.Values{}, 406, "No filter parameters found. Expect at least one parameter: follow track locations"},
		{"language alone", url.Values{"language": {"en"}}, 406, "No filter parameters found"},
		{"empty track", url.Values{"track": {" , "}, "stall_warnings": {"true"}}, 406, "No filter parameters found"},
		{"phrase over 60 bytes", url.Values{"track": {"python," + long}}, 406, "Parameter track item index 1 too long: " + long},
		{"phrase of 60 bytes", url.Values{"track": {long[:60]}}, 200, ""},
		{"follow not an ID", url.Values{"follow": {"12,abc"}}, 406, "follow item index 1"},
		{"locations odd", url.Values{"locations": {"1,2,3"}}, 406, "locations"},
		{"locations alone", url.Values{"locations": {everything}}, 200, ""},
		{"follow alone", url.Values{"follow": {"15092233"}}, 200, ""},
		{"stall_warnings True", url.Values{"track": {"python"}, "stall_warnings": {"True"}}, 200, ""},
		{"stall_warnings 1", url.Values{"track": {"python"}, "stall_warnings": {"1"}}, 200, ""},
		{"stall_warnings t", url.Values{"track": {"python"}, "stall_warnings": {"t"}}, 200, ""},
		{"stall_warnings FALSE", url.Values{"track": {"python"}, "stall_warnings": {"FALSE"}}, 200, ""},
		{"stall_warnings yes", url.Values{"track": {"python"}, "stall_warnings": {"yes"}}, 406, "stall_warnings"},
		{"delimited other", url.Values{"track": {"python"}, "delimited": {"newline"}}, 406, "delimited"},
		{"unknown parameters ignored", url.Values{"track": {"python"}, "filter_level": {"low"}, "x": {"y"}}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := get(t, ts, tt.params)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 200 {
				return
			}
			if _, msg, raw := errorBody(t, resp); !strings.Contains(msg, tt.msg) {
				t.Fatalf("error body %s, want a message containing %q", raw, tt.msg)
			}
		})
	}
}

// TestFilter checks that track, follow and language are applied server-side
// with the bot's semantics (package track and the v1.1 decoder) on the
// corpus: track/follow with OR, language with AND, control messages always.
func TestFilter(t *testing.T) {
	t.Parallel()
	corpus := mock.Corpus()
	tests := []struct {
		name     string
		params   url.Values
		want     func(s *stream.Status) bool
		wantIDs  []string // statuses that must pass
		skipIDs  []string // statuses that must not
		statuses int      // how many statuses pass, when known by hand
	}{
		{
			name:    "track",
			params:  url.Values{"track": {"python"}},
			want:    track.MustCompile("python").Match,
			wantIDs: []string{"1503732764107793684", "1503732821596586619"}, // Python 3.10 migration; @python
			skipIDs: []string{"1503732872585413595", "1503733106565119768"}, // JavaScript; TypeScript
		},
		{
			name:     "follow",
			params:   url.Values{"follow": {"15092233"}},
			want:     func(s *stream.Status) bool { return s.Author.ID == "15092233" },
			wantIDs:  []string{"1503732849353255880", "1503733014860073666"},
			statuses: 2,
		},
		{
			name:   "track or follow",
			params: url.Values{"track": {"python"}, "follow": {"2987654321"}},
			want: func(s *stream.Status) bool {
				return track.MustCompile("python").Match(s) || s.Author.ID == "2987654321"
			},
			wantIDs: []string{"1503732764107793684", "1503732872585413595"},
		},
		{
			name:   "track and language",
			params: url.Values{"track": {"python"}, "language": {"es,de"}},
			want: func(s *stream.Status) bool {
				return track.MustCompile("python").Match(s) && (s.Lang == "es" || s.Lang == "de")
			},
			wantIDs:  []string{"1503732910758874052", "1503732954513894257"},
			skipIDs:  []string{"1503732764107793684", "1503733090626876727"}, // English; Spanish without python
			statuses: 2,
		},
		{
			name:    "locations alone passes everything",
			params:  url.Values{"locations": {everything}, "language": {"JA"}},
			want:    func(s *stream.Status) bool { return s.Lang == "ja" },
			wantIDs: []string{"1503732934924877338", "1503733106565119768"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want []string // the expected messages, in order, as text
			statuses := 0
			for _, line := range corpus {
				ev := decode(t, line)
				if ev.Kind != stream.KindStatus || tt.want(ev.Status) {
					want = append(want, string(line))
					if ev.Kind == stream.KindStatus {
						statuses++
					}
				}
			}
			if tt.statuses != 0 && statuses != tt.statuses {
				t.Fatalf("the test's own filter passes %d statuses, want %d", statuses, tt.statuses)
			}
			_, ts := newServer(t, Config{Once: true, KeepAlive: 20 * time.Millisecond})
			r := newReader(t, get(t, ts, tt.params))
			got := map[string]bool{}
			for i, w := range want {
				m := r.message()
				if string(m) != w {
					t.Fatalf("message %d = %.100s, want %.100s", i, m, w)
				}
				if ev := decode(t, m); ev.Kind == stream.KindStatus {
					got[ev.Status.ID] = true
				}
			}
			r.keepAlive() // and nothing more: the corpus is served once
			for _, id := range tt.wantIDs {
				if !got[id] {
					t.Errorf("status %s was filtered out", id)
				}
			}
			for _, id := range tt.skipIDs {
				if got[id] {
					t.Errorf("status %s passed the filter", id)
				}
			}
		})
	}
}

// TestFraming checks the wire format: 200, application/json, chunked,
// "\r\n" after every message, and delimited=length prefixes that count the
// message with its "\r\n".
func TestFraming(t *testing.T) {
	t.Parallel()
	corpus := mock.Corpus()
	for _, delimited := range []bool{false, true} {
		t.Run("delimited="+strconv.FormatBool(delimited), func(t *testing.T) {
			t.Parallel()
			_, ts := newServer(t, Config{KeepAlive: -1})
			params := url.Values{"locations": {everything}}
			if delimited {
				params.Set("delimited", "length")
			}
			resp := get(t, ts, params)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
				t.Errorf("Transfer-Encoding = %v, want chunked", resp.TransferEncoding)
			}
			br := bufio.NewReader(resp.Body)
			for i := range len(corpus) + 3 { // past the end: the corpus loops
				want := corpus[i%len(corpus)]
				if delimited {
					prefix, err := br.ReadString('\n')
					if err != nil {
						t.Fatal(err)
					}
					n, err := strconv.Atoi(strings.TrimSuffix(prefix, "\r\n"))
					if err != nil || !strings.HasSuffix(prefix, "\r\n") {
						t.Fatalf("message %d: length prefix %q", i, prefix)
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(br, msg); err != nil {
						t.Fatal(err)
					}
					if !bytes.HasSuffix(msg, []byte("\r\n")) || bytes.Count(msg, []byte("\r\n")) != 1 {
						t.Fatalf("message %d: %d bytes do not end with the only \\r\\n", i, n)
					}
					if i < len(corpus) && !bytes.Equal(msg[:n-2], want) {
						t.Fatalf("message %d differs from the corpus", i)
					}
					continue
				}
				line, err := br.ReadBytes('\n')
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasSuffix(line, []byte("\r\n")) {
					t.Fatalf("message %d does not end with \\r\\n", i)
				}
				if i < len(corpus) && !bytes.Equal(line[:len(line)-2], want) {
					t.Fatalf("message %d differs from the corpus", i)
				}
				if !json.Valid(line) {
					t.Fatalf("message %d is not JSON", i)
				}
			}
		})
	}
}

// TestLoopShiftsIDs checks that each loop of the content gets new status
// IDs, consistently in the message, and that Once stops after one pass.
func TestLoopShiftsIDs(t *testing.T) {
	t.Parallel()
	corpus := mock.Corpus()
	lines := [][]byte{corpus[0], corpus[18]} // a status and a delete of a corpus status
	first, del := decode(t, lines[0]), decode(t, lines[1])
	if first.Kind != stream.KindStatus || del.Kind != stream.KindDelete {
		t.Fatalf("corpus changed: want a status then a delete, got %v, %v", first.Kind, del.Kind)
	}
	_, ts := newServer(t, Config{Lines: lines, KeepAlive: -1})
	r := newReader(t, get(t, ts, url.Values{"locations": {everything}}))
	msgs := r.messages(6)
	seen := map[string]bool{}
	for loop := range 3 {
		st, d := decode(t, msgs[2*loop]), decode(t, msgs[2*loop+1])
		if seen[st.Status.ID] {
			t.Fatalf("loop %d repeats status ID %s", loop, st.Status.ID)
		}
		seen[st.Status.ID] = true
		if st.Status.Text != first.Status.Text || st.Status.Author != first.Status.Author {
			t.Fatalf("loop %d changed more than the IDs", loop)
		}
		if !bytes.Contains(msgs[2*loop], []byte(`"id_str":"`+st.Status.ID+`"`)) || !bytes.Contains(msgs[2*loop], []byte(`"id":`+st.Status.ID+`,`)) {
			t.Fatalf("loop %d: id and id_str disagree", loop)
		}
		if loop == 0 && (!bytes.Equal(msgs[0], lines[0]) || !bytes.Equal(msgs[1], lines[1])) {
			t.Fatal("the first loop is not sent as is")
		}
		if loop > 0 && d.Delete.StatusID == del.Delete.StatusID {
			t.Fatalf("loop %d: the delete still targets %s", loop, d.Delete.StatusID)
		}
	}

	_, ts = newServer(t, Config{Lines: lines, Once: true, KeepAlive: 10 * time.Millisecond})
	r = newReader(t, get(t, ts, url.Values{"locations": {everything}}))
	r.messages(2)
	r.keepAlive()
	r.keepAlive()
}

// TestKeepAlive checks that an idle stream gets a bare "\r\n" every
// KeepAlive, also with delimited=length.
func TestKeepAlive(t *testing.T) {
	t.Parallel()
	for _, delimited := range []string{"", "length"} {
		t.Run("delimited="+delimited, func(t *testing.T) {
			t.Parallel()
			_, ts := newServer(t, Config{Lines: mock.Corpus()[:1], Once: true, KeepAlive: 10 * time.Millisecond})
			params := url.Values{"track": {"python"}}
			if delimited != "" {
				params.Set("delimited", delimited)
			}
			resp := get(t, ts, params)
			br := bufio.NewReader(resp.Body)
			if _, err := br.ReadBytes('\n'); err != nil {
				t.Fatal(err)
			}
			if delimited != "" {
				if _, err := br.ReadBytes('\n'); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				line, err := br.ReadString('\n')
				if err != nil || line != "\r\n" {
					t.Fatalf("got %q, %v; want a keep-alive \\r\\n", line, err)
				}
			}
		})
	}
}

// TestDisconnectEvery checks that each stream ends after N messages, with
// or without a disconnect message first, and the next continues the
// content.
func TestDisconnectEvery(t *testing.T) {
	t.Parallel()
	corpus := mock.Corpus()
	for _, withMessage := range []bool{false, true} {
		t.Run("message="+strconv.FormatBool(withMessage), func(t *testing.T) {
			t.Parallel()
			srv, ts := newServer(t, Config{DisconnectEvery: 3, DisconnectMessage: withMessage, KeepAlive: -1})
			for conn := range 2 {
				r := newReader(t, get(t, ts, url.Values{"locations": {everything}}))
				for i, m := range r.messages(3) {
					if !bytes.Equal(m, corpus[3*conn+i]) {
						t.Fatalf("connection %d message %d is not corpus line %d", conn, i, 3*conn+i)
					}
				}
				if withMessage {
					ev := decode(t, r.message())
					if ev.Kind != stream.KindDisconnect || ev.Disconnect.Code != DisconnectCode || ev.Disconnect.StreamName == "" || ev.Disconnect.Reason == "" {
						t.Fatalf("got %+v, want a disconnect message with code %d", ev, DisconnectCode)
					}
				}
				r.eof()
			}
			if got := srv.Connections(); got != 2 {
				t.Fatalf("Connections() = %d, want 2", got)
			}
		})
	}
}

// readsNothing reports whether no byte arrives on br within d. It returns
// a function that, after the stream was ended, waits for the reader.
func readsNothing(br *bufio.Reader, d time.Duration) (quiet bool, wait func()) {
	got := make(chan error, 1)
	go func() {
		_, err := br.ReadByte()
		got <- err
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-got:
		return false, func() {}
	case <-timer.C:
		return true, func() { <-got }
	}
}

// TestStallAfter checks that a stream stops writing, keep-alives included,
// after N messages, stays open, and ends when the client goes away.
func TestStallAfter(t *testing.T) {
	t.Parallel()
	srv, err := NewServer(Config{StallAfter: 2, KeepAlive: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv) // closed by hand: shows the handler ends with the client
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	resp := do(ctx, t, oauthClient(ctx, DemoCredentials()), http.MethodGet, ts.URL, url.Values{"locations": {everything}})
	r := newReader(t, resp)
	r.messages(2)
	// Twenty keep-alive periods without a byte.
	quiet, wait := readsNothing(r.br, 100*time.Millisecond)
	if !quiet {
		t.Fatal("the stream wrote after StallAfter")
	}
	if got := srv.Active(); got != 1 {
		t.Fatalf("Active() = %d during the stall, want 1", got)
	}
	cancel() // the client goes away
	wait()
	closed := make(chan struct{})
	go func() { ts.Close(); close(closed) }() // waits for the handler to return
	select {
	case <-closed:
	case <-time.After(testTimeout):
		t.Fatal("the stalled handler did not end when the client went away")
	}
	if got := srv.Active(); got != 0 {
		t.Fatalf("Active() = %d after the client left, want 0", got)
	}
}

// TestCloseEndsStreams checks that Close ends stalled streams and streams
// whose client stopped reading, waits for their handlers, and answers 503
// afterwards.
func TestCloseEndsStreams(t *testing.T) {
	t.Parallel()
	srv, ts := newServer(t, Config{StallAfter: 1, KeepAlive: time.Hour})
	stalled := newReader(t, get(t, ts, url.Values{"locations": {everything}}))
	stalled.message()
	unread := get(t, ts, url.Values{"track": {"python"}}) // the server writes until the socket is full
	if got := srv.Active(); got != 2 {
		t.Fatalf("Active() = %d, want 2", got)
	}

	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(testTimeout):
		t.Fatal("Close did not return")
	}
	if got := srv.Active(); got != 0 {
		t.Fatalf("Active() = %d after Close, want 0", got)
	}
	stalled.eof() // a clean end of the chunked body
	if _, err := io.Copy(io.Discard, unread.Body); err != nil {
		t.Logf("the unread stream ended with %v", err) // cut off: its last write timed out
	}
	srv.Close() // idempotent

	resp := get(t, ts, url.Values{"track": {"python"}})
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Close: status %d, want 503", resp.StatusCode)
	}
}

// TestStatusCodes checks scripted answers for successive attempts, with
// Twitter's bodies, then normal streams.
func TestStatusCodes(t *testing.T) {
	t.Parallel()
	srv, ts := newServer(t, Config{StatusCodes: []int{503, 420, 429, 200, 401}, KeepAlive: -1})
	want := []struct {
		status int
		code   int
		msg    string
	}{
		{503, 130, "Over capacity"},
		{420, 88, "Exceeded connection limit for user"},
		{429, 88, "Exceeded connection limit for user"},
		{200, 0, ""},
		{401, 32, "Could not authenticate you."},
		{200, 0, ""},
		{200, 0, ""},
	}
	for i, w := range want {
		resp := get(t, ts, url.Values{"track": {"python"}})
		if resp.StatusCode != w.status {
			t.Fatalf("attempt %d: status %d, want %d", i+1, resp.StatusCode, w.status)
		}
		if w.status == 200 {
			newReader(t, resp).message()
			resp.Body.Close()
			continue
		}
		if code, msg, raw := errorBody(t, resp); code != w.code || msg != w.msg {
			t.Fatalf("attempt %d: body %s, want code %d %q", i+1, raw, w.code, w.msg)
		}
	}
	if got := srv.Connections(); got != len(want) {
		t.Fatalf("Connections() = %d, want %d", got, len(want))
	}
	for i, rec := range srv.Requests() {
		if rec.Attempt != i+1 || rec.Status != want[i].status || !rec.Verified {
			t.Fatalf("record %d = %+v, want attempt %d, status %d, verified", i, rec, i+1, want[i].status)
		}
	}
}

// TestInjection checks malformed, giant and limit lines after every N
// content messages.
func TestInjection(t *testing.T) {
	t.Parallel()
	const giant = 4096
	srv, ts := newServer(t, Config{
		Lines:          mock.Corpus()[:4], // statuses only
		MalformedEvery: 2, LimitEvery: 3, GiantEvery: 4, GiantBytes: giant,
		KeepAlive: -1,
	})
	_ = srv
	r := newReader(t, get(t, ts, url.Values{"locations": {everything}, "delimited": {"length"}}))
	// After content message k: limit if k%3==0, malformed if k%2==0, giant if k%4==0.
	wantKinds := []string{
		"status",              // 1
		"status", "malformed", // 2
		"status", "limit 1", // 3
		"status", "malformed", "giant", // 4
		"status",                         // 5
		"status", "limit 2", "malformed", // 6
	}
	for i, want := range wantKinds {
		m := r.message()
		var got string
		ev, err := twitter.Decode(m)
		switch {
		case errors.Is(err, twitter.ErrUnknownMessage) && len(m) == giant && json.Valid(m):
			got = "giant"
		case err != nil:
			var syn *json.SyntaxError
			if !errors.As(err, &syn) || string(m) != MalformedLine {
				t.Fatalf("message %d: unexpected %v", i, err)
			}
			got = "malformed"
		case ev.Kind == stream.KindLimit:
			got = "limit " + strconv.FormatInt(ev.Limit.Track, 10)
		default:
			got = ev.Kind.String()
		}
		if got != want {
			t.Fatalf("message %d is %s, want %s", i, got, want)
		}
	}
}

// TestGiantDefault checks the default giant line: 2 MiB of valid JSON.
func TestGiantDefault(t *testing.T) {
	t.Parallel()
	_, ts := newServer(t, Config{GiantEvery: 1, KeepAlive: -1})
	r := newReader(t, get(t, ts, url.Values{"locations": {everything}}))
	r.message()
	m := r.message()
	if len(m) != DefaultGiantBytes || !json.Valid(m) {
		t.Fatalf("giant line: %d bytes, valid JSON %v; want %d", len(m), json.Valid(m), DefaultGiantBytes)
	}
}

// TestResend checks the server-wide position: each connection continues
// where the previous stopped, minus Resend delivered messages.
func TestResend(t *testing.T) {
	t.Parallel()
	corpus := mock.Corpus()
	for _, resend := range []int{0, 2} {
		t.Run("resend="+strconv.Itoa(resend), func(t *testing.T) {
			t.Parallel()
			_, ts := newServer(t, Config{DisconnectEvery: 5, Resend: resend, KeepAlive: -1})
			start := 0
			for conn := range 3 {
				r := newReader(t, get(t, ts, url.Values{"locations": {everything}}))
				for i, m := range r.messages(5) {
					if !bytes.Equal(m, corpus[start+i]) {
						t.Fatalf("connection %d message %d is not corpus line %d", conn, i, start+i)
					}
				}
				r.eof()
				start += 5 - resend
			}
		})
	}
}

// TestResendFiltered checks that Resend counts delivered messages, not
// content the filter skipped.
func TestResendFiltered(t *testing.T) {
	t.Parallel()
	_, ts := newServer(t, Config{DisconnectEvery: 3, Resend: 1, KeepAlive: -1})
	params := url.Values{"follow": {"1513204400112233472"}} // junior_dev_sam: corpus lines 3, 10 and 14
	r := newReader(t, get(t, ts, params))
	first := r.messages(3)
	r.eof()
	second := newReader(t, get(t, ts, params)).messages(1)
	if !bytes.Equal(first[2], second[0]) {
		t.Fatalf("the second connection starts with %.80s, want the re-sent %.80s", second[0], first[2])
	}
}

// TestGenerator checks generated content: statuses that pass track, and
// the same messages re-sent with Resend.
func TestGenerator(t *testing.T) {
	t.Parallel()
	_, ts := newServer(t, Config{Generator: mock.NewGenerator(7), DisconnectEvery: 4, Resend: 2, KeepAlive: -1})
	m := track.MustCompile("python")
	params := url.Values{"track": {"python"}, "delimited": {"length"}}
	r := newReader(t, get(t, ts, params))
	first := r.messages(4)
	r.eof()
	second := newReader(t, get(t, ts, params)).messages(4)
	for i, msg := range append(first, second...) {
		ev := decode(t, msg)
		if ev.Kind != stream.KindStatus || !m.Match(ev.Status) {
			t.Fatalf("message %d does not match python: %+v", i, ev)
		}
	}
	if !bytes.Equal(first[2], second[0]) || !bytes.Equal(first[3], second[1]) || bytes.Equal(first[3], second[2]) {
		t.Fatal("the second connection does not re-send exactly the last two messages")
	}
}

// TestRate checks that a paced stream delivers in order; how fast is a
// matter for benchmarks, not unit tests.
func TestRate(t *testing.T) {
	t.Parallel()
	corpus := mock.Corpus()
	_, ts := newServer(t, Config{Rate: 1000, KeepAlive: time.Millisecond})
	r := newReader(t, get(t, ts, url.Values{"locations": {everything}}))
	for i, m := range r.messages(5) {
		if !bytes.Equal(m, corpus[i]) {
			t.Fatalf("message %d is not corpus line %d", i, i)
		}
	}
}

// TestStarvation checks that a filter matching nothing leaves the stream
// idle with keep-alives instead of spinning.
func TestStarvation(t *testing.T) {
	t.Parallel()
	_, ts := newServer(t, Config{Lines: mock.Corpus()[:3], KeepAlive: 5 * time.Millisecond})
	r := newReader(t, get(t, ts, url.Values{"track": {"python"}, "language": {"xx"}}))
	r.keepAlive()
	r.keepAlive()
}

// TestOtherRequests checks the answers outside the endpoint: 404 for other
// paths, 405 for other methods, both recorded.
func TestOtherRequests(t *testing.T) {
	t.Parallel()
	srv, ts := newServer(t, Config{})
	client := oauthClient(testContext(t), DemoCredentials())
	resp, err := client.Get(ts.URL + "/1.1/statuses/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, _, raw := errorBody(t, resp); resp.StatusCode != 404 || code != 34 {
		t.Fatalf("other path: %d %s, want 404 code 34", resp.StatusCode, raw)
	}
	req, _ := http.NewRequestWithContext(testContext(t), http.MethodPut, ts.URL+FilterPath, nil)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" {
		t.Fatalf("PUT: %d Allow %q, want 405", resp.StatusCode, resp.Header.Get("Allow"))
	}
	recs := srv.Requests()
	if len(recs) != 2 || recs[0].Attempt != 0 || recs[0].Status != 404 || recs[1].Attempt != 1 || recs[1].Status != 405 {
		t.Fatalf("records %+v", recs)
	}
	if srv.Connections() != 1 {
		t.Fatalf("Connections() = %d, want 1 (only the endpoint counts)", srv.Connections())
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	bad := []Config{
		{Rate: -1},
		{Resend: -1},
		{DisconnectEvery: -2},
		{GiantBytes: 10},
		{StatusCodes: []int{200, 99}},
		{StatusCodes: []int{600}},
		{Lines: [][]byte{[]byte("{}\r\n")}},
	}
	for _, cfg := range bad {
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("NewServer(%+v) accepted an invalid config", cfg)
		}
	}
	if _, err := NewServer(Config{}); err != nil {
		t.Errorf("NewServer(Config{}) = %v", err)
	}
}
