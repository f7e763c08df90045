package mastodontest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mastodon"
	"github.com/streambot/streambot/stream/mastodon/mastodontest"
	"github.com/streambot/streambot/stream/track"
)

// get sends a GET with the demo token (unless token is "-") and returns the
// response; the body is closed when the test ends.
func get(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "-" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// lines reads n lines of a stream.
func lines(t *testing.T, r io.Reader, n int) []string {
	t.Helper()
	br := bufio.NewReader(r)
	var out []string
	for range n {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", out, err)
		}
		out = append(out, l)
	}
	return out
}

func TestCorpus(t *testing.T) {
	t.Parallel()
	corpus := mastodontest.Corpus()
	if len(corpus) < 15 || len(corpus) > 25 {
		t.Errorf("%d statuses", len(corpus))
	}
	m := track.MustCompile("python")
	var matched []string
	kinds := map[string]bool{}
	for i, doc := range corpus {
		ev, err := mastodon.Decode(mastodon.EventUpdate, doc)
		if err != nil {
			t.Fatalf("corpus[%d]: %v", i, err)
		}
		s := ev.Status
		if m.Match(s) {
			matched = append(matched, s.ID)
		}
		kinds["boost"] = kinds["boost"] || s.IsRetweet
		kinds["reply"] = kinds["reply"] || s.IsReply
		kinds["cw"] = kinds["cw"] || strings.HasPrefix(s.Text, "CW: ")
		kinds["links"] = kinds["links"] || len(s.URLs) > 0
		kinds["mentions"] = kinds["mentions"] || len(s.Mentions) > 0
		kinds["non-English"] = kinds["non-English"] || (s.Lang != "en" && s.Lang != "")
		kinds["remote"] = kinds["remote"] || strings.Contains(s.Author.ScreenName, "@")
		kinds["hostile"] = kinds["hostile"] || strings.Contains(s.Text, "<script>")
		kinds["tag only"] = kinds["tag only"] || (slices.Contains(s.Hashtags, "python") && !m.Match(&stream.Status{Text: s.Text}))
	}
	if want := mastodontest.CorpusPythonIDs(); !slices.Equal(matched, want) {
		t.Errorf("python matches %q, want %q", matched, want)
	}
	for _, k := range []string{"boost", "reply", "cw", "links", "mentions", "non-English", "remote", "hostile", "tag only"} {
		if !kinds[k] {
			t.Errorf("the corpus has no %s status", k)
		}
	}
	corpus[0][0] = 'X'
	if mastodontest.Corpus()[0][0] != '{' {
		t.Error("Corpus returns shared slices")
	}
}

func TestNewServerValidates(t *testing.T) {
	t.Parallel()
	for _, cfg := range []mastodontest.Config{
		{CloseAfter: -1},
		{StallAfter: -1},
		{StatusCodes: []int{200, 700}},
		{Token: "two words"},
		{Events: []mastodontest.Event{{Name: "", Data: "x"}}},
		{Events: []mastodontest.Event{{Name: "update", Data: "a\rb"}}},
		{Statuses: [][]byte{[]byte("{\r}")}},
	} {
		if _, err := mastodontest.NewServer(cfg); err == nil || !strings.HasPrefix(err.Error(), "mastodontest: ") {
			t.Errorf("%+v: err = %v", cfg, err)
		}
	}
}

func TestInstanceDocuments(t *testing.T) {
	t.Parallel()
	_, ts := mastodontest.NewTestServer(t, mastodontest.Config{})
	host := strings.TrimPrefix(ts.URL, "http://")
	var v2 struct {
		Configuration struct {
			URLs struct{ Streaming string } `json:"urls"`
		} `json:"configuration"`
	}
	if err := json.NewDecoder(get(t, ts.URL+mastodontest.InstanceV2Path, "-").Body).Decode(&v2); err != nil {
		t.Fatal(err)
	}
	var v1 struct {
		URLs struct {
			StreamingAPI string `json:"streaming_api"`
		} `json:"urls"`
	}
	if err := json.NewDecoder(get(t, ts.URL+mastodontest.InstanceV1Path, "-").Body).Decode(&v1); err != nil {
		t.Fatal(err)
	}
	if v2.Configuration.URLs.Streaming != "ws://"+host || v1.URLs.StreamingAPI != "ws://"+host {
		t.Errorf("announced %q and %q, want ws://%s", v2.Configuration.URLs.Streaming, v1.URLs.StreamingAPI, host)
	}
	if resp := get(t, ts.URL+mastodontest.HealthPath, "-"); resp.StatusCode != 200 {
		t.Errorf("health: %d", resp.StatusCode)
	} else if b, _ := io.ReadAll(resp.Body); string(b) != "OK" {
		t.Errorf("health: %q", b)
	}

	_, sep := mastodontest.NewTestServer(t, mastodontest.Config{SeparateStreamingHost: true, NoInstanceV1: true})
	if err := json.NewDecoder(get(t, sep.URL+mastodontest.InstanceV2Path, "-").Body).Decode(&v2); err != nil {
		t.Fatal(err)
	}
	if s := v2.Configuration.URLs.Streaming; !strings.HasPrefix(s, "ws://127.0.0.1:") || s == "ws://"+strings.TrimPrefix(sep.URL, "http://") {
		t.Errorf("separate host announced as %q", s)
	}
	if resp := get(t, sep.URL+mastodontest.PublicPath, mastodontest.DemoToken); resp.StatusCode != 404 {
		t.Errorf("stream on the instance host of a separate setup: %d", resp.StatusCode)
	}
	if resp := get(t, "http"+strings.TrimPrefix(v2.Configuration.URLs.Streaming, "ws")+mastodontest.InstanceV2Path, "-"); resp.StatusCode != 404 {
		t.Errorf("instance document on the streaming host: %d", resp.StatusCode)
	}
	if resp := get(t, sep.URL+mastodontest.InstanceV1Path, "-"); resp.StatusCode != 404 {
		t.Errorf("NoInstanceV1: %d", resp.StatusCode)
	}
}

func TestStreamErrors(t *testing.T) {
	t.Parallel()
	srv, ts := mastodontest.NewTestServer(t, mastodontest.Config{StatusCodes: []int{200, 200, 200, 200, 429}, RetryAfter: 7})
	tests := []struct {
		path, token string
		status      int
		errText     string
		auth        string
	}{
		{mastodontest.PublicPath, "-", 401, "Missing access token", "missing"},
		{mastodontest.PublicPath, "wrong", 401, "Invalid access token", "invalid"},
		{mastodontest.HashtagPath, mastodontest.DemoToken, 400, "No tag for stream provided", "ok"},
		{"/api/v1/streaming/user", mastodontest.DemoToken, 404, "Unknown stream type", ""},
		{mastodontest.PublicPath, mastodontest.DemoToken, 429, "Too Many Requests", "ok"},
		{"/api/v1/nothing", mastodontest.DemoToken, 404, "Record not found", ""},
	}
	for _, tt := range tests {
		resp := get(t, ts.URL+tt.path, tt.token)
		var body struct{ Error string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if resp.StatusCode != tt.status || body.Error != tt.errText {
			t.Errorf("%s with %q: %d %q, want %d %q", tt.path, tt.token, resp.StatusCode, body.Error, tt.status, tt.errText)
		}
		if tt.status == 429 && resp.Header.Get("Retry-After") != "7" {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	reqs := srv.Requests()
	if len(reqs) != len(tests) {
		t.Fatalf("%d records", len(reqs))
	}
	for i, r := range reqs {
		if r.Auth != tests[i].auth || r.Status != tests[i].status {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if reqs[4].Attempt != 5 || reqs[5].Attempt != 0 || srv.Connections() != 5 {
		t.Errorf("attempts: %d, %d, connections %d", reqs[4].Attempt, reqs[5].Attempt, srv.Connections())
	}
	// A token in the query works, as on Mastodon, and is never recorded.
	resp := get(t, ts.URL+mastodontest.PublicPath+"?access_token="+mastodontest.DemoToken, "-")
	if resp.StatusCode != 200 {
		t.Errorf("access_token query: %d", resp.StatusCode)
	}
	last := srv.Requests()[len(tests)]
	if !last.TokenInQuery || last.Query.Get("access_token") != "[REDACTED]" {
		t.Errorf("record %+v", last)
	}
}

// The wire format: greeting, event and data lines, a blank line after each
// event, heartbeats when idle; CRLF and multi-line data on request.
func TestFraming(t *testing.T) {
	t.Parallel()
	status := []byte(`{"id":"1","account":{"acct":"a"},"tags":[]}`)
	events := []mastodontest.Event{mastodontest.Update(status), mastodontest.Delete("1"),
		{Name: "filters_changed", Data: "undefined"}, mastodontest.Edit(status)}
	tests := []struct {
		name string
		cfg  mastodontest.Config
		want []string
	}{
		{"plain", mastodontest.Config{Events: events, Heartbeat: 5 * time.Millisecond}, []string{
			":)\n",
			"event: update\n", "data: " + string(status) + "\n", "\n",
			"event: delete\n", "data: 1\n", "\n",
			"event: filters_changed\n", "data: undefined\n", "\n",
			"event: status.update\n", "data: " + string(status) + "\n", "\n",
			":thump\n", ":thump\n",
		}},
		{"CRLF and multi-line", mastodontest.Config{Events: events[:2], CRLF: true, MultiLineData: true, Heartbeat: 5 * time.Millisecond}, []string{
			":)\r\n",
			"event: update\r\n", "data: {\r\n", "data:   \"id\": \"1\",\r\n", "data:   \"account\": {\r\n", "data:     \"acct\": \"a\"\r\n",
			"data:   },\r\n", "data:   \"tags\": []\r\n", "data: }\r\n", "\r\n",
			"event: delete\r\n", "data: 1\r\n", "\r\n",
			":thump\r\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ts := mastodontest.NewTestServer(t, tt.cfg)
			resp := get(t, ts.URL+mastodontest.PublicPath, mastodontest.DemoToken)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if got := lines(t, resp.Body, len(tt.want)); !slices.Equal(got, tt.want) {
				t.Errorf("stream\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// Streams get what Mastodon would route to them, and a new connection
// continues where the previous one of the same stream stopped.
func TestRoutingAndPosition(t *testing.T) {
	t.Parallel()
	st := func(id, acct string, tags ...string) mastodontest.Event {
		var ts []string
		for _, tg := range tags {
			ts = append(ts, `{"name":"`+tg+`"}`)
		}
		return mastodontest.Update([]byte(`{"id":"` + id + `","account":{"acct":"` + acct + `"},"tags":[` + strings.Join(ts, ",") + `]}`))
	}
	events := []mastodontest.Event{
		st("1", "local", "Python"), st("2", "far@remote.example", "python"), st("3", "local"),
		mastodontest.Delete("9"), {Name: "update", Data: "not json"}, st("4", "far@remote.example", "golang"),
	}
	srv, ts := mastodontest.NewTestServer(t, mastodontest.Config{Events: events, CloseAfter: 2, Heartbeat: -1})
	// ids reads the data lines of the first n events of a stream.
	ids := func(path string, n int) []string {
		resp := get(t, ts.URL+path, mastodontest.DemoToken)
		br := bufio.NewReader(resp.Body)
		var out []string
		for len(out) < n {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s after %q: %v", path, out, err)
			}
			if d, ok := strings.CutPrefix(l, "data: "); ok {
				d = strings.TrimSpace(d)
				if i := strings.Index(d, `"id":"`); i >= 0 {
					d = d[i+6 : i+7]
				}
				out = append(out, d)
			}
		}
		if _, err := br.ReadString('\n'); err != nil { // the blank line after the last event
			t.Fatal(err)
		}
		if n == 2 { // CloseAfter ends the stream after two events
			if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
				t.Errorf("%s: after two events %q, %v", path, rest, err)
			}
		}
		return out
	}
	checks := []struct {
		path string
		want []string
	}{
		{mastodontest.PublicPath, []string{"1", "2"}},
		{mastodontest.PublicPath, []string{"3", "9"}}, // continues
		{mastodontest.PublicLocalPath, []string{"1", "3"}},
		{mastodontest.HashtagPath + "?tag=python", []string{"1", "2"}},
		{mastodontest.HashtagPath + "?tag=PYTHON", []string{"9", "not json"}}, // the same stream, case ignored
		{mastodontest.HashtagLocalPath + "?tag=%23python", []string{"1", "9"}},
		{mastodontest.HashtagPath + "?tag=golang", []string{"9", "not json"}},
		{mastodontest.HashtagPath + "?tag=golang", []string{"4"}}, // the script is over: the stream stays open
	}
	for _, c := range checks {
		if got := ids(c.path, len(c.want)); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.path, got, c.want)
		}
	}
	if n := srv.Connections(); n != len(checks) {
		t.Errorf("%d connections, want %d", n, len(checks))
	}
}

// Stall keeps the connection open and silent; Close ends it.
func TestStallAndClose(t *testing.T) {
	t.Parallel()
	stalled := make(chan struct{}, 1)
	cfg := mastodontest.WithStallHook(mastodontest.Config{Stall: true, StallAfter: 1, Heartbeat: time.Millisecond}, func() {
		select {
		case stalled <- struct{}{}:
		default:
		}
	})
	srv, ts := mastodontest.NewTestServer(t, cfg)
	resp := get(t, ts.URL+mastodontest.PublicPath, mastodontest.DemoToken)
	br := bufio.NewReader(resp.Body) // lines reads from it too: nothing it buffered is lost
	got := lines(t, br, 4)
	if got[0] != ":)\n" || got[1] != "event: update\n" {
		t.Fatalf("%q", got)
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(br)
		rest <- string(b)
	}()
	select {
	case <-stalled:
	case b := <-rest:
		t.Fatalf("the stream ended or wrote instead of stalling: %q", b)
	case <-time.After(10 * time.Second):
		t.Fatal("the stream never stalled")
	}
	if srv.Active() != 1 {
		t.Errorf("%d streams active, want the stalled one open", srv.Active())
	}
	srv.Close()
	// Everything the stream wrote after the event, up to its end: it must
	// be nothing, heartbeats included.
	select {
	case b := <-rest:
		if b != "" {
			t.Errorf("after the stall: %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end after Close")
	}
	if srv.Active() != 0 {
		t.Errorf("%d streams still active after Close", srv.Active())
	}
	if resp := get(t, ts.URL+mastodontest.PublicPath, mastodontest.DemoToken); resp.StatusCode != 503 {
		t.Errorf("after Close: %d", resp.StatusCode)
	}
	srv.Close() // idempotent
}

// Close also ends a stream whose client stopped reading.
func TestCloseUnblocksSlowClient(t *testing.T) {
	t.Parallel()
	// 32 MiB, more than the loopback socket buffers hold; not JSON, so the
	// fake does not parse it.
	big := mastodontest.Event{Name: "update", Data: "x" + strings.Repeat("y", 1<<20)}
	var events []mastodontest.Event
	for range 32 {
		events = append(events, big)
	}
	srv, ts := mastodontest.NewTestServer(t, mastodontest.Config{Events: events})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+mastodontest.PublicPath, nil)
	req.Header.Set("Authorization", "Bearer "+mastodontest.DemoToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }() // the client never reads
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on a client that stopped reading")
	}
}
