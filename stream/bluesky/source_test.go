package bluesky

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/bluesky/jetstreamtest"
	"github.com/streambot/streambot/stream/internal/netstream"
	"github.com/streambot/streambot/stream/internal/sourcetest"
)

func TestNewSourceURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string // want "" means an error
	}{
		{"", "wss://jetstream2.us-east.bsky.network/subscribe"},
		{"  wss://jetstream1.us-west.bsky.network  ", "wss://jetstream1.us-west.bsky.network/subscribe"},
		{"wss://jetstream1.us-west.bsky.network/subscribe", "wss://jetstream1.us-west.bsky.network/subscribe"},
		{"wss://j.test/subscribe/", "wss://j.test/subscribe"},
		{"ws://127.0.0.1:6008", "ws://127.0.0.1:6008/subscribe"},
		{"http://127.0.0.1:6008/", "ws://127.0.0.1:6008/subscribe"},
		{"https://proxy.test/jetstream", "wss://proxy.test/jetstream/subscribe"},
		{"wss://user:s3cret-pw@j.test", "wss://user:xxxxx@j.test/subscribe"},
		{"ftp://j.test", ""},
		{"j.test", ""},
		{"wss://", ""},
		{"wss://j.test/subscribe?wantedCollections=x", ""},
		{"wss://j.test/#frag", ""},
		{"wss://user:s3cret-pw@j.test/%zz", ""},
		{"wss://user:s3cret-pw@j.test?cursor=1", ""},
		{"://s3cret-pw", ""},
	}
	for _, tt := range tests {
		src, err := NewSource(Config{URL: tt.in})
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("NewSource(%q): err = %v, want ErrInvalidConfig", tt.in, err)
			} else if strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "JETSTREAM_URL") {
				t.Errorf("NewSource(%q): error %q must name JETSTREAM_URL and hide the password", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewSource(%q): %v", tt.in, err)
			continue
		}
		if got := src.Endpoint(); got != tt.want {
			t.Errorf("NewSource(%q).Endpoint() = %q, want %q", tt.in, got, tt.want)
		}
		if src.Name() != "bluesky" {
			t.Errorf("Name() = %q", src.Name())
		}
	}
}

// TestStreamsCorpus streams the embedded corpus from the fake server: the
// subscription asks for posts only, the events come in order, each with
// the cursor of its own message.
func TestStreamsCorpus(t *testing.T) {
	t.Parallel()
	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{})
	h := newHarness(t, ts.URL)
	evs, err := h.run(t, nil, untilID("3l3qo6ekl3b2r"))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v, want emit's error", err)
	}
	want := []string{"s:3l3qo2vutsw2b", "s:3l3qo2x5bnm2c", "s:3l3qo33pkdf2d", "s:3l3qo3a7hxk2e", "s:3l3qo3hm4ln2f", "s:3l3qo3oz5sb2g",
		"s:3l3qo4c2rrd2i", "s:3l3qo4jnqvk2j", "d:3l3qo4jnqvk2j", "s:3l3qo56ahsn2m", "s:3l3qo5sfcjo2o", "s:3l3qo5zsg6l2p", "s:3l3qo6ekl3b2r"}
	if got := ids(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
	lines := jetstreamtest.Corpus()
	lineOf := []int{2, 4, 5, 7, 8, 9, 12, 13, 14, 16, 19, 20, 22}
	for i, ev := range evs {
		if want := formatCursor(corpusTime(t, lines, lineOf[i])); ev.Cursor != want {
			t.Errorf("event %d (%s): Cursor %q, want %q", i, ids(evs)[i], ev.Cursor, want)
		}
	}
	if s := evs[10].Status; s.Author.ScreenName != "alice.dev" || s.URL != "https://bsky.app/profile/alice.dev/post/3l3qo5sfcjo2o" {
		t.Errorf("the handle announced mid-stream was not used: %+v", s.Author)
	}
	conns := srv.Connections()
	if len(conns) != 1 || conns[0].Cursor != "" || !reflect.DeepEqual(conns[0].Collections, []string{"app.bsky.feed.post"}) {
		t.Errorf("connections %+v: want one live subscription to app.bsky.feed.post", conns)
	}
	if ua := h.logs.Records(t, "bluesky: connecting"); len(ua) != 1 || ua[0]["cursor"] != "live" {
		t.Errorf("connecting logs %v, want one with cursor live", ua)
	}
	if len(h.logs.Records(t, "ignoring a post update")) != 1 {
		t.Error("the post update was not logged at debug level")
	}
	if got := h.obs.Events(); !reflect.DeepEqual(got, []string{"connected"}) {
		t.Errorf("observer saw %q", got)
	}
}

// TestFirstConnectionCursor: the first connection starts from the
// committed cursor, else the resumed one, minus the rewind; else live.
func TestFirstConnectionCursor(t *testing.T) {
	t.Parallel()
	const c = int64(1725911165329719) // corpus line 2
	tests := []struct {
		name      string
		resume    string
		committed string
		rewind    time.Duration
		want      string
		warn      bool
	}{
		{name: "fresh: live", want: ""},
		{name: "resumed, default rewind", resume: formatCursor(c), want: formatCursor(c - 5_000_000)},
		{name: "resumed, rewind 1s", resume: formatCursor(c), rewind: time.Second, want: formatCursor(c - 1_000_000)},
		{name: "resumed, no rewind", resume: formatCursor(c), rewind: -1, want: formatCursor(c)},
		{name: "committed beats resumed", resume: "5", committed: formatCursor(c), rewind: -1, want: formatCursor(c)},
		{name: "invalid resume: live", resume: "yesterday", want: "", warn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{})
			h := newHarness(t, ts.URL, func(c *Config) { c.Rewind = tt.rewind })
			if tt.resume != "" {
				h.src.Resume(tt.resume)
			}
			if tt.committed != "" {
				h.src.Committed(tt.committed)
			}
			if _, err := h.run(t, nil, func([]stream.Event) bool { return true }); !errors.Is(err, sourcetest.ErrStop) {
				t.Fatal(err)
			}
			if got := srv.Connections()[0].Cursor; got != tt.want {
				t.Errorf("first connection's cursor = %q, want %q", got, tt.want)
			}
			if warned := len(h.logs.Records(t, "invalid resume cursor")) > 0; warned != tt.warn {
				t.Errorf("warned about the resume cursor: %v, want %v", warned, tt.warn)
			}
		})
	}
}

// TestReconnectResumesFromCommitted: after the server closes, the next
// connection starts from the committed cursor minus the rewind, not from
// the last message read; replayed events carry the newest cursor. The
// consumer here lags: each event commits the cursor of the one before it.
func TestReconnectResumesFromCommitted(t *testing.T) {
	t.Parallel()
	lines := jetstreamtest.Corpus()
	t2, t4, t5, t7 := corpusTime(t, lines, 2), corpusTime(t, lines, 4), corpusTime(t, lines, 5), corpusTime(t, lines, 7)
	// Each connection sends 4 events and closes: lines 0, 1, 2, 4 (3 is a
	// like); then 2, 4, 5, 6 from t2-1s; then 4, 5, 6, 7 from t4-1s.
	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{CloseAfter: 4})
	h := newHarness(t, ts.URL, func(c *Config) { c.Rewind = time.Second })
	prev := ""
	lagging := func(ev stream.Event) {
		if prev != "" {
			h.src.Committed(prev)
		}
		prev = ev.Cursor
	}
	evs, err := h.run(t, lagging, untilID("3l3qo3a7hxk2e"))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatal(err)
	}
	const l2, l4, l5, l7 = "s:3l3qo2vutsw2b", "s:3l3qo2x5bnm2c", "s:3l3qo33pkdf2d", "s:3l3qo3a7hxk2e"
	if got, want := ids(evs), []string{l2, l4, l2, l4, l5, l4, l5, l7}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
	var cursors []string
	for _, ev := range evs {
		cursors = append(cursors, ev.Cursor)
	}
	// Line 6 (an account message) emits nothing but moves the cursor.
	c2, c4, c5, c6, c7 := formatCursor(t2), formatCursor(t4), formatCursor(t5), formatCursor(corpusTime(t, lines, 6)), formatCursor(t7)
	if want := []string{c2, c4, c4, c4, c5, c6, c6, c7}; !reflect.DeepEqual(cursors, want) {
		t.Errorf("cursors %q, want %q (never going back on a replay)", cursors, want)
	}
	var got []string
	for _, c := range srv.Connections() {
		got = append(got, c.Cursor)
	}
	if want := []string{"", formatCursor(t2 - 1_000_000), formatCursor(t4 - 1_000_000)}; !reflect.DeepEqual(got, want) {
		t.Errorf("connection cursors %q, want %q: committed minus rewind, not the last read", got, want)
	}
	if conns := srv.Connections(); len(conns) == 3 && (conns[1].First != t2 || conns[2].First != t4) {
		t.Errorf("connections started at %d and %d, want %d and %d", conns[1].First, conns[2].First, t2, t4)
	}
	if got := h.sleeps.Delays(); !reflect.DeepEqual(got, []time.Duration{time.Second, time.Second}) {
		t.Errorf("sleeps %v, want 1s after each connection that delivered", got)
	}
	if got := h.obs.Events(); !reflect.DeepEqual(got, []string{"connected", "disconnected:dropped", "connected", "disconnected:dropped", "connected"}) {
		t.Errorf("observer saw %q", got)
	}
	logged := h.logs.Records(t, "bluesky: connecting")
	if len(logged) != 3 || logged[1]["cursor"] != float64(t2-1_000_000) || logged[1]["cursor_time"] == nil {
		t.Errorf("connecting logs %v: the cursor of each connection must be logged", logged)
	}
}

// TestGiantMessageIsSkippedOnce: a message over MaxMessageBytes makes the
// library close the connection; the source reconnects just past it,
// whatever was committed, and never receives it again.
func TestGiantMessageIsSkippedOnce(t *testing.T) {
	t.Parallel()
	const did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	const t1, t2, t3, t4 = int64(1725911162000000), int64(1725911163000000), int64(1725911164000000), int64(1725911165000000)
	giant := jetstreamtest.Giant(t3, did, "3kgiant", 2<<20)
	// The same message with time_us written last: unreadable in a prefix.
	late := []byte(`{"did":"` + did + `","kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3kgiant","record":{"text":"` +
		strings.Repeat("x", 2<<20) + `"}},"time_us":` + formatCursor(t3) + `}`)
	tests := []struct {
		name    string
		giant   []byte
		commit  bool
		cursors []string // of the fake's connections
	}{
		{"readable time", giant, false, []string{"", formatCursor(t3 + 1)}},
		{"readable time, committed earlier", giant, true, []string{"", formatCursor(t3 + 1)}},
		// The live fallback loses what was published before it connects,
		// so 3kb is published just before the third connection.
		{"unreadable time: after the last read, then live", late, false, []string{"", formatCursor(t2 + 1), ""}},
		{"unreadable time, committed earlier", late, true, []string{"", formatCursor(t2 + 1), ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{Events: [][]byte{
				jetstreamtest.Identity(t1, did, "alice.test"),
				jetstreamtest.Post(t2, did, "3ka", "python before"),
				tt.giant,
			}})
			h := newHarness(t, ts.URL, func(c *Config) { c.MaxMessageBytes = 64 << 10 })
			h.sleeps.Hook = func(n int) {
				if n == len(tt.cursors)-1 { // before the last connection
					if err := srv.WaitIdle(t.Context()); err != nil {
						t.Error(err)
					}
					if err := srv.Publish(jetstreamtest.Post(t4, did, "3kb", "python after")); err != nil {
						t.Error(err)
					}
				}
			}
			each := func(ev stream.Event) {
				if tt.commit {
					h.src.Committed(ev.Cursor)
				}
			}
			evs, err := h.run(t, each, untilID("3kb"))
			if !errors.Is(err, sourcetest.ErrStop) {
				t.Fatal(err)
			}
			if got := ids(evs); !reflect.DeepEqual(got, []string{"s:3ka", "s:3kb"}) {
				t.Errorf("events %q, want both posts once", got)
			}
			var cursors []string
			for _, c := range srv.Connections() {
				cursors = append(cursors, c.Cursor)
			}
			if !reflect.DeepEqual(cursors, tt.cursors) {
				t.Errorf("connection cursors %q, want %q", cursors, tt.cursors)
			}
			if last := srv.Connections()[len(cursors)-1]; last.First != t4 {
				t.Errorf("the last connection started at time_us %d, want %d: the giant was served again", last.First, t4)
			}
			if len(h.logs.Records(t, "over the size limit")) == 0 {
				t.Error("the skipped message was not logged")
			}
			if got := h.obs.Events(); got[1] != "disconnected:too-big" {
				t.Errorf("observer saw %q, want too-big as the first disconnect", got)
			}
			if evs[1].Cursor != formatCursor(t4) {
				t.Errorf("cursor after the skip %q, want %d", evs[1].Cursor, t4)
			}
		})
	}
}

// TestMalformedFramesAreSkipped: garbage, bad fields and injected frames
// are skipped on the same connection, with a rate-limited warning.
func TestMalformedFramesAreSkipped(t *testing.T) {
	t.Parallel()
	const did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{MalformedEvery: 1, Events: [][]byte{
		jetstreamtest.Post(1725911162000000, did, "3ka", "a"),
		[]byte(`not json <script>`),
		jetstreamtest.Post(1725911163000000, did, "3kb", "b"),
		[]byte(`{"did":"` + did + `","time_us":1725911164000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"../x","record":{"text":"x"}}}`),
		jetstreamtest.Post(1725911165000000, did, "3kc", "c"),
	}})
	h := newHarness(t, ts.URL)
	evs, err := h.run(t, nil, untilID("3kc"))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatal(err)
	}
	if got := ids(evs); !reflect.DeepEqual(got, []string{"s:3ka", "s:3kb", "s:3kc"}) {
		t.Errorf("events %q", got)
	}
	if n := srv.Attempts(); n != 1 {
		t.Errorf("%d connections: malformed messages must not cost a reconnect", n)
	}
	// Six malformed messages before 3kc (four injected, two in Events):
	// the first three are logged, the others counted.
	warns := h.logs.Records(t, "skipping a malformed message")
	if len(warns) != 3 {
		t.Errorf("%d warnings, want 3 (rate-limited)", len(warns))
	}
	for _, w := range warns {
		if w["level"] != "WARN" || w["bytes"] == nil || w["skipped_total"] == nil {
			t.Errorf("warning %v lacks its details", w)
		}
	}
}

// TestStallReconnects: a connection that goes silent is closed when the
// watchdog fires and reopened from the committed cursor.
func TestStallReconnects(t *testing.T) {
	t.Parallel()
	const did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	const t1, t2, t3 = int64(1725911162000000), int64(1725911163000000), int64(1725911164000000)
	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{StallAfter: 2, Events: [][]byte{
		jetstreamtest.Post(t1, did, "3ka", "a"), jetstreamtest.Post(t2, did, "3kb", "b"), jetstreamtest.Post(t3, did, "3kc", "c"),
	}})
	timers := sourcetest.NewTimers()
	h := newHarness(t, ts.URL, func(c *Config) {
		c.StallTimeout = 42 * time.Second
		c.Rewind = -1
		c.afterFunc = timers.AfterFunc
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan stream.Event, 16)
	done := sourcetest.Start(ctx, h.src, func(ev stream.Event) error {
		h.src.Committed(ev.Cursor)
		got <- ev
		return nil
	})
	next := func() string {
		t.Helper()
		return ids([]stream.Event{sourcetest.Next(t, got, done)})[0]
	}
	if a, b := next(), next(); a != "s:3ka" || b != "s:3kb" {
		t.Fatalf("first connection: %s %s", a, b)
	}
	timers.Fire(t) // the read after 3kb waits on a stalled server
	if b, c := next(), next(); b != "s:3kb" || c != "s:3kc" {
		t.Fatalf("second connection: %s %s, want 3kb again (cursor = committed) then 3kc", b, c)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	conns := srv.Connections()
	if len(conns) != 2 || conns[1].Cursor != formatCursor(t2) {
		t.Errorf("connections %+v, want a second one from cursor %d", conns, t2)
	}
	if got := h.obs.Events(); len(got) < 3 || got[1] != "disconnected:stalled" {
		t.Errorf("observer saw %q, want connected, stalled, connected", got)
	}
	if len(h.logs.Records(t, "stream ended")) == 0 || !strings.Contains(h.logs.String(), "no message for 42s") {
		t.Error("the stall was not logged")
	}
	for _, d := range timers.Delays() {
		if d != 42*time.Second {
			t.Errorf("watchdog armed for %v, want StallTimeout", d)
		}
	}
}

// TestHTTPErrorsAreRetried: no answer to the upgrade is permanent; the
// back-off doubles, a 429 waits its Retry-After, repeated 4xx are logged as
// errors naming JETSTREAM_URL, and streaming resumes when the server does.
func TestHTTPErrorsAreRetried(t *testing.T) {
	t.Parallel()
	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{
		StatusCodes: []int{400, 404, 500, 429, 403, 503, 426},
		RetryAfter:  90 * time.Second,
	})
	h := newHarness(t, ts.URL)
	evs, err := h.run(t, nil, func([]stream.Event) bool { return true })
	if !errors.Is(err, sourcetest.ErrStop) || len(evs) != 1 {
		t.Fatalf("Run = %v after %d events", err, len(evs))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 90 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute}
	if got := h.sleeps.Delays(); !reflect.DeepEqual(got, want) {
		t.Errorf("sleeps %v, want %v", got, want)
	}
	if got, want := h.obs.Events(), []string{"disconnected:http", "disconnected:http", "disconnected:http", "disconnected:rate-limited", "disconnected:http", "disconnected:http", "disconnected:http", "connected"}; !reflect.DeepEqual(got, want) {
		t.Errorf("observer saw %q, want %q", got, want)
	}
	errs := h.logs.Records(t, "keeps refusing")
	if len(errs) != 2 {
		t.Fatalf("%d error logs, want 2 (the 4xx answers from the third failure on)", len(errs))
	}
	for _, e := range errs {
		if e["level"] != "ERROR" || !strings.Contains(e["msg"].(string), "JETSTREAM_URL") {
			t.Errorf("log %v", e)
		}
	}
	if srv.Attempts() != 8 {
		t.Errorf("%d attempts, want 8", srv.Attempts())
	}
}

// TestUnreachableServerRetries until the context ends, backing off.
func TestUnreachableServerRetries(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	h := newHarness(t, "ws://"+addr)
	h.sleeps.Limit = 4
	if _, err := h.run(t, nil, nil); err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if got, want := h.sleeps.Delays(), []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("sleeps %v, want %v", got, want)
	}
	if got := h.obs.Events(); !reflect.DeepEqual(got, []string{"disconnected:network", "disconnected:network", "disconnected:network", "disconnected:network"}) {
		t.Errorf("observer saw %q", got)
	}
}

// TestEmptyConnectionsBackOff: a server that accepts and closes at once
// gets a growing back-off; a connection that delivers resets it; binary
// frames are skipped.
func TestEmptyConnectionsBackOff(t *testing.T) {
	t.Parallel()
	var attempt atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		switch attempt.Add(1) {
		case 1, 2:
		case 3:
			_ = c.Write(ctx, websocket.MessageBinary, []byte{0x28, 0xb5, 0x2f, 0xfd})
			_ = c.Write(ctx, websocket.MessageText, jetstreamtest.Post(1725911162000000, "did:plc:a", "3ka", "a"))
		default:
			_ = c.Write(ctx, websocket.MessageText, jetstreamtest.Post(1725911163000000, "did:plc:a", "3kb", "b"))
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer ts.Close()
	h := newHarness(t, ts.URL)
	evs, err := h.run(t, nil, untilID("3kb"))
	if !errors.Is(err, sourcetest.ErrStop) || !reflect.DeepEqual(ids(evs), []string{"s:3ka", "s:3kb"}) {
		t.Fatalf("Run = %v, events %q", err, ids(evs))
	}
	if got, want := h.sleeps.Delays(), []time.Duration{time.Second, 2 * time.Second, time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("sleeps %v, want %v", got, want)
	}
	if got, want := h.obs.Events(), []string{"connected", "disconnected:network", "connected", "disconnected:network", "connected", "disconnected:dropped", "connected"}; !reflect.DeepEqual(got, want) {
		t.Errorf("observer saw %q, want %q", got, want)
	}
	if !strings.Contains(h.logs.String(), "binary frame") {
		t.Error("the binary frame was not reported")
	}
}

// TestCancelReturnsPromptly: whatever Run is waiting on, cancelling its
// context makes it return nil.
func TestCancelReturnsPromptly(t *testing.T) {
	t.Parallel()
	signal := func(ready chan<- struct{}) {
		select {
		case ready <- struct{}{}:
		default:
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, ready chan<- struct{}) Config
	}{
		{"reading a silent stream", func(t *testing.T, ready chan<- struct{}) Config {
			_, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{StallAfter: 3})
			return Config{URL: ts.URL} // ready: emit signals the first event, corpus line 2
		}},
		{"in the handshake", func(t *testing.T, ready chan<- struct{}) Config {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			accepted := make(chan net.Conn, 8)
			t.Cleanup(func() {
				l.Close()
				for {
					select {
					case c := <-accepted:
						c.Close()
					default:
						return
					}
				}
			})
			go func() {
				for {
					c, err := l.Accept() // accept, never answer
					if err != nil {
						return
					}
					accepted <- c
					signal(ready)
				}
			}()
			return Config{URL: "ws://" + l.Addr().String()}
		}},
		{"waiting to reconnect", func(t *testing.T, ready chan<- struct{}) Config {
			_, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{StatusCodes: []int{500}})
			return Config{URL: ts.URL, Backoff: Backoff{Initial: time.Hour}, Sleep: func(ctx context.Context, d time.Duration) error {
				signal(ready)
				return netstream.Sleep(ctx, d) // the real timer, an hour long
			}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ready := make(chan struct{}, 1)
			src, err := NewSource(tt.setup(t, ready))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := sourcetest.Start(ctx, src, func(stream.Event) error {
				signal(ready)
				return nil
			})
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("Run returned early: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("the source never reached the state under test")
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
		})
	}
}

func TestSleepErrorEndsRun(t *testing.T) {
	t.Parallel()
	_, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{StatusCodes: []int{500}})
	boom := errors.New("boom")
	src, err := NewSource(Config{URL: ts.URL, Sleep: func(context.Context, time.Duration) error { return boom }})
	if err != nil {
		t.Fatal(err)
	}
	err = src.Run(t.Context(), func(stream.Event) error { return nil })
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "bluesky: ") {
		t.Errorf("Run = %v, want a bluesky error wrapping the Sleep error", err)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	var b Backoff
	var got []time.Duration
	for range 9 {
		got = append(got, b.Next())
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i := range want {
		want[i] *= time.Second
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schedule %v, want %v", got, want)
	}
	b.Reset()
	if d := b.Next(); d != time.Second {
		t.Errorf("after Reset: %v", d)
	}
	custom := Backoff{Initial: 3 * time.Second, Max: 2 * time.Second} // Max below Initial: Initial wins
	if d := custom.Next(); d != 3*time.Second {
		t.Errorf("custom: %v", d)
	}
	for _, r := range []Reason{ReasonDropped, ReasonNetwork, ReasonStalled, ReasonTooBig, ReasonHTTP, ReasonRateLimited, 99} {
		if r.String() == "" {
			t.Errorf("Reason(%d) has no name", r)
		}
	}
	if retryAfter("120") != 2*time.Minute || retryAfter("999999") != MaxRetryAfter || retryAfter("soon") != 0 || retryAfter("-1") != 0 {
		t.Error("retryAfter parses wrongly")
	}
}

// The source satisfies what package bot looks for.
var (
	_ stream.Source  = (*Source)(nil)
	_ stream.Resumer = (*Source)(nil)
	_ interface {
		Observe(stream.ConnectionObserver)
	} = (*Source)(nil)
)
