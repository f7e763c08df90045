package mastodontest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// DemoToken is the access token a Server accepts when Config.Token is empty.
const DemoToken = "mastodontest-demo-token-5f0c2a9d7e"

// DefaultHeartbeat is the interval of ":thump" comments when
// Config.Heartbeat is 0: Mastodon's streaming server writes one every 15 s.
const DefaultHeartbeat = 15 * time.Second

// The paths the server answers.
const (
	InstanceV2Path   = "/api/v2/instance"                // names the streaming server in configuration.urls.streaming
	InstanceV1Path   = "/api/v1/instance"                // names it in urls.streaming_api
	HealthPath       = "/api/v1/streaming/health"        // answers "OK"
	PublicPath       = "/api/v1/streaming/public"        // every status
	PublicLocalPath  = "/api/v1/streaming/public/local"  // statuses of local accounts
	HashtagPath      = "/api/v1/streaming/hashtag"       // statuses with the hashtag in ?tag=
	HashtagLocalPath = "/api/v1/streaming/hashtag/local" // the same, of local accounts
)

// maxRecords is how many request records a Server keeps.
const maxRecords = 4096

// Event is one server-sent event of the script: its name ("update",
// "status.update", "delete", "notification", ...) and its data. Data that
// holds "\n" is written as several data lines, as the protocol allows.
type Event struct {
	Name string // the event: line
	Data string // the data: lines, joined with "\n"
}

// Update is the event of a new status (a Status entity in JSON).
func Update(status []byte) Event { return Event{Name: "update", Data: string(status)} }

// Edit is the event of an edited status (Mastodon 3.5+: "status.update").
func Edit(status []byte) Event { return Event{Name: "status.update", Data: string(status)} }

// Delete is the event of a deleted status: its id.
func Delete(id string) Event { return Event{Name: "delete", Data: id} }

// Config configures a Server. The zero value serves the embedded corpus
// (Corpus) once, as update events, to clients with the demo token, with
// heartbeats every 15 s and no faults.
type Config struct {
	// Token is the access token clients must send ("Authorization: Bearer",
	// or the access_token query parameter, which Mastodon also accepts);
	// empty means DemoToken.
	Token string

	// Events is the script every stream plays, in order, each event sent to
	// the streams it belongs on (see Server). Empty means Statuses as
	// update events.
	Events []Event
	// Statuses are Status entities to send as update events when Events is
	// empty; both empty means the embedded corpus.
	Statuses [][]byte

	// CloseAfter ends each stream after it wrote that many events; 0 never.
	CloseAfter int
	// StatusCodes scripts the answers to successive stream requests:
	// attempt k (counting every request to a stream path, see
	// Server.Connections) that carries the token gets StatusCodes[k-1]
	// with a Mastodon-style {"error": ...} body, unless it is 200; attempts
	// past the list stream normally. Each code must be 200–599.
	StatusCodes []int
	// RetryAfter, when positive, is sent as the Retry-After header (in
	// seconds) with scripted 429 and 503 answers.
	RetryAfter int
	// Heartbeat is the interval of ":thump" comments on an idle stream; 0
	// means DefaultHeartbeat, negative disables them.
	Heartbeat time.Duration
	// Stall makes each stream go silent, heartbeats included, after it
	// wrote StallAfter events (0: right after its ":)" greeting), keeping
	// the connection open until the client leaves or the server closes.
	Stall bool
	// StallAfter is how many events a stream writes before it stalls.
	StallAfter int

	// MultiLineData writes JSON data indented over several data lines.
	MultiLineData bool
	// CRLF ends lines with "\r\n" instead of "\n".
	CRLF bool

	// StreamingURL is the streaming URL the instance endpoints announce;
	// empty means "ws://" and the host the request was sent to (NewTestServer
	// with SeparateStreamingHost sets it to the second server).
	StreamingURL string
	// SeparateStreamingHost, for NewTestServer, serves the streams from a
	// second loopback server, as large instances do; the instance server
	// then answers the streaming paths with 404.
	SeparateStreamingHost bool
	// NoInstanceV2 and NoInstanceV1 answer /api/v2/instance (Mastodon
	// before 4.0) and /api/v1/instance with 404.
	NoInstanceV2 bool
	// NoInstanceV1: see NoInstanceV2.
	NoInstanceV1 bool

	// Logger receives a line per request; nil discards.
	Logger *slog.Logger

	// onStall, set by this package's tests (export_test.go), is called
	// when a stream stops writing (Stall), from its handler goroutine.
	onStall func()
}

func (c *Config) validate() error {
	switch {
	case c.CloseAfter < 0:
		return fmt.Errorf("mastodontest: CloseAfter is %d, must not be negative", c.CloseAfter)
	case c.StallAfter < 0:
		return fmt.Errorf("mastodontest: StallAfter is %d, must not be negative", c.StallAfter)
	case strings.ContainsAny(c.Token, " \t\r\n"):
		return fmt.Errorf("mastodontest: Token must not hold whitespace")
	}
	for i, code := range c.StatusCodes {
		if code < 200 || code > 599 {
			return fmt.Errorf("mastodontest: StatusCodes[%d] is %d, want 200–599", i, code)
		}
	}
	for i, ev := range c.Events {
		if ev.Name == "" || strings.ContainsAny(ev.Name, "\r\n") {
			return fmt.Errorf("mastodontest: Events[%d] has an empty or multi-line name", i)
		}
		if strings.Contains(ev.Data, "\r") {
			return fmt.Errorf("mastodontest: Events[%d] data holds a carriage return", i)
		}
	}
	for i, st := range c.Statuses {
		if bytes.Contains(st, []byte("\r")) {
			return fmt.Errorf("mastodontest: Statuses[%d] holds a carriage return", i)
		}
	}
	return nil
}

// Request records one request the server received. It never holds the
// token.
type Request struct {
	// Attempt is the request's number among requests to stream paths
	// (whatever the answer, on either server), counting from 1; 0 for other
	// paths and the health check.
	Attempt int
	// Time is when the request arrived.
	Time time.Time
	// Streaming reports a request to the separate streaming server.
	Streaming bool
	// Method is the request's method.
	Method string
	// Path is the request's URL path.
	Path string
	// Query holds the query parameters, access_token's value replaced by
	// "[REDACTED]".
	Query url.Values
	// Stream names the stream requested ("public", "public:local",
	// "hashtag:python", "hashtag:local:python"); empty for other paths.
	Stream string
	// Auth is "ok", "missing" or "invalid" for stream requests; empty for
	// other paths.
	Auth string
	// TokenInQuery reports a token sent as the access_token query
	// parameter: a URL that holds a secret ends up in logs.
	TokenInQuery bool
	// Accept is the Accept header.
	Accept string
	// Status is the HTTP status the server answered.
	Status int
}

// Server is a fake Mastodon instance for streaming clients: an
// http.Handler for the instance endpoints (/api/v2/instance,
// /api/v1/instance) and the streaming API (/api/v1/streaming/health, the
// public, public/local, hashtag and hashtag/local streams as server-sent
// events). Create it with NewServer or NewTestServer; its methods are safe
// for concurrent use.
//
// Each stream writes Mastodon's ":)" greeting, then the events of the
// script that belong on it, then ":thump" heartbeats. Statuses (update and
// status.update events) go to the public stream; to public/local when the
// account is local (its acct has no '@'); to a hashtag stream when one of
// their tags matches, ignoring case. A boost goes where its booster and
// the boosted post's tags send it (real Mastodon sends boosts only to home
// timelines; the fake sends them to exercise clients). Deletes, other
// events and data that is not JSON go to every stream.
//
// Position is server-wide per stream: a new connection to the public
// stream, or to the same hashtag, continues where the previous one stopped,
// so a client that reconnects sees each event once, as with a live
// instance where nothing was posted meanwhile.
type Server struct {
	cfg       Config
	token     string
	items     []item
	heartbeat time.Duration
	log       *slog.Logger
	closing   chan struct{}
	wg        sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	streaming string // announced streaming URL
	attempts  int
	records   []Request
	active    map[*http.ResponseController]struct{}
	pos       map[string]int // next script index per stream
}

// item is one event of the script, framed, with what routes it.
type item struct {
	frame []byte
	all   bool     // goes to every stream
	local bool     // the account is local
	tags  []string // lowercase
}

// NewServer returns a Server for cfg, or an error naming an invalid field.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		token:     cfg.Token,
		heartbeat: cfg.Heartbeat,
		log:       cfg.Logger,
		closing:   make(chan struct{}),
		streaming: cfg.StreamingURL,
		active:    map[*http.ResponseController]struct{}{},
		pos:       map[string]int{},
	}
	if s.token == "" {
		s.token = DemoToken
	}
	if s.heartbeat == 0 {
		s.heartbeat = DefaultHeartbeat
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	events := cfg.Events
	if len(events) == 0 {
		statuses := cfg.Statuses
		if len(statuses) == 0 {
			statuses = Corpus()
		}
		for _, st := range statuses {
			events = append(events, Update(st))
		}
	}
	for _, ev := range events {
		s.items = append(s.items, s.newItem(ev))
	}
	return s, nil
}

// NewTestServer starts a Server for cfg on a loopback httptest.Server (and,
// with SeparateStreamingHost, the streams on a second one) and registers a
// cleanup that closes them. It returns the instance server, whose URL is
// the client's instance URL. An invalid cfg fails the test.
func NewTestServer(tb testing.TB, cfg Config) (*Server, *httptest.Server) {
	tb.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(s)
	var st *httptest.Server
	if cfg.SeparateStreamingHost {
		st = httptest.NewServer(s.StreamingHandler())
		if cfg.StreamingURL == "" {
			s.SetStreamingURL("ws://" + st.Listener.Addr().String())
		}
	}
	tb.Cleanup(func() {
		s.Close()
		ts.Close()
		if st != nil {
			st.Close()
		}
	})
	return s, ts
}

// SetStreamingURL sets the streaming URL the instance endpoints announce
// (see Config.StreamingURL).
func (s *Server) SetStreamingURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streaming = u
}

// StreamingHandler returns the handler of a separate streaming server: the
// streaming paths only.
func (s *Server) StreamingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, true) })
}

// ServeHTTP answers the instance endpoints and, unless
// Config.SeparateStreamingHost is set, the streaming API; other paths get
// 404 with {"error":"Record not found"}.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(w, r, false) }

// Connections returns how many requests to stream paths the server has
// seen, answered or not.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Active returns how many streams are open now.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

// Requests returns a copy of the records of the requests received so far,
// oldest first (at most the latest 4096).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.records))
	for i, r := range s.records {
		q := url.Values{}
		for k, v := range r.Query {
			q[k] = append([]string(nil), v...)
		}
		r.Query = q
		out[i] = r
	}
	return out
}

// Close ends every open stream, stalled ones and ones blocked on a client
// that stopped reading included, and waits until their handlers returned.
// Later stream requests get 503. Close is idempotent; call it before
// httptest.Server.Close, which waits for handlers.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
		for rc := range s.active {
			_ = rc.SetWriteDeadline(time.Now()) // unblocks a Write to a client that stopped reading
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serve routes a request; streamingHost marks the separate streaming server.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, streamingHost bool) {
	rec := Request{Time: time.Now(), Streaming: streamingHost, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Accept: r.Header.Get("Accept")}
	if rec.Query.Has("access_token") {
		rec.TokenInQuery = true
		rec.Query.Set("access_token", "[REDACTED]")
	}
	isStreamPath := strings.HasPrefix(r.URL.Path, "/api/v1/streaming")
	if isStreamPath && r.URL.Path != HealthPath {
		s.mu.Lock()
		s.attempts++
		rec.Attempt = s.attempts
		s.mu.Unlock()
	}
	switch {
	case r.Method != http.MethodGet:
		s.finish(&rec, w, r, http.StatusMethodNotAllowed, "Method not allowed")
	case streamingHost && !isStreamPath, !streamingHost && isStreamPath && s.cfg.SeparateStreamingHost:
		s.finish(&rec, w, r, http.StatusNotFound, "Record not found")
	case r.URL.Path == InstanceV2Path && !s.cfg.NoInstanceV2:
		s.instance(&rec, w, r, 2)
	case r.URL.Path == InstanceV1Path && !s.cfg.NoInstanceV1:
		s.instance(&rec, w, r, 1)
	case r.URL.Path == HealthPath:
		rec.Status = http.StatusOK
		s.record(rec)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("OK"))
	case isStreamPath:
		s.stream(&rec, w, r)
	default:
		s.finish(&rec, w, r, http.StatusNotFound, "Record not found")
	}
}

// finish answers an error in Mastodon's JSON form and records it.
func (s *Server) finish(rec *Request, w http.ResponseWriter, r *http.Request, code int, msg string) {
	rec.Status = code
	s.record(*rec)
	if (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && s.cfg.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(s.cfg.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	body, _ := json.Marshal(map[string]string{"error": msg})
	_, _ = w.Write(body)
}

// record keeps rec and logs it.
func (s *Server) record(rec Request) {
	s.mu.Lock()
	if len(s.records) == maxRecords {
		s.records = append(s.records[:0], s.records[1:]...)
	}
	s.records = append(s.records, rec)
	s.mu.Unlock()
	s.log.Info("mastodontest: request", "attempt", rec.Attempt, "method", rec.Method, "path", rec.Path,
		"query", rec.Query.Encode(), "stream", rec.Stream, "auth", rec.Auth, "status", rec.Status)
}

// instance answers /api/v2/instance or /api/v1/instance with the fields
// clients use, shaped like Mastodon 4.3's.
func (s *Server) instance(rec *Request, w http.ResponseWriter, r *http.Request, version int) {
	s.mu.Lock()
	su := s.streaming
	s.mu.Unlock()
	if su == "" {
		su = "ws://" + r.Host
	}
	var doc any
	if version == 2 {
		doc = map[string]any{
			"domain": r.Host, "title": "mastodontest", "version": "4.3.0", "source_url": "https://github.com/mastodon/mastodon",
			"description": "A fake instance for tests", "usage": map[string]any{"users": map[string]int{"active_month": 20}},
			"languages": []string{"en"},
			"configuration": map[string]any{
				"urls":     map[string]any{"streaming": su, "status": nil},
				"statuses": map[string]int{"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23},
			},
			"registrations": map[string]any{"enabled": false, "approval_required": false, "message": nil},
			"api_versions":  map[string]int{"mastodon": 2},
			"rules":         []any{},
		}
	} else {
		doc = map[string]any{
			"uri": r.Host, "title": "mastodontest", "short_description": "A fake instance for tests", "description": "",
			"email": "", "version": "4.3.0", "urls": map[string]string{"streaming_api": su},
			"stats":     map[string]int{"user_count": 20, "status_count": 20, "domain_count": 9},
			"languages": []string{"en"}, "registrations": false, "approval_required": false, "contact_account": nil, "rules": []any{},
		}
	}
	body, _ := json.Marshal(doc)
	rec.Status = http.StatusOK
	s.record(*rec)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}

// stream answers a stream request: checks, then the event stream.
func (s *Server) stream(rec *Request, w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()

	q := r.URL.Query()
	tag := strings.ToLower(strings.TrimPrefix(q.Get("tag"), "#"))
	switch r.URL.Path {
	case PublicPath:
		rec.Stream = "public"
	case PublicLocalPath:
		rec.Stream = "public:local"
	case HashtagPath:
		rec.Stream = "hashtag:" + tag
	case HashtagLocalPath:
		rec.Stream = "hashtag:local:" + tag
	default:
		s.finish(rec, w, r, http.StatusNotFound, "Unknown stream type")
		return
	}
	token := q.Get("access_token")
	if h := r.Header.Get("Authorization"); h != "" {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	switch {
	case token == "":
		rec.Auth = "missing"
		s.finish(rec, w, r, http.StatusUnauthorized, "Missing access token")
		return
	case token != s.token:
		rec.Auth = "invalid"
		s.finish(rec, w, r, http.StatusUnauthorized, "Invalid access token")
		return
	}
	rec.Auth = "ok"
	switch {
	case strings.HasPrefix(rec.Stream, "hashtag") && tag == "":
		s.finish(rec, w, r, http.StatusBadRequest, "No tag for stream provided")
		return
	case closed:
		s.finish(rec, w, r, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case rec.Attempt <= len(s.cfg.StatusCodes) && s.cfg.StatusCodes[rec.Attempt-1] != http.StatusOK:
		code := s.cfg.StatusCodes[rec.Attempt-1]
		s.finish(rec, w, r, code, http.StatusText(code))
		return
	}

	rc := http.NewResponseController(w)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.finish(rec, w, r, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	s.active[rc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.active, rc)
		s.mu.Unlock()
		s.wg.Done()
	}()
	rec.Status = http.StatusOK
	s.record(*rec)
	s.play(w, r, rc, rec.Stream, tag)
}

// play writes the stream until the script, CloseAfter or Stall ends it,
// the client leaves or the server closes.
func (s *Server) play(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, key, tag string) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(s.line(":)")) {
		return
	}
	var beat <-chan time.Time
	if s.heartbeat > 0 {
		t := time.NewTicker(s.heartbeat)
		defer t.Stop()
		beat = t.C
	}
	local := strings.Contains(key, "local")
	sent := 0
	for {
		if s.cfg.CloseAfter > 0 && sent >= s.cfg.CloseAfter {
			return
		}
		if s.cfg.Stall && sent >= s.cfg.StallAfter {
			if s.cfg.onStall != nil {
				s.cfg.onStall()
			}
			// Nothing is written from here on, heartbeats included.
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			return
		}
		if it, ok := s.claim(key, local, tag); ok {
			if !write(it.frame) {
				return
			}
			sent++
			continue
		}
		select {
		case <-beat:
			if !write(s.line(":thump")) {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
}

// claim takes the next event of the script for the stream key.
func (s *Server) claim(key string, local bool, tag string) (item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := s.pos[key]; i < len(s.items); i++ {
		it := s.items[i]
		if it.all || ((!local || it.local) && (tag == "" || containsTag(it.tags, tag))) {
			s.pos[key] = i + 1
			return it, true
		}
	}
	s.pos[key] = len(s.items)
	return item{}, false
}

func containsTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

// line frames one line.
func (s *Server) line(text string) []byte {
	if s.cfg.CRLF {
		return []byte(text + "\r\n")
	}
	return []byte(text + "\n")
}

// newItem frames ev and reads what routes it.
func (s *Server) newItem(ev Event) item {
	data := ev.Data
	var st struct {
		Account *struct {
			Acct string `json:"acct"`
		} `json:"account"`
		Tags []struct {
			Name string `json:"name"`
		} `json:"tags"`
		Reblog *struct {
			Tags []struct {
				Name string `json:"name"`
			} `json:"tags"`
		} `json:"reblog"`
	}
	it := item{all: true}
	if (ev.Name == "update" || ev.Name == "status.update") && json.Unmarshal([]byte(data), &st) == nil && st.Account != nil {
		it.all = false
		it.local = !strings.Contains(st.Account.Acct, "@")
		tags := st.Tags
		if st.Reblog != nil {
			tags = st.Reblog.Tags
		}
		for _, t := range tags {
			it.tags = append(it.tags, strings.ToLower(t.Name))
		}
		if s.cfg.MultiLineData {
			var b bytes.Buffer
			if json.Indent(&b, []byte(data), "", "  ") == nil {
				data = b.String()
			}
		}
	}
	var b bytes.Buffer
	b.Write(s.line("event: " + ev.Name))
	for l := range strings.SplitSeq(data, "\n") {
		b.Write(s.line("data: " + l))
	}
	b.Write(s.line(""))
	it.frame = b.Bytes()
	return it
}
