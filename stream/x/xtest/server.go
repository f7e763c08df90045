package xtest

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
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/x"
)

// DemoToken is the bearer token the server accepts when Config.Token is empty.
const DemoToken = "xtest-demo-bearer-token-AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid"

// DefaultHeartbeat is how long a stream may be idle before the server
// writes a "\r\n" heartbeat, when Config.Heartbeat is 0: X's 20 seconds.
const DefaultHeartbeat = 20 * time.Second

// DefaultConnectGrace is how long, when Config.ConnectGrace is 0, a new
// stream connection waits for an open one to end before it is refused with
// 429 TooManyConnections. A client that reconnects at once after dropping
// a connection would otherwise race the server noticing the drop.
const DefaultConnectGrace = time.Second

// DefaultRulesPageSize is how many rules a GET of the rules endpoint
// returns per page without max_results: X's default and maximum, 1,000.
const DefaultRulesPageSize = 1000

// maxBodyBytes bounds a rules request body.
const maxBodyBytes = 1 << 20

// maxRecords is how many request records a Server keeps.
const maxRecords = 4096

// Config configures a Server. The zero value accepts DemoToken, serves the
// embedded corpus (Corpus) once to the rules the client creates, with a
// heartbeat every 20 seconds and no faults.
type Config struct {
	// Token is the bearer token clients must send; empty means DemoToken.
	Token string

	// Posts are the posts to stream, in order. Each is either a Post
	// object ({"id":..,"text":..}) or a whole stream line
	// ({"data":{..},"includes":{..}}); empty means the embedded corpus. The
	// server replaces matching_rules in each line it sends. Posts are
	// served once, server-wide: a new connection goes on where the previous
	// one stopped (minus Resend). A post that matches no rule when a stream
	// reaches it is skipped for good, as X does not deliver what no rule
	// asked for. Publish adds posts later.
	Posts [][]byte
	// Heartbeat is how long a stream may be idle before the server writes
	// a "\r\n"; 0 means DefaultHeartbeat, negative disables heartbeats.
	Heartbeat time.Duration
	// StatusCodes scripts the answers to successive stream connection
	// attempts: attempt k (counting every authorized request to the stream
	// path, see Connections) gets StatusCodes[k-1] with X's body for that
	// code, unless it is 200; attempts past the list stream normally.
	StatusCodes []int
	// RulesStatusCodes does the same for successive authorized requests to
	// the rules endpoint.
	RulesStatusCodes []int
	// CloseAfter ends each stream after that many posts: the server sends
	// an operational-disconnect error and closes the connection, as X does
	// for maintenance. 0 never.
	CloseAfter int
	// Resend is how many of the last delivered posts a new connection
	// receives again first, as X's backfill_minutes does; it lets a test
	// check that a consumer forwards a post once.
	Resend int
	// Malformed writes MalformedLine after every that many posts; 0 never.
	Malformed int
	// Giant writes a well-formed line of an unknown kind, GiantBytes long,
	// after every that many posts; 0 never.
	Giant int
	// GiantBytes is the length of a giant line; 0 means DefaultGiantBytes.
	GiantBytes int
	// Stall stops writing anything (heartbeats included) on each stream
	// after that many posts, keeping the connection open until the client
	// goes away or the server closes; 0 never.
	Stall int
	// RejectRules, when set, is asked about every rule value added (dry
	// run or not) before the server's own checks: a non-empty answer makes
	// the rule invalid, with those details, as X answers for a rule it
	// cannot parse or an operator the plan lacks.
	RejectRules func(value string) []string
	// ConnectGrace is how long a second stream connection waits for an
	// open one to end before the 429 TooManyConnections answer; 0 means
	// DefaultConnectGrace, negative refuses at once.
	ConnectGrace time.Duration
	// RulesPageSize is how many rules a GET of the rules endpoint returns
	// per page when the request has no max_results; 0 means
	// DefaultRulesPageSize.
	RulesPageSize int

	// Logger receives a line per request and per stream end; nil discards.
	Logger *slog.Logger

	// hooks let this package's tests wait for states a client cannot see.
	hooks hooks
}

// hooks are called by the server at moments its tests wait for; nil ones
// are skipped. They are called from handler goroutines.
type hooks struct {
	// waiting: a stream request waits for the open stream to end
	// (ConnectGrace).
	waiting func()
	// stalled: a stream has stopped writing (Stall).
	stalled func()
}

// DefaultGiantBytes is the size of a giant line when Config.GiantBytes is
// 0: 2 MiB, twice the line limit of typical clients.
const DefaultGiantBytes = 2 << 20

// MalformedLine is the line Config.Malformed injects: the start of a post
// cut short, so it is not valid JSON.
const MalformedLine = `{"data":{"id":"1","text":"xtest: this post is cut short`

// giantPrefix and giantSuffix wrap the padding of a giant line.
const (
	giantPrefix = `{"xtest_giant":{"padding":"`
	giantSuffix = `"}}`
)

// DisconnectDetail is the detail of the operational-disconnect error the
// server sends before closing a stream (Config.CloseAfter).
const DisconnectDetail = "This stream has been disconnected for operational reasons."

// validate reports the first invalid field.
func (c *Config) validate() error {
	for _, f := range []struct {
		name string
		n    int
	}{
		{"CloseAfter", c.CloseAfter}, {"Resend", c.Resend}, {"Malformed", c.Malformed}, {"Giant", c.Giant},
		{"GiantBytes", c.GiantBytes}, {"Stall", c.Stall}, {"RulesPageSize", c.RulesPageSize},
	} {
		if f.n < 0 {
			return fmt.Errorf("xtest: %s is %d, must not be negative", f.name, f.n)
		}
	}
	if c.GiantBytes != 0 && c.GiantBytes < len(giantPrefix)+len(giantSuffix)+1 {
		return fmt.Errorf("xtest: GiantBytes %d is too small", c.GiantBytes)
	}
	for _, codes := range [][]int{c.StatusCodes, c.RulesStatusCodes} {
		for i, code := range codes {
			if code < 200 || code > 599 {
				return fmt.Errorf("xtest: status code %d (index %d) is not 200–599", code, i)
			}
		}
	}
	return nil
}

// Request records one request the server received.
type Request struct {
	// Time is when the request arrived.
	Time time.Time
	// Method and Path are the request's method and URL path.
	Method string
	Path   string
	// Query is the parsed query string.
	Query url.Values
	// Body is the request body (at most 1 MiB).
	Body string
	// Authorized reports whether the bearer token was right.
	Authorized bool
	// Status is the HTTP status the server answered.
	Status int
}

// DryRun reports whether the request asked for dry_run=true.
func (r Request) DryRun() bool { return r.Query.Get("dry_run") == "true" }

// ruleEntry is a rule with its compiled matcher.
type ruleEntry struct {
	rule x.Rule
	m    *matcher
}

// post is one post of the content.
type post struct {
	obj    map[string]json.RawMessage // the whole line, without matching_rules
	target *target
}

// Server is a fake of the X API v2 filtered stream: an http.Handler for
// GET x.StreamPath and GET/POST x.RulesPath. Create it with NewServer; its
// methods are safe for concurrent use.
//
// It checks the bearer token on every request (401 with X's problem body
// otherwise), keeps a rule set with X's IDs, DuplicateRule and invalid-rule
// answers and dry_run, streams the posts that match at least one current
// rule with matching_rules set, sends heartbeats, refuses a second
// concurrent stream with 429 TooManyConnections, injects faults, and
// records every request (Requests).
//
// It does not apply the stream's query parameters (tweet.fields,
// expansions ...): it sends the posts as given. Rule matching covers a
// subset of X's syntax (see the package documentation); unsupported rules
// are rejected as invalid, never silently mismatched.
type Server struct {
	cfg       Config
	token     string
	log       *slog.Logger
	heartbeat time.Duration
	grace     time.Duration
	pageSize  int
	giant     []byte
	closing   chan struct{}
	wg        sync.WaitGroup

	mu            sync.Mutex
	closed        bool
	attempts      int // stream requests
	rulesRequests int
	records       []Request
	rules         []ruleEntry
	nextRuleID    int64
	posts         []*post
	next          int   // the position after the last one a stream handled
	recent        []int // positions of the last Resend delivered posts
	active        map[*http.ResponseController]struct{}
	changed       chan struct{} // closed and replaced when posts, rules or streams change
}

// NewServer returns a Server for cfg, or an error naming an invalid field
// or post.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, token: cfg.Token, log: cfg.Logger, heartbeat: cfg.Heartbeat, grace: cfg.ConnectGrace,
		pageSize: cfg.RulesPageSize, closing: make(chan struct{}), nextRuleID: 1_600_000_000_000_000_000,
		active: make(map[*http.ResponseController]struct{}), changed: make(chan struct{}),
	}
	if s.token == "" {
		s.token = DemoToken
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.heartbeat == 0 {
		s.heartbeat = DefaultHeartbeat
	}
	if s.grace == 0 {
		s.grace = DefaultConnectGrace
	}
	if s.pageSize == 0 {
		s.pageSize = DefaultRulesPageSize
	}
	if cfg.Giant > 0 {
		n := cfg.GiantBytes
		if n == 0 {
			n = DefaultGiantBytes
		}
		s.giant = make([]byte, 0, n)
		s.giant = append(s.giant, giantPrefix...)
		s.giant = append(s.giant, bytes.Repeat([]byte{'x'}, n-len(giantPrefix)-len(giantSuffix))...)
		s.giant = append(s.giant, giantSuffix...)
	}
	posts := cfg.Posts
	if len(posts) == 0 {
		posts = Corpus()
	}
	if err := s.Publish(posts...); err != nil {
		return nil, err
	}
	return s, nil
}

// NewTestServer starts a Server for cfg on a loopback httptest.Server and
// registers a cleanup that closes both. An invalid cfg fails the test.
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

// Publish appends posts to the content (see Config.Posts); open streams
// that had run out send them at once.
func (s *Server) Publish(posts ...[]byte) error {
	parsed := make([]*post, 0, len(posts))
	for i, p := range posts {
		pp, err := parsePost(p)
		if err != nil {
			return fmt.Errorf("xtest: post %d: %w", i, err)
		}
		parsed = append(parsed, pp)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts = append(s.posts, parsed...)
	s.notifyLocked()
	return nil
}

// parsePost accepts a Post object or a whole line.
func parsePost(b []byte) (*post, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, ok := obj["data"]; !ok {
		obj = map[string]json.RawMessage{"data": json.RawMessage(bytes.TrimSpace(b))}
	}
	delete(obj, "matching_rules")
	line, err := marshal(obj)
	if err != nil {
		return nil, err
	}
	ev, err := x.Decode(line)
	if err != nil {
		return nil, err
	}
	if ev.Kind != stream.KindStatus {
		return nil, errors.New("not a post")
	}
	return &post{obj: obj, target: newTarget(ev.Status)}, nil
}

// marshal encodes v on one line without escaping HTML characters.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// notifyLocked wakes every stream waiting for a change. s.mu is held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Connections returns how many authorized requests to the stream path the
// server has seen, answered or not.
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

// Rules returns the current rules, oldest first.
func (s *Server) Rules() []x.Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]x.Rule, len(s.rules))
	for i, e := range s.rules {
		out[i] = e.rule
	}
	return out
}

// AddRule adds a rule directly, as another client of the same app would,
// and returns it with its ID; an invalid value is an error.
func (s *Server) AddRule(value, tag string) (x.Rule, error) {
	m, err := compile(value)
	if err != nil {
		return x.Rule{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.rules, func(e ruleEntry) bool { return e.rule.Value == value }) {
		return x.Rule{}, fmt.Errorf("xtest: a rule %q exists", value)
	}
	r := x.Rule{ID: s.newRuleIDLocked(), Value: value, Tag: tag}
	s.rules = append(s.rules, ruleEntry{r, m})
	s.notifyLocked()
	return r, nil
}

func (s *Server) newRuleIDLocked() string {
	s.nextRuleID += 1_000_003
	return strconv.FormatInt(s.nextRuleID, 10)
}

// Requests returns a copy of the records of the requests received so far,
// oldest first (at most the latest 4096).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.records))
	for i, r := range s.records {
		r.Query = cloneValues(r.Query)
		out[i] = r
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

// Close ends every open stream, stalled ones included, and waits until
// their handlers returned. Later requests get 503. Close is idempotent;
// call it before httptest.Server.Close.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
		for rc := range s.active {
			_ = rc.SetWriteDeadline(time.Now()) // unblocks a write to a client that stopped reading
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// ServeHTTP answers the stream and rules endpoints with X's wire format.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path}
	rec.Query, _ = url.ParseQuery(r.URL.RawQuery)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	rec.Body = string(body)
	rec.Authorized = r.Header.Get("Authorization") == "Bearer "+s.token
	status := s.serve(w, r, &rec, body, err)
	rec.Status = status
	s.log.Info("xtest: request", "method", rec.Method, "path", rec.Path, "query", rec.Query.Encode(),
		"authorized", rec.Authorized, "status", rec.Status)
}

// serve answers the request and returns the status it answered; it
// records the request before a stream starts, so a test that reads
// Requests while streaming sees it.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, rec *Request, body []byte, bodyErr error) int {
	answer := func(status int, v any) int {
		rec.Status = status
		s.record(*rec)
		writeJSON(w, status, v)
		return status
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return answer(problemBody(http.StatusServiceUnavailable, false))
	case r.URL.Path != x.StreamPath && r.URL.Path != x.RulesPath:
		return answer(http.StatusNotFound, problem{Title: "Not Found Error", Detail: "Sorry, that page does not exist.",
			Type: "https://api.twitter.com/2/problems/resource-not-found"})
	case !rec.Authorized:
		return answer(problemBody(http.StatusUnauthorized, false))
	case bodyErr != nil:
		return answer(invalidRequest("The request body is too large or unreadable."))
	}
	if r.URL.Path == x.RulesPath {
		s.mu.Lock()
		s.rulesRequests++
		k := s.rulesRequests - 1
		s.mu.Unlock()
		if k < len(s.cfg.RulesStatusCodes) && s.cfg.RulesStatusCodes[k] != http.StatusOK {
			return answer(problemBody(s.cfg.RulesStatusCodes[k], false))
		}
		switch r.Method {
		case http.MethodGet:
			return answer(s.listRules(rec.Query))
		case http.MethodPost:
			return answer(s.changeRules(rec.Query, body))
		}
		w.Header().Set("Allow", "GET, POST")
		return answer(problemBody(http.StatusMethodNotAllowed, false))
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		return answer(problemBody(http.StatusMethodNotAllowed, false))
	}
	s.mu.Lock()
	s.attempts++
	k := s.attempts - 1
	s.mu.Unlock()
	if k < len(s.cfg.StatusCodes) && s.cfg.StatusCodes[k] != http.StatusOK {
		return answer(problemBody(s.cfg.StatusCodes[k], true))
	}
	rc := http.NewResponseController(w)
	if !s.admit(r.Context(), rc) {
		return answer(problemBody(http.StatusTooManyRequests, true))
	}
	rec.Status = http.StatusOK
	s.record(*rec)
	c := &conn{s: s, w: w, rc: rc, ctx: r.Context()}
	sent, why := c.run()
	s.mu.Lock()
	delete(s.active, rc)
	if s.closed && !c.writeFailed {
		_ = rc.SetWriteDeadline(time.Now().Add(time.Second)) // let the response end properly
	}
	s.notifyLocked()
	s.mu.Unlock()
	s.wg.Done()
	s.log.Info("xtest: stream ended", "posts", sent, "reason", why)
	return http.StatusOK
}

// admit registers a new stream, waiting up to the grace period for an open
// one to end; false means another stream is open (429).
func (s *Server) admit(ctx context.Context, rc *http.ResponseController) bool {
	var deadline <-chan time.Time
	if s.grace > 0 {
		t := time.NewTimer(s.grace)
		defer t.Stop()
		deadline = t.C
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return false
		}
		if len(s.active) == 0 {
			s.active[rc] = struct{}{}
			s.wg.Add(1)
			s.mu.Unlock()
			return true
		}
		changed := s.changed
		s.mu.Unlock()
		if deadline == nil {
			return false
		}
		if h := s.cfg.hooks.waiting; h != nil {
			h()
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		case <-ctx.Done():
			return false
		case <-s.closing:
			return false
		}
	}
}

// record appends rec to the bounded request log.
func (s *Server) record(rec Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.records) == maxRecords {
		s.records = append(s.records[:0], s.records[1:]...)
	}
	s.records = append(s.records, rec)
}

// apiRule is a rule on the wire.
type apiRule struct {
	ID    string `json:"id,omitempty"`
	Value string `json:"value"`
	Tag   string `json:"tag,omitempty"`
}

// problem is an X API problem object.
type problem struct {
	Value           string          `json:"value,omitempty"`
	ID              string          `json:"id,omitempty"`
	Details         []string        `json:"details,omitempty"`
	Title           string          `json:"title"`
	Detail          string          `json:"detail,omitempty"`
	Type            string          `json:"type"`
	Status          int             `json:"status,omitempty"`
	DisconnectType  string          `json:"disconnect_type,omitempty"`
	ConnectionIssue string          `json:"connection_issue,omitempty"`
	Reason          string          `json:"reason,omitempty"`
	Errors          json.RawMessage `json:"errors,omitempty"`
}

// problemBody is X's answer for an error status. streaming selects the
// stream's answers (429 TooManyConnections).
func problemBody(status int, streaming bool) (int, problem) {
	switch {
	case status == http.StatusUnauthorized:
		return status, problem{Title: "Unauthorized", Type: "about:blank", Status: status, Detail: "Unauthorized"}
	case status == http.StatusForbidden:
		return status, problem{
			Title:  "Client Forbidden",
			Detail: "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.",
			Reason: "client-not-enrolled",
			Type:   "https://api.twitter.com/2/problems/client-forbidden",
		}
	case status == http.StatusTooManyRequests && streaming:
		return status, problem{
			Title:           "ConnectionException",
			Detail:          "This stream is currently at the maximum allowed connection limit.",
			ConnectionIssue: "TooManyConnections",
			Type:            "https://api.twitter.com/2/problems/streaming-connection",
		}
	}
	text := http.StatusText(status)
	if text == "" {
		text = "Error " + strconv.Itoa(status)
	}
	return status, problem{Title: text, Detail: text, Type: "about:blank", Status: status}
}

// invalidRequest is X's 400 for a malformed request.
func invalidRequest(message string) (int, problem) {
	errs, _ := json.Marshal([]map[string]any{{"parameters": map[string]any{}, "message": message}})
	return http.StatusBadRequest, problem{
		Title: "Invalid Request", Detail: "One or more parameters to your request was invalid.",
		Type: "https://api.twitter.com/2/problems/invalid-request", Errors: errs,
	}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"title":"Internal Error","type":"about:blank"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func sentNow() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// listRules answers GET rules: all rules, or those named by ids, a page at
// a time.
func (s *Server) listRules(q url.Values) (int, any) {
	size := s.pageSize
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return invalidRequest("The `max_results` query parameter value [" + v + "] is not between 1 and 1000")
		}
		size = n
	}
	start := 0
	if v := q.Get("pagination_token"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalidRequest("The `pagination_token` query parameter value [" + v + "] is invalid")
		}
		start = n
	}
	var ids []string
	for _, v := range q["ids"] {
		ids = append(ids, strings.Split(v, ",")...)
	}
	s.mu.Lock()
	var all []apiRule
	for _, e := range s.rules {
		if len(ids) == 0 || slices.Contains(ids, e.rule.ID) {
			all = append(all, apiRule{e.rule.ID, e.rule.Value, e.rule.Tag})
		}
	}
	s.mu.Unlock()
	type meta struct {
		Sent        string `json:"sent"`
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token,omitempty"`
	}
	start = min(start, len(all))
	end := min(start+size, len(all))
	page := all[start:end]
	m := meta{Sent: sentNow(), ResultCount: len(page)}
	if end < len(all) {
		m.NextToken = strconv.Itoa(end)
	}
	if len(page) == 0 {
		return http.StatusOK, struct {
			Meta meta `json:"meta"`
		}{m}
	}
	return http.StatusOK, struct {
		Data []apiRule `json:"data"`
		Meta meta      `json:"meta"`
	}{page, m}
}

// summary is the meta.summary of a rules change.
type summary struct {
	Created    *int `json:"created,omitempty"`
	NotCreated *int `json:"not_created,omitempty"`
	Valid      *int `json:"valid,omitempty"`
	Invalid    *int `json:"invalid,omitempty"`
	Deleted    *int `json:"deleted,omitempty"`
	NotDeleted *int `json:"not_deleted,omitempty"`
}

type changeAnswer struct {
	Data []apiRule `json:"data,omitempty"`
	Meta struct {
		Sent    string  `json:"sent"`
		Summary summary `json:"summary"`
	} `json:"meta"`
	Errors []problem `json:"errors,omitempty"`
}

// changeRules answers POST rules: add or delete, or only check with
// dry_run=true.
//
// An add with an invalid rule creates nothing; duplicates (a value that
// exists, or twice in the request) are reported and the other rules are
// created.
func (s *Server) changeRules(q url.Values, body []byte) (int, any) {
	var req struct {
		Add    []apiRule `json:"add"`
		Delete *struct {
			IDs    []string `json:"ids"`
			Values []string `json:"values"`
		} `json:"delete"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return invalidRequest("The request body is not valid JSON: " + err.Error())
	}
	dryRun := false
	if v := q.Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return invalidRequest("The `dry_run` query parameter value [" + v + "] is not one of [true,false]")
		}
		dryRun = b
	}
	switch {
	case (req.Add != nil) == (req.Delete != nil):
		return invalidRequest("The request must contain exactly one of add or delete.")
	case req.Add != nil && len(req.Add) == 0:
		return invalidRequest("The add list must not be empty.")
	}
	if req.Delete != nil {
		return s.deleteRules(req.Delete.IDs, req.Delete.Values, dryRun)
	}
	return s.addRules(req.Add, dryRun)
}

func (s *Server) addRules(add []apiRule, dryRun bool) (int, any) {
	var ans changeAnswer
	ans.Meta.Sent = sentNow()
	type pending struct {
		r apiRule
		m *matcher
	}
	var valid []pending
	invalid := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]string{} // value → id
	for _, e := range s.rules {
		seen[e.rule.Value] = e.rule.ID
	}
	for _, r := range add {
		var details []string
		if s.cfg.RejectRules != nil {
			details = s.cfg.RejectRules(r.Value)
		}
		m, err := compile(r.Value)
		if len(details) == 0 && err != nil {
			details = []string{err.Error()}
		}
		if len(details) > 0 {
			invalid++
			ans.Errors = append(ans.Errors, problem{Value: r.Value, Details: details, Title: "Invalid Rule",
				Type: "https://api.twitter.com/2/problems/invalid-rules"})
			continue
		}
		if id, dup := seen[r.Value]; dup {
			invalid++
			ans.Errors = append(ans.Errors, problem{Value: r.Value, ID: id, Title: x.ProblemDuplicateRule,
				Type: "https://api.twitter.com/2/problems/duplicate-rules"})
			continue
		}
		id := s.newRuleIDLocked()
		seen[r.Value] = id
		valid = append(valid, pending{apiRule{id, r.Value, r.Tag}, m})
	}
	created := len(valid)
	if invalid > 0 && slices.ContainsFunc(ans.Errors, func(p problem) bool { return p.Title != x.ProblemDuplicateRule }) {
		created = 0 // an unparsable rule fails the request
	}
	if !dryRun && created > 0 {
		for _, p := range valid {
			s.rules = append(s.rules, ruleEntry{x.Rule{ID: p.r.ID, Value: p.r.Value, Tag: p.r.Tag}, p.m})
		}
		s.notifyLocked()
	}
	if created > 0 {
		for _, p := range valid {
			ans.Data = append(ans.Data, p.r)
		}
	}
	notCreated, nValid := len(add)-created, len(valid)
	ans.Meta.Summary = summary{Created: &created, NotCreated: &notCreated, Valid: &nValid, Invalid: &invalid}
	return http.StatusOK, ans
}

func (s *Server) deleteRules(ids, values []string, dryRun bool) (int, any) {
	var ans changeAnswer
	ans.Meta.Sent = sentNow()
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := map[int]bool{}
	notDeleted := 0
	find := func(what string, match func(e ruleEntry) bool) {
		i := slices.IndexFunc(s.rules, match)
		if i < 0 || gone[i] {
			notDeleted++
			ans.Errors = append(ans.Errors, problem{Title: "Not Found Error", Detail: "Rule does not exist: " + what,
				Type: "https://api.twitter.com/2/problems/resource-not-found"})
			return
		}
		gone[i] = true
	}
	for _, id := range ids {
		find(id, func(e ruleEntry) bool { return e.rule.ID == id })
	}
	for _, v := range values {
		find(v, func(e ruleEntry) bool { return e.rule.Value == v })
	}
	deleted := len(gone)
	if !dryRun && deleted > 0 {
		kept := s.rules[:0:0]
		for i, e := range s.rules {
			if !gone[i] {
				kept = append(kept, e)
			}
		}
		s.rules = kept
		s.notifyLocked()
	}
	ans.Meta.Summary = summary{Deleted: &deleted, NotDeleted: &notDeleted}
	return http.StatusOK, ans
}
