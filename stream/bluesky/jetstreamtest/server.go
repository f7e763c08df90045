package jetstreamtest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// SubscribePath is the path of the WebSocket endpoint the server serves.
const SubscribePath = "/subscribe"

// MalformedFrame is the text frame Config.MalformedEvery injects: not JSON.
const MalformedFrame = `{"did":"did:plc:broken","time_us":` + "\x00garbage"

// maxCollections is Jetstream's limit on wantedCollections values.
const maxCollections = 100

// maxRecords is how many connection records a Server keeps.
const maxRecords = 4096

// Config configures a Server. The zero value serves the embedded corpus
// once, as fast as clients read, with no faults.
type Config struct {
	// Events are the Jetstream messages to serve, one JSON message per
	// element, in time_us order (equal times allowed); empty means Corpus().
	// An element whose time_us cannot be read (a malformed message) is
	// served as it is, in its place, and filtered as if it had the time of
	// the message before it. The server does not modify them. Publish adds
	// more while the server runs.
	Events [][]byte

	// CloseAfter closes each connection (a normal WebSocket close) after
	// that many events were sent on it; 0 never. Events counted here and
	// below are the ones that passed the connection's filters; injected
	// frames do not count.
	CloseAfter int
	// StallAfter stops sending on each connection after that many events,
	// keeping it open until the client goes away or the server closes; 0
	// never.
	StallAfter int
	// MalformedEvery writes MalformedFrame after every that many events.
	MalformedEvery int
	// StatusCodes scripts the answers to successive connection attempts:
	// attempt k (counting every request to SubscribePath) is answered
	// StatusCodes[k-1] with a JSON error body instead of being upgraded,
	// unless that is 0 or 101; attempts past the list are upgraded.
	StatusCodes []int
	// RetryAfter is the Retry-After header, in whole seconds, of scripted
	// 429 and 503 answers; 0 sends none.
	RetryAfter time.Duration

	// Logger receives a line per connection and per connection end; nil
	// discards.
	Logger *slog.Logger
}

// Connection records one request to SubscribePath.
type Connection struct {
	// Attempt numbers the requests from 1.
	Attempt int
	// Time is when the request arrived.
	Time time.Time
	// RemoteAddr is the client's address.
	RemoteAddr string
	// Query is the request's query.
	Query url.Values
	// Cursor is the cursor parameter as sent; "" for the live stream.
	Cursor string
	// Collections are the wantedCollections values.
	Collections []string
	// Status is 101 for an upgraded connection, else the HTTP status the
	// server answered.
	Status int
	// Sent counts the events sent on the connection so far, including one
	// being written (not the injected frames); First and Last are the
	// time_us of the first and the last of them, 0 before any.
	Sent        int
	First, Last int64
	// Closed reports that the connection has ended.
	Closed bool
}

// item is one event of the server's sequence.
type item struct {
	data       []byte
	timeUS     int64  // its own, or the previous item's for a malformed one
	kind       string // "" when malformed
	collection string
}

// Server is a fake Jetstream server: an http.Handler for the WebSocket
// endpoint SubscribePath. Create it with NewServer; its methods are safe
// for concurrent use.
//
// It holds one sequence of events (Config.Events, then what Publish adds)
// and serves each connection from the first event with time_us >= its
// cursor, in order. A connection without a cursor is "live": it starts
// after the furthest event the server has sent on any connection (at the
// start of the sequence for the first one). When a connection has sent
// everything, it waits for Publish.
//
// Filtering follows Jetstream: a commit is sent when its collection matches
// one of wantedCollections (an NSID, or a prefix ending in ".*"), or when
// there are none; identity and account messages are always sent, and so
// are malformed ones. An invalid cursor or collection gets HTTP 400.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context // ends when the server closes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	items    []item
	changed  chan struct{} // closed and replaced when items grow
	head     int           // the furthest position sent on any connection
	attempts int
	records  []*Connection
	active   map[*websocket.Conn]struct{}
	handlers int           // requests being served
	idle     chan struct{} // closed and replaced when handlers drops to 0
}

// NewServer returns a Server for cfg, or an error naming an invalid field.
func NewServer(cfg Config) (*Server, error) {
	for _, f := range []struct {
		name string
		n    int
	}{{"CloseAfter", cfg.CloseAfter}, {"StallAfter", cfg.StallAfter}, {"MalformedEvery", cfg.MalformedEvery}} {
		if f.n < 0 {
			return nil, fmt.Errorf("jetstreamtest: %s is %d, must not be negative", f.name, f.n)
		}
	}
	for i, code := range cfg.StatusCodes {
		if code != 0 && code != http.StatusSwitchingProtocols && (code < 200 || code > 599) {
			return nil, fmt.Errorf("jetstreamtest: StatusCodes[%d] is %d, want 0, 101 or 200–599", i, code)
		}
	}
	if cfg.RetryAfter < 0 {
		return nil, fmt.Errorf("jetstreamtest: RetryAfter %v must not be negative", cfg.RetryAfter)
	}
	events := cfg.Events
	if len(events) == 0 {
		events = Corpus()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, changed: make(chan struct{}), idle: make(chan struct{}), active: map[*websocket.Conn]struct{}{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.append(events); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// NewTestServer starts a Server for cfg on a loopback httptest.Server and
// registers a cleanup that closes both. An invalid cfg fails the test.
// Point a client at ts.URL (http://...; a Jetstream client takes it as ws).
func NewTestServer(tb testing.TB, cfg Config) (*Server, *httptest.Server) {
	tb.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(s)
	tb.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, ts
}

// Publish appends events to the sequence; waiting connections send them at
// once. Their time_us must not be before the last event's.
func (s *Server) Publish(events ...[]byte) error {
	return s.append(events)
}

// append validates and adds events, waking the connections.
func (s *Server) append(events [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last int64
	if n := len(s.items); n > 0 {
		last = s.items[n-1].timeUS
	}
	add := make([]item, 0, len(events))
	for i, data := range events {
		it := parseItem(data)
		if it.kind == "" {
			it.timeUS = last
		} else if it.timeUS < last {
			return fmt.Errorf("jetstreamtest: event %d has time_us %d, before the previous event's %d", i, it.timeUS, last)
		}
		last = it.timeUS
		add = append(add, it)
	}
	s.items = append(s.items, add...)
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

// parseItem reads the fields the server filters on; a message without a
// kind and a positive time_us is malformed (kind "").
func parseItem(data []byte) item {
	var m struct {
		TimeUS int64  `json:"time_us"`
		Kind   string `json:"kind"`
		Commit *struct {
			Collection string `json:"collection"`
		} `json:"commit"`
	}
	it := item{data: data}
	if json.Unmarshal(data, &m) != nil || m.TimeUS <= 0 || m.Kind == "" {
		return it
	}
	it.timeUS, it.kind = m.TimeUS, m.Kind
	if m.Commit != nil {
		it.collection = m.Commit.Collection
	}
	return it
}

// Attempts returns how many requests to SubscribePath the server has seen.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Active returns how many WebSocket connections are open now.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

// Connections returns copies of the records of the requests so far, oldest
// first (at most the latest 4096).
func (s *Server) Connections() []Connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Connection, len(s.records))
	for i, r := range s.records {
		out[i] = *r
		out[i].Query = cloneValues(r.Query)
		out[i].Collections = slices.Clone(r.Collections)
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// WaitIdle waits until the server serves no request: every connection a
// client dropped has been let go. A live connection (no cursor) starts
// after the furthest event sent on any connection, and a connection whose
// client is leaving may still take events, so a test that publishes events
// for the next live connection waits for this first. It returns ctx's
// error if ctx ends first.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.handlers == 0 {
			s.mu.Unlock()
			return nil
		}
		idle := s.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close ends every connection at once and waits for their handlers. The
// Server answers 503 afterwards. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for c := range s.active {
			c.CloseNow()
		}
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// ServeHTTP serves SubscribePath.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != SubscribePath {
		httpError(w, http.StatusNotFound, "not found: the endpoint is "+SubscribePath)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		httpError(w, http.StatusServiceUnavailable, "the server is shutting down")
		return
	}
	s.attempts++
	rec := &Connection{
		Attempt: s.attempts, Time: time.Now(), RemoteAddr: r.RemoteAddr, Query: cloneValues(r.URL.Query()),
		Cursor: r.URL.Query().Get("cursor"), Collections: r.URL.Query()["wantedCollections"],
	}
	s.records = append(s.records, rec)
	if len(s.records) > maxRecords {
		s.records = slices.Delete(s.records, 0, len(s.records)-maxRecords)
	}
	scripted := 0
	if k := rec.Attempt - 1; k < len(s.cfg.StatusCodes) {
		scripted = s.cfg.StatusCodes[k]
	}
	s.wg.Add(1)
	s.handlers++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.handlers--; s.handlers == 0 {
			close(s.idle)
			s.idle = make(chan struct{})
		}
		s.mu.Unlock()
		s.wg.Done()
	}()

	answer := func(code int, msg string) {
		s.mu.Lock()
		rec.Status, rec.Closed = code, true
		s.mu.Unlock()
		if (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && s.cfg.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter/time.Second)))
		}
		httpError(w, code, msg)
		s.log.Info("jetstreamtest: refused", "attempt", rec.Attempt, "status", code, "reason", msg)
	}
	if scripted != 0 && scripted != http.StatusSwitchingProtocols {
		answer(scripted, "scripted answer")
		return
	}
	cursor, wanted, msg := parseQuery(r.URL.Query())
	if msg != "" {
		answer(http.StatusBadRequest, msg)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		answer(http.StatusUpgradeRequired, "this is a WebSocket endpoint")
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.mu.Lock()
		rec.Status, rec.Closed = http.StatusBadRequest, true // Accept answered a 4xx
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.CloseNow()
		return
	}
	rec.Status = http.StatusSwitchingProtocols
	s.active[c] = struct{}{}
	s.mu.Unlock()
	s.log.Info("jetstreamtest: connected", "attempt", rec.Attempt, "cursor", rec.Cursor, "collections", rec.Collections)

	why := s.stream(c, rec, cursor, wanted)

	c.CloseNow()
	s.mu.Lock()
	delete(s.active, c)
	rec.Closed = true
	s.mu.Unlock()
	s.log.Info("jetstreamtest: connection ended", "attempt", rec.Attempt, "sent", rec.Sent, "why", why)
}

// stream sends the events of one connection until it ends; it returns why.
func (s *Server) stream(c *websocket.Conn, rec *Connection, cursor int64, wanted []string) string {
	// CloseRead answers the client's control frames and ends ctx when the
	// client goes away; ctx also ends when the server closes.
	ctx := c.CloseRead(s.ctx)
	s.mu.Lock()
	pos := s.head
	if cursor > 0 {
		// The first event with time_us >= cursor (the leftmost of equal ones).
		pos, _ = slices.BinarySearchFunc(s.items, cursor, func(it item, c int64) int {
			switch {
			case it.timeUS < c:
				return -1
			case it.timeUS > c:
				return 1
			}
			return 0
		})
	}
	s.mu.Unlock()
	sent := 0
	for {
		s.mu.Lock()
		for pos < len(s.items) && !wants(wanted, s.items[pos]) {
			pos++
		}
		s.head = max(s.head, pos)
		if pos == len(s.items) {
			changed := s.changed
			s.mu.Unlock()
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return "closed"
			}
		}
		it := s.items[pos]
		pos++
		s.head = max(s.head, pos)
		s.mu.Unlock()

		// Recorded before the write, so that whatever a client received is
		// in the record by the time it looks.
		sent++
		s.mu.Lock()
		rec.Sent = sent
		if rec.First == 0 {
			rec.First = it.timeUS
		}
		rec.Last = it.timeUS
		s.mu.Unlock()
		if err := c.Write(ctx, websocket.MessageText, it.data); err != nil {
			return "write: " + err.Error()
		}
		if s.cfg.MalformedEvery > 0 && sent%s.cfg.MalformedEvery == 0 {
			if err := c.Write(ctx, websocket.MessageText, []byte(MalformedFrame)); err != nil {
				return "write: " + err.Error()
			}
		}
		if s.cfg.CloseAfter > 0 && sent >= s.cfg.CloseAfter {
			c.Close(websocket.StatusNormalClosure, "jetstreamtest: CloseAfter")
			return "CloseAfter"
		}
		if s.cfg.StallAfter > 0 && sent >= s.cfg.StallAfter {
			<-ctx.Done()
			return "stalled"
		}
	}
}

// wants reports whether a connection with these wantedCollections gets it.
func wants(wanted []string, it item) bool {
	if it.kind != "commit" || len(wanted) == 0 {
		return true
	}
	for _, w := range wanted {
		if p, ok := strings.CutSuffix(w, ".*"); ok {
			if strings.HasPrefix(it.collection, p+".") {
				return true
			}
		} else if it.collection == w {
			return true
		}
	}
	return false
}

// parseQuery validates the parameters; msg explains a 400.
func parseQuery(q url.Values) (cursor int64, wanted []string, msg string) {
	if v := q.Get("cursor"); v != "" {
		c, err := strconv.ParseInt(v, 10, 64)
		if err != nil || c < 0 {
			return 0, nil, "invalid cursor: want unix microseconds"
		}
		cursor = c
	}
	wanted = q["wantedCollections"]
	if len(wanted) > maxCollections {
		return 0, nil, fmt.Sprintf("too many wantedCollections: at most %d", maxCollections)
	}
	for _, w := range wanted {
		if !validCollection(strings.TrimSuffix(w, ".*")) {
			return 0, nil, "invalid wantedCollections value"
		}
	}
	return cursor, wanted, ""
}

// validCollection checks NSID-like syntax: at least two dot-separated
// segments of letters, digits and hyphens.
func validCollection(s string) bool {
	parts := strings.Split(s, ".")
	if len(s) > 317 || len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for _, c := range p {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// httpError writes a JSON error as Jetstream's HTTP server does.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
