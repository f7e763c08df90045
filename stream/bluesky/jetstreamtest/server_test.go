package jetstreamtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/streambot/streambot/stream/bluesky/jetstreamtest"
)

type envelope struct {
	DID    string `json:"did"`
	TimeUS int64  `json:"time_us"`
	Kind   string `json:"kind"`
	Commit *struct {
		Operation  string `json:"operation"`
		Collection string `json:"collection"`
		RKey       string `json:"rkey"`
		Record     struct {
			Text string `json:"text"`
		} `json:"record"`
	} `json:"commit"`
}

func decode(t *testing.T, b []byte) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%v: %.80s", err, b)
	}
	return e
}

// times returns the time_us of the corpus lines.
func times(t *testing.T) []int64 {
	t.Helper()
	var out []int64
	for _, l := range jetstreamtest.Corpus() {
		out = append(out, decode(t, l).TimeUS)
	}
	return out
}

// dial opens a WebSocket to the fake with the given query.
func dial(t *testing.T, url, query string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(t.Context(), url+jetstreamtest.SubscribePath+query, nil)
	if err != nil {
		t.Fatalf("dial %q: %v (response %v)", query, err, resp)
	}
	t.Cleanup(func() { c.CloseNow() })
	c.SetReadLimit(-1)
	return c
}

// read reads one text message, failing the test after 10 s.
func read(t *testing.T, c *websocket.Conn) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("a %v frame, Jetstream sends text", typ)
	}
	return b
}

// readTimes reads n messages and returns their time_us.
func readTimes(t *testing.T, c *websocket.Conn, n int) []int64 {
	t.Helper()
	var out []int64
	for range n {
		out = append(out, decode(t, read(t, c)).TimeUS)
	}
	return out
}

// TestCorpus checks what the corpus promises to its users.
func TestCorpus(t *testing.T) {
	t.Parallel()
	lines := jetstreamtest.Corpus()
	if len(lines) < 20 || len(lines) > 30 {
		t.Errorf("%d lines", len(lines))
	}
	kinds := map[string]int{}
	python, last := 0, int64(0)
	for i, l := range lines {
		e := decode(t, l)
		if e.TimeUS <= last {
			t.Errorf("line %d: time_us %d does not increase", i, e.TimeUS)
		}
		last = e.TimeUS
		k := e.Kind
		if e.Commit != nil {
			k = e.Commit.Collection + "/" + e.Commit.Operation
			if k == "app.bsky.feed.post/create" && strings.Contains(strings.ToLower(e.Commit.Record.Text), "python") {
				python++
			}
		}
		kinds[k]++
	}
	if python != 8 {
		t.Errorf("%d posts mention python, the docs say 8", python)
	}
	for _, k := range []string{"identity", "account", "app.bsky.feed.post/create", "app.bsky.feed.post/delete", "app.bsky.feed.post/update",
		"app.bsky.feed.like/create", "app.bsky.feed.repost/create", "app.bsky.graph.follow/create"} {
		if kinds[k] == 0 {
			t.Errorf("no %s message", k)
		}
	}
	if !bytes.Contains(bytes.Join(lines, nil), []byte(`\u202e`)) {
		t.Error("no hostile bidi text")
	}
	// Corpus returns copies.
	lines[0][0] = 'X'
	if jetstreamtest.Corpus()[0][0] != '{' {
		t.Error("Corpus shares its memory")
	}
}

// TestCursorAndCollections: the server serves, in order, the events with
// time_us >= cursor whose collection is wanted, and always identity and
// account messages.
func TestCursorAndCollections(t *testing.T) {
	t.Parallel()
	tm := times(t)
	lines := func(idx ...int) []int64 {
		var out []int64
		for _, i := range idx {
			out = append(out, tm[i])
		}
		return out
	}
	all := make([]int, len(tm))
	for i := range all {
		all[i] = i
	}
	posts := slices.DeleteFunc(slices.Clone(all), func(i int) bool { return i == 3 || i == 10 || i == 17 || i == 21 })
	tests := []struct {
		name  string
		query string
		want  []int64
	}{
		{"everything", "", lines(all...)},
		{"posts", "?wantedCollections=app.bsky.feed.post", lines(posts...)},
		{"a prefix", "?wantedCollections=app.bsky.feed.*", lines(slices.DeleteFunc(slices.Clone(all), func(i int) bool { return i == 17 })...)},
		{"two collections", "?wantedCollections=app.bsky.feed.like&wantedCollections=app.bsky.graph.follow", lines(0, 1, 3, 6, 11, 17, 18, 21)},
		{"cursor at an event", "?wantedCollections=app.bsky.feed.post&cursor=" + strconv.FormatInt(tm[12], 10), lines(12, 13, 14, 15, 16, 18, 19, 20, 22)},
		{"cursor just after it", "?cursor=" + strconv.FormatInt(tm[12]+1, 10), lines(all[13:]...)},
		{"cursor before everything", "?cursor=1", lines(all...)},
		{"cursor in the future", "?cursor=" + strconv.FormatInt(tm[22]+1, 10), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{})
			c := dial(t, ts.URL, tt.query)
			got := readTimes(t, c, len(tt.want))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("time_us\n got %v\nwant %v", got, tt.want)
			}
			// Nothing else comes before a newly published event.
			marker := jetstreamtest.Identity(tm[22]+10, "did:plc:marker", "marker.test") // always sent
			if err := srv.Publish(marker); err != nil {
				t.Fatal(err)
			}
			if next := read(t, c); !bytes.Equal(next, marker) {
				t.Errorf("after the expected events came %.100s, want the published marker", next)
			}
		})
	}
}

// TestLiveStartsAfterTheFurthestSent: a connection without a cursor
// continues where the previous live connection stopped.
func TestLiveStartsAfterTheFurthestSent(t *testing.T) {
	t.Parallel()
	tm := times(t)
	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{CloseAfter: 5})
	c := dial(t, ts.URL, "")
	if got := readTimes(t, c, 5); !reflect.DeepEqual(got, tm[:5]) {
		t.Fatalf("first connection: %v", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after CloseAfter: %v, want a normal close", err)
	}
	// The client has the close frame before the server's handler is done
	// with the connection (and records it Closed): wait for that.
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	c2 := dial(t, ts.URL, "")
	if got := readTimes(t, c2, 5); !reflect.DeepEqual(got, tm[5:10]) {
		t.Errorf("second live connection: %v, want %v", got, tm[5:10])
	}
	conns := srv.Connections()
	if len(conns) != 2 || conns[0].Sent != 5 || conns[0].First != tm[0] || conns[0].Last != tm[4] || !conns[0].Closed || conns[1].First != tm[5] {
		t.Errorf("records %+v", conns)
	}
}

// TestFaults: malformed frames, stalls, and scripted HTTP answers.
func TestFaults(t *testing.T) {
	t.Parallel()
	tm := times(t)
	t.Run("malformed every 2", func(t *testing.T) {
		t.Parallel()
		_, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{MalformedEvery: 2})
		c := dial(t, ts.URL, "")
		var got []string
		for range 6 {
			b := read(t, c)
			if json.Valid(b) {
				got = append(got, "event")
			} else if string(b) == jetstreamtest.MalformedFrame {
				got = append(got, "malformed")
			}
		}
		if want := []string{"event", "event", "malformed", "event", "event", "malformed"}; !reflect.DeepEqual(got, want) {
			t.Errorf("frames %q, want %q", got, want)
		}
	})
	t.Run("stall after 2", func(t *testing.T) {
		t.Parallel()
		srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{StallAfter: 2})
		c := dial(t, ts.URL, "")
		if got := readTimes(t, c, 2); !reflect.DeepEqual(got, tm[:2]) {
			t.Fatalf("got %v", got)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, b, err := c.Read(ctx); err == nil {
			t.Fatalf("a stalled connection sent %.80s", b)
		}
		if conns := srv.Connections(); conns[0].Sent != 2 {
			t.Errorf("record %+v", conns[0])
		}
	})
	t.Run("scripted answers", func(t *testing.T) {
		t.Parallel()
		srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{StatusCodes: []int{429, 503, 0, 500}, RetryAfter: 7 * time.Second})
		for i, want := range []int{429, 503} {
			_, resp, err := websocket.Dial(t.Context(), ts.URL+jetstreamtest.SubscribePath, nil)
			if err == nil || resp == nil || resp.StatusCode != want {
				t.Fatalf("attempt %d: %v %v, want HTTP %d", i+1, err, resp, want)
			}
			if ra := resp.Header.Get("Retry-After"); ra != "7" {
				t.Errorf("attempt %d: Retry-After %q", i+1, ra)
			}
		}
		c := dial(t, ts.URL, "") // 0: upgraded
		read(t, c)
		if _, resp, err := websocket.Dial(t.Context(), ts.URL+jetstreamtest.SubscribePath, nil); err == nil || resp.StatusCode != 500 || resp.Header.Get("Retry-After") != "" {
			t.Errorf("attempt 4: %v %v", err, resp)
		}
		var statuses []int
		for _, r := range srv.Connections() {
			statuses = append(statuses, r.Status)
		}
		if want := []int{429, 503, 101, 500}; !reflect.DeepEqual(statuses, want) || srv.Attempts() != 4 {
			t.Errorf("recorded %v over %d attempts, want %v", statuses, srv.Attempts(), want)
		}
	})
}

// TestBadRequests get the HTTP errors Jetstream gives, and are recorded.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{})
	many := strings.Repeat("&wantedCollections=app.bsky.feed.post", 101)
	tests := []struct {
		name, path string
		ws         bool
		want       int
	}{
		{"cursor not a number", "/subscribe?cursor=yesterday", true, 400},
		{"negative cursor", "/subscribe?cursor=-1", true, 400},
		{"bad collection", "/subscribe?wantedCollections=not%20an%20nsid", true, 400},
		{"empty segment", "/subscribe?wantedCollections=app..post", true, 400},
		{"too many collections", "/subscribe?x=1" + many, true, 400},
		{"another path", "/firehose", true, 404},
		{"not a WebSocket", "/subscribe", false, 426},
	}
	for _, tt := range tests {
		var code int
		if tt.ws {
			_, resp, err := websocket.Dial(t.Context(), ts.URL+tt.path, nil)
			if err == nil || resp == nil {
				t.Fatalf("%s: upgraded, want HTTP %d", tt.name, tt.want)
			}
			code = resp.StatusCode
		} else {
			resp, err := http.Get(ts.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			code = resp.StatusCode
		}
		if code != tt.want {
			t.Errorf("%s: HTTP %d, want %d", tt.name, code, tt.want)
		}
	}
	conns := srv.Connections()
	if len(conns) != 6 { // every request to /subscribe
		t.Fatalf("%d records, want 6", len(conns))
	}
	if c := conns[0]; c.Status != 400 || c.Cursor != "yesterday" || !c.Closed {
		t.Errorf("record %+v", c)
	}
}

// TestPublish wakes waiting connections and keeps time order.
func TestPublish(t *testing.T) {
	t.Parallel()
	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{Events: [][]byte{jetstreamtest.Post(100, "did:plc:a", "3ka", "a")}})
	c := dial(t, ts.URL, "?wantedCollections=app.bsky.feed.post")
	read(t, c)
	if err := srv.Publish(jetstreamtest.Post(99, "did:plc:a", "3kb", "b")); err == nil {
		t.Error("Publish accepted an event older than the last one")
	}
	like := []byte(`{"did":"did:plc:a","time_us":150,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"3kl"}}`)
	if err := srv.Publish(like, []byte("garbage"), jetstreamtest.Post(200, "did:plc:a", "3kc", "c")); err != nil {
		t.Fatal(err)
	}
	if b := read(t, c); string(b) != "garbage" {
		t.Errorf("got %.80s, want the malformed line (always sent), the like filtered out", b)
	}
	if e := decode(t, read(t, c)); e.TimeUS != 200 {
		t.Errorf("got %+v", e)
	}
}

// TestCloseEndsConnections promptly and refuses new ones.
func TestCloseEndsConnections(t *testing.T) {
	t.Parallel()
	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{StallAfter: 1})
	c := dial(t, ts.URL, "")
	read(t, c)
	if srv.Active() != 1 {
		t.Errorf("Active() = %d", srv.Active())
	}
	srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read after Close: %v, want the connection gone", err)
	}
	if srv.Active() != 0 {
		t.Errorf("Active() = %d after Close", srv.Active())
	}
	if _, resp, err := websocket.Dial(t.Context(), ts.URL+jetstreamtest.SubscribePath, nil); err == nil || resp.StatusCode != 503 {
		t.Errorf("after Close: %v %v, want 503", err, resp)
	}
	if err := srv.WaitIdle(t.Context()); err != nil {
		t.Error(err)
	}
}

func TestNewServerValidates(t *testing.T) {
	t.Parallel()
	for _, cfg := range []jetstreamtest.Config{
		{CloseAfter: -1}, {StallAfter: -1}, {MalformedEvery: -1}, {StatusCodes: []int{99}}, {StatusCodes: []int{600}}, {RetryAfter: -time.Second},
		{Events: [][]byte{jetstreamtest.Post(2, "did:plc:a", "3ka", "a"), jetstreamtest.Post(1, "did:plc:a", "3kb", "b")}},
	} {
		if _, err := jetstreamtest.NewServer(cfg); err == nil || !strings.HasPrefix(err.Error(), "jetstreamtest: ") {
			t.Errorf("NewServer(%+v) = %v, want an error", cfg, err)
		}
	}
}

func TestGiant(t *testing.T) {
	t.Parallel()
	g := jetstreamtest.Giant(42, "did:plc:a", "3kg", 1<<20)
	e := decode(t, g)
	if len(g) < 1<<20 || e.TimeUS != 42 || e.Commit.Collection != "app.bsky.feed.post" || strings.Contains(e.Commit.Record.Text, "python") {
		t.Errorf("Giant: %d bytes, %+v", len(g), e)
	}
	if !bytes.HasPrefix(g, []byte(`{"did":"did:plc:a","time_us":42,`)) {
		t.Errorf("Giant does not start with did and time_us: %.60s", g)
	}
}
