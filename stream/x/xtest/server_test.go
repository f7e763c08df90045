package xtest

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

	"github.com/streambot/streambot/stream/x"
)

// client talks to a test server the way any HTTP client would.
type client struct {
	t     *testing.T
	base  string
	token string
}

func newClient(t *testing.T, cfg Config) (*Server, *client) {
	t.Helper()
	srv, ts := NewTestServer(t, cfg)
	return srv, &client{t: t, base: ts.URL, token: DemoToken}
}

// do makes a request and returns the status and the decoded JSON body.
func (c *client) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		c.t.Fatalf("%s %s: %d with a body that is not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

// status makes an authorized GET and returns its status code, or -1 when
// the request fails. Unlike do and open it may run in any goroutine.
func (c *client) status(path string) int {
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodGet, c.base+path, nil)
	if err != nil {
		return -1
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

// open connects to the stream; a non-200 answer is returned decoded.
func (c *client) open(ctx context.Context) (*lineStream, int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+x.StreamPath+"?"+x.StreamQuery, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return nil, resp.StatusCode, v
	}
	s := &lineStream{t: c.t, lines: make(chan string, 100), body: resp.Body}
	done := make(chan struct{})
	go func() {
		defer close(s.lines)
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				select {
				case s.lines <- line:
				case <-done: // the test is over and nobody reads: stop
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	c.t.Cleanup(func() {
		close(done)
		resp.Body.Close()
	})
	return s, resp.StatusCode, nil
}

// lineStream delivers the raw lines of an open stream, terminators included.
type lineStream struct {
	t     *testing.T
	lines chan string
	body  io.Closer
}

// next returns the next line that is not a heartbeat; "" at the end.
func (s *lineStream) next() string {
	s.t.Helper()
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return ""
			}
			if !strings.HasSuffix(l, "\r\n") {
				s.t.Errorf("line %q does not end with \\r\\n", l)
			}
			if l != "\r\n" {
				return strings.TrimSuffix(l, "\r\n")
			}
		case <-time.After(10 * time.Second):
			s.t.Fatal("no line within 10 s")
		}
	}
}

// heartbeat waits for a bare "\r\n".
func (s *lineStream) heartbeat() {
	s.t.Helper()
	select {
	case l := <-s.lines:
		if l != "\r\n" {
			s.t.Errorf("got %q, want a heartbeat", l)
		}
	case <-time.After(10 * time.Second):
		s.t.Fatal("no heartbeat within 10 s")
	}
}

// postOf decodes a stream line into its post id and matching rule tags.
func postOf(t *testing.T, line string) (id string, tags []string) {
	t.Helper()
	var v struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
		MatchingRules []struct{ ID, Tag string } `json:"matching_rules"`
	}
	if err := json.Unmarshal([]byte(line), &v); err != nil || v.Data.ID == "" {
		t.Fatalf("line %q: %v", line, err)
	}
	for _, r := range v.MatchingRules {
		if r.ID == "" {
			t.Errorf("matching rule without id in %s", line)
		}
		tags = append(tags, r.Tag)
	}
	return v.Data.ID, tags
}

func addRule(c *client, value, tag string) string {
	c.t.Helper()
	body, _ := json.Marshal(map[string]any{"add": []map[string]string{{"value": value, "tag": tag}}})
	code, v := c.do("POST", x.RulesPath, string(body))
	data, _ := v["data"].([]any)
	if code != 200 || len(data) != 1 {
		c.t.Fatalf("adding %q: %d %v", value, code, v)
	}
	return data[0].(map[string]any)["id"].(string)
}

func summaryOf(v map[string]any) map[string]any {
	return v["meta"].(map[string]any)["summary"].(map[string]any)
}

func TestNewServerValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{CloseAfter: -1}, "CloseAfter"},
		{Config{GiantBytes: 3}, "GiantBytes"},
		{Config{StatusCodes: []int{200, 99}}, "99"},
		{Config{RulesStatusCodes: []int{600}}, "600"},
		{Config{Posts: [][]byte{[]byte(`{"id":"1"`)}}, "post 0"},
		{Config{Posts: [][]byte{[]byte(`{"text":"no id"}`)}}, "post 0"},
		{Config{Posts: [][]byte{[]byte(`{"id":"1"}`), []byte(`{"errors":[{"title":"x"}]}`)}}, "post 1"},
	}
	for _, tt := range tests {
		if _, err := NewServer(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "xtest: ") {
			t.Errorf("NewServer(%+v) = %v, want an error about %s", tt.cfg, err, tt.want)
		}
	}
}

// Every endpoint checks the bearer token and answers 401 with X's problem
// body; the request is recorded as unauthorized.
func TestBearerTokenChecked(t *testing.T) {
	t.Parallel()
	srv, c := newClient(t, Config{Token: "right-token"})
	for _, token := range []string{"", "wrong", DemoToken} {
		c.token = token
		for _, req := range []struct{ method, path, body string }{
			{"GET", x.RulesPath, ""},
			{"POST", x.RulesPath, `{"add":[{"value":"python"}]}`},
			{"GET", x.StreamPath, ""},
		} {
			code, v := c.do(req.method, req.path, req.body)
			if code != 401 || v["title"] != "Unauthorized" || v["type"] != "about:blank" || v["status"] != 401.0 {
				t.Errorf("token %q, %s %s: %d %v", token, req.method, req.path, code, v)
			}
		}
	}
	c.token = "right-token"
	if code, _ := c.do("GET", x.RulesPath, ""); code != 200 {
		t.Errorf("the right token got %d", code)
	}
	reqs := srv.Requests()
	if len(reqs) != 10 || reqs[0].Authorized || !reqs[9].Authorized || reqs[0].Status != 401 || reqs[1].Body != `{"add":[{"value":"python"}]}` {
		t.Errorf("records %+v", reqs)
	}
	if len(srv.Rules()) != 0 || srv.Connections() != 0 {
		t.Errorf("an unauthorized request changed something: rules %v, connections %d", srv.Rules(), srv.Connections())
	}
}

// The rules endpoints: add, duplicates, invalid rules, dry_run, list with
// ids and pagination, delete, malformed requests.
func TestRulesAPI(t *testing.T) {
	t.Parallel()
	srv, c := newClient(t, Config{RejectRules: func(v string) []string {
		if strings.Contains(v, "forbidden") {
			return []string{"Reference to invalid operator 'forbidden'."}
		}
		return nil
	}})

	// dry_run answers like a real add and changes nothing.
	code, v := c.do("POST", x.RulesPath+"?dry_run=true", `{"add":[{"value":"python","tag":"py"},{"value":"golang","tag":"go"}]}`)
	if code != 200 || len(v["data"].([]any)) != 2 || summaryOf(v)["created"] != 2.0 || summaryOf(v)["valid"] != 2.0 || len(srv.Rules()) != 0 {
		t.Fatalf("dry run: %d %v, rules %v", code, v, srv.Rules())
	}
	pyID := addRule(c, "python", "py")
	goID := addRule(c, "golang", "go")
	if pyID == goID || !slices.Equal(srv.Rules(), []x.Rule{{ID: pyID, Value: "python", Tag: "py"}, {ID: goID, Value: "golang", Tag: "go"}}) {
		t.Fatalf("rules %v", srv.Rules())
	}

	// A duplicate is reported with the existing rule's id; the rest is created.
	code, v = c.do("POST", x.RulesPath, `{"add":[{"value":"python","tag":"other"},{"value":"rust","tag":"rs"},{"value":"rust","tag":"rs2"}]}`)
	errs := v["errors"].([]any)
	if code != 200 || len(errs) != 2 || summaryOf(v)["created"] != 1.0 || summaryOf(v)["not_created"] != 2.0 || summaryOf(v)["invalid"] != 2.0 {
		t.Fatalf("duplicates: %d %v", code, v)
	}
	dup := errs[0].(map[string]any)
	if dup["title"] != "DuplicateRule" || dup["id"] != pyID || dup["value"] != "python" || dup["type"] != "https://api.twitter.com/2/problems/duplicate-rules" {
		t.Errorf("duplicate error %v", dup)
	}

	// An invalid rule fails the whole add, with details for each.
	code, v = c.do("POST", x.RulesPath, `{"add":[{"value":"java","tag":"j"},{"value":"forbidden thing","tag":"f"},{"value":"(a OR b)","tag":"p"}]}`)
	errs = v["errors"].([]any)
	if code != 200 || len(errs) != 2 || summaryOf(v)["created"] != 0.0 || summaryOf(v)["valid"] != 1.0 || v["data"] != nil {
		t.Fatalf("invalid: %d %v", code, v)
	}
	inv := errs[0].(map[string]any)
	if inv["title"] != "Invalid Rule" || inv["value"] != "forbidden thing" || inv["details"].([]any)[0] != "Reference to invalid operator 'forbidden'." ||
		!strings.Contains(errs[1].(map[string]any)["details"].([]any)[0].(string), "parentheses") {
		t.Errorf("invalid errors %v", errs)
	}
	if n := len(srv.Rules()); n != 3 {
		t.Errorf("%d rules after the invalid add, want 3", n)
	}

	// List: all, by ids, by pages.
	code, v = c.do("GET", x.RulesPath, "")
	if code != 200 || len(v["data"].([]any)) != 3 || v["meta"].(map[string]any)["result_count"] != 3.0 || v["meta"].(map[string]any)["sent"] == "" {
		t.Errorf("list: %d %v", code, v)
	}
	_, v = c.do("GET", x.RulesPath+"?ids="+goID, "")
	if d := v["data"].([]any); len(d) != 1 || d[0].(map[string]any)["value"] != "golang" {
		t.Errorf("list by ids: %v", v)
	}
	_, v = c.do("GET", x.RulesPath+"?max_results=2", "")
	next, _ := v["meta"].(map[string]any)["next_token"].(string)
	if len(v["data"].([]any)) != 2 || next == "" {
		t.Fatalf("first page: %v", v)
	}
	_, v = c.do("GET", x.RulesPath+"?max_results=2&pagination_token="+next, "")
	if len(v["data"].([]any)) != 1 || v["meta"].(map[string]any)["next_token"] != nil {
		t.Errorf("last page: %v", v)
	}

	// Delete: dry_run first, then by id and by value; unknown ones are reported.
	code, v = c.do("POST", x.RulesPath+"?dry_run=true", `{"delete":{"ids":["`+pyID+`"]}}`)
	if code != 200 || summaryOf(v)["deleted"] != 1.0 || len(srv.Rules()) != 3 {
		t.Errorf("dry-run delete: %d %v, rules %v", code, v, srv.Rules())
	}
	code, v = c.do("POST", x.RulesPath, `{"delete":{"ids":["`+pyID+`","123"],"values":["rust"]}}`)
	if code != 200 || summaryOf(v)["deleted"] != 2.0 || summaryOf(v)["not_deleted"] != 1.0 || len(v["errors"].([]any)) != 1 {
		t.Errorf("delete: %d %v", code, v)
	}
	if got := srv.Rules(); len(got) != 1 || got[0].Value != "golang" {
		t.Errorf("rules after delete %v", got)
	}
	_, v = c.do("GET", x.RulesPath+"?ids=nope", "")
	if _, has := v["data"]; has || v["meta"].(map[string]any)["result_count"] != 0.0 {
		t.Errorf("an empty list has data: %v", v)
	}

	// Malformed requests.
	for _, bad := range []struct{ method, path, body string }{
		{"POST", x.RulesPath, `not json`},
		{"POST", x.RulesPath, `{}`},
		{"POST", x.RulesPath, `{"add":[{"value":"a"}],"delete":{"ids":["1"]}}`},
		{"POST", x.RulesPath, `{"add":[]}`},
		{"POST", x.RulesPath, `{"add":[{"value":"a","extra":1}]}`},
		{"POST", x.RulesPath + "?dry_run=maybe", `{"add":[{"value":"a"}]}`},
		{"GET", x.RulesPath + "?max_results=0", ""},
		{"GET", x.RulesPath + "?pagination_token=x", ""},
	} {
		code, v := c.do(bad.method, bad.path, bad.body)
		if code != 400 || v["title"] != "Invalid Request" || v["errors"] == nil {
			t.Errorf("%s %s %s: %d %v", bad.method, bad.path, bad.body, code, v)
		}
	}
	if code, _ := c.do("DELETE", x.RulesPath, ""); code != 405 {
		t.Errorf("DELETE rules: %d", code)
	}
	if code, v := c.do("GET", "/2/tweets/sample/stream", ""); code != 404 || v["title"] != "Not Found Error" {
		t.Errorf("unknown path: %d %v", code, v)
	}
}

// The stream sends only the posts that match a current rule, each with
// the rules it matched, heartbeats when idle, and posts published later;
// a rule added while streaming applies at once.
func TestStreamMatchesRules(t *testing.T) {
	t.Parallel()
	srv, c := newClient(t, Config{Heartbeat: 5 * time.Millisecond, Posts: [][]byte{
		[]byte(`{"id":"1","text":"python and golang"}`),
		[]byte(`{"id":"2","text":"tomatoes"}`),
		[]byte(`{"data":{"id":"3","text":"just python"},"includes":{"users":[{"id":"9","username":"u","name":"U"}]},"matching_rules":[{"id":"0","tag":"stale"}]}`),
	}})
	addRule(c, "python", "py")
	addRule(c, "golang", "go")
	s, code, _ := c.open(t.Context())
	if code != 200 {
		t.Fatalf("stream: %d", code)
	}
	var got []string
	for range 2 {
		id, tags := postOf(t, s.next())
		got = append(got, id+":"+strings.Join(tags, ","))
	}
	if want := []string{"1:py,go", "3:py"}; !slices.Equal(got, want) {
		t.Errorf("posts %v, want %v", got, want)
	}
	s.heartbeat()
	if err := srv.Publish([]byte(`{"id":"4","text":"golang tip"}`)); err != nil {
		t.Fatal(err)
	}
	if id, tags := postOf(t, s.next()); id != "4" || !slices.Equal(tags, []string{"go"}) {
		t.Errorf("published post %s %v", id, tags)
	}
	if _, err := srv.AddRule("rust", "rs"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish([]byte(`{"id":"6","text":"rust again"}`)); err != nil {
		t.Fatal(err)
	}
	if id, tags := postOf(t, s.next()); id != "6" || !slices.Equal(tags, []string{"rs"}) {
		t.Errorf("after a new rule: %s %v", id, tags)
	}
	if srv.Active() != 1 || srv.Connections() != 1 {
		t.Errorf("active %d, connections %d", srv.Active(), srv.Connections())
	}
	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Path != x.StreamPath || last.Query.Get("expansions") != "author_id,referenced_tweets.id,referenced_tweets.id.author_id" || last.Status != 200 {
		t.Errorf("stream request record %+v", last)
	}
}

// Faults: scripted statuses with X's bodies, operational disconnects,
// re-sent posts, malformed and giant lines.
func TestStreamFaults(t *testing.T) {
	t.Parallel()
	posts := [][]byte{}
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		posts = append(posts, []byte(`{"id":"`+id+`","text":"python `+id+`"}`))
	}
	srv, c := newClient(t, Config{
		Heartbeat: -1, Posts: posts, StatusCodes: []int{429, 403, 503, 200},
		CloseAfter: 3, Resend: 1, Malformed: 2, Giant: 3, GiantBytes: 100,
	})
	addRule(c, "python", "py")
	for _, want := range []struct {
		code  int
		title string
	}{{429, "ConnectionException"}, {403, "Client Forbidden"}, {503, "Service Unavailable"}} {
		_, code, v := c.open(t.Context())
		if code != want.code || v["title"] != want.title {
			t.Errorf("attempt: %d %v, want %d %s", code, v, want.code, want.title)
		}
		if code == 429 && v["connection_issue"] != "TooManyConnections" {
			t.Errorf("429 body %v", v)
		}
		if code == 403 && v["reason"] != "client-not-enrolled" {
			t.Errorf("403 body %v", v)
		}
	}
	s, code, _ := c.open(t.Context())
	if code != 200 {
		t.Fatalf("fourth attempt: %d", code)
	}
	var lines []string
	for l := s.next(); l != ""; l = s.next() {
		lines = append(lines, l)
	}
	want := []string{"1", "2", MalformedLine, "3", "giant", "disconnect"}
	if len(lines) != len(want) {
		t.Fatalf("lines %q", lines)
	}
	for i, l := range lines {
		switch want[i] {
		case MalformedLine:
			if l != MalformedLine {
				t.Errorf("line %d %q, want the malformed line", i, l)
			}
		case "giant":
			if len(l) != 100 || !json.Valid([]byte(l)) {
				t.Errorf("giant line %q", l)
			}
		case "disconnect":
			if l != `{"errors":[{"title":"operational-disconnect","detail":"`+DisconnectDetail+`","type":"https://api.twitter.com/2/problems/operational-disconnect","disconnect_type":"OperationalDisconnect"}]}` {
				t.Errorf("disconnect line %s", l)
			}
		default:
			if id, _ := postOf(t, l); id != want[i] {
				t.Errorf("line %d: post %s, want %s", i, id, want[i])
			}
		}
	}
	// The next connection re-sends the last post, then goes on.
	s, _, _ = c.open(t.Context())
	var ids []string
	for l := s.next(); l != ""; l = s.next() {
		var v struct{ Data struct{ ID string } }
		if json.Unmarshal([]byte(l), &v) == nil && v.Data.ID != "" {
			ids = append(ids, v.Data.ID)
		}
	}
	if !slices.Equal(ids, []string{"3", "4", "5"}) {
		t.Errorf("second stream ids %v, want 3 (re-sent), 4, 5", ids)
	}
	if srv.Connections() != 5 {
		t.Errorf("connections %d", srv.Connections())
	}
}

// A second stream is refused with 429 TooManyConnections while one is
// open; with a grace period it is admitted as soon as the first ends.
func TestOneStreamAtATime(t *testing.T) {
	t.Parallel()
	_, c := newClient(t, Config{Heartbeat: time.Millisecond, ConnectGrace: -1})
	ctx, cancel := context.WithCancel(t.Context())
	first, code, _ := c.open(ctx)
	if code != 200 {
		t.Fatalf("first: %d", code)
	}
	first.heartbeat()
	if _, code, v := c.open(t.Context()); code != 429 || v["connection_issue"] != "TooManyConnections" ||
		v["detail"] != "This stream is currently at the maximum allowed connection limit." {
		t.Errorf("second: %d %v", code, v)
	}
	cancel()

	waiting := make(chan struct{}, 1)
	srv, c := newClient(t, Config{Heartbeat: time.Millisecond, ConnectGrace: 10 * time.Second,
		hooks: hooks{waiting: func() { signal(waiting) }}})
	ctx, cancel = context.WithCancel(t.Context())
	first, _, _ = c.open(ctx)
	first.heartbeat()
	admitted := make(chan int, 1)
	go func() { admitted <- c.status(x.StreamPath + "?" + x.StreamQuery) }()
	select {
	case <-waiting: // the second request arrived and waits for the first to end
	case code := <-admitted:
		t.Fatalf("the second stream was answered %d while the first was open", code)
	case <-time.After(10 * time.Second):
		t.Fatal("the second request never waited")
	}
	cancel() // the first client goes away
	select {
	case code := <-admitted:
		if code != 200 {
			t.Errorf("second after the first ended: %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second stream was not admitted when the first ended")
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// A stalled stream writes nothing, not even heartbeats, but stays open;
// Close ends it and later requests get 503.
func TestStallAndClose(t *testing.T) {
	t.Parallel()
	stalled := make(chan struct{}, 1)
	srv, c := newClient(t, Config{Heartbeat: time.Millisecond, Stall: 1, Posts: [][]byte{[]byte(`{"id":"1","text":"python"}`)},
		hooks: hooks{stalled: func() { signal(stalled) }}})
	addRule(c, "python", "py")
	s, _, _ := c.open(t.Context())
	if id, _ := postOf(t, s.next()); id != "1" {
		t.Fatalf("post %s", id)
	}
	select {
	case <-stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream never stalled")
	}
	if srv.Active() != 1 {
		t.Errorf("active %d, want the stalled stream open", srv.Active())
	}
	srv.Close()
	// Everything the stream wrote after the post, up to its end, is in
	// s.lines: it must be nothing, heartbeats included.
	for ended := false; !ended; {
		select {
		case l, ok := <-s.lines:
			if ended = !ok; ok {
				t.Errorf("the stalled stream sent %q", l)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the stream did not end after Close")
		}
	}
	if srv.Active() != 0 {
		t.Errorf("active %d after Close", srv.Active())
	}
	if code, v := c.do("GET", x.RulesPath, ""); code != 503 || v["title"] != "Service Unavailable" {
		t.Errorf("after Close: %d %v", code, v)
	}
	srv.Close() // idempotent
}

// signal sends on ch without blocking: ch has room for one pending signal.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Scripted answers of the rules endpoint.
func TestRulesStatusCodes(t *testing.T) {
	t.Parallel()
	_, c := newClient(t, Config{RulesStatusCodes: []int{503, 429, 200}})
	for _, want := range []int{503, 429, 200, 200} {
		if code, _ := c.do("GET", x.RulesPath, ""); code != want {
			t.Errorf("got %d, want %d", code, want)
		}
	}
}
