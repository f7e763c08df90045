package streamtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// FilterPath is the path of the statuses/filter endpoint the server serves.
const FilterPath = "/1.1/statuses/filter.json"

// DefaultKeepAlive is how long a stream may be idle before the server sends
// a keep-alive blank line, when Config.KeepAlive is 0. Twitter's value.
const DefaultKeepAlive = 30 * time.Second

// Twitter's documented limits on filter parameters.
const (
	maxFollow    = 5000
	maxLocations = 25
)

// maxBodyBytes bounds a form body.
const maxBodyBytes = 1 << 20

// maxRecords is how many request records a Server keeps.
const maxRecords = 4096

// generatorHistory is how many generated messages, beyond Config.Resend, a
// Server keeps for connections that read behind the newest one.
const generatorHistory = 1024

// generatorStarve is how many generated messages in a row may fail a
// connection's filter before the server stops looking (see Server).
const generatorStarve = 100_000

// Config configures a Server. The zero value serves the embedded corpus
// (mock.Corpus) as fast as clients read, looping forever, to clients signed
// with the demo credentials, with no faults.
type Config struct {
	// Credentials are what clients must sign with; each empty field means
	// its demo value (see DemoCredentials).
	Credentials Credentials

	// Lines are the v1.1 messages to serve, one JSON message per element
	// without its "\r\n"; empty means the embedded corpus. The server does
	// not modify them. Lines that do not decode are sent as they are, as a
	// real stream would; the server's filters pass them.
	Lines [][]byte
	// Generator, when set, replaces Lines with an endless supply of
	// generated statuses. The server owns it from then on.
	Generator *mock.Generator
	// Once serves Lines a single time (server-wide) instead of looping; a
	// stream whose content is exhausted stays open with keep-alives.
	// Each loop after the first shifts status IDs (and the IDs deletes refer
	// to) past those of the previous loop, as the mock source does, so a
	// looping server keeps sending new statuses rather than duplicates.
	Once bool
	// Rate is how many messages per second each stream delivers; 0 sends
	// as fast as the client reads.
	Rate float64
	// KeepAlive is how long a stream may be idle before the server writes a
	// blank "\r\n" line; 0 means DefaultKeepAlive, negative disables them.
	KeepAlive time.Duration
	// Resend is how many of the last delivered messages a new connection
	// receives again: each connection continues from where the previous
	// one stopped, minus Resend messages. It lets a test check that a client
	// forwards a re-sent status once.
	Resend int

	// DisconnectEvery ends each stream after that many messages; 0 never.
	// Messages counted here and below are content messages that passed the
	// stream's filters; injected lines do not count.
	DisconnectEvery int
	// DisconnectMessage sends a disconnect message (code DisconnectCode)
	// before a DisconnectEvery disconnect.
	DisconnectMessage bool
	// StallAfter stops writing anything on each stream after that many
	// messages, keep-alives included, while keeping the connection open until
	// the client goes away or the server is closed; 0 never.
	StallAfter int
	// MalformedEvery writes MalformedLine after every that many messages.
	MalformedEvery int
	// GiantEvery writes a well-formed message of an unknown kind that is
	// GiantBytes long after every that many messages.
	GiantEvery int
	// GiantBytes is the length of a giant line without its "\r\n"; 0 means
	// DefaultGiantBytes.
	GiantBytes int
	// LimitEvery writes a limit notice {"limit":{"track":N,...}} after every
	// that many messages, N counting the notices of the stream (1, 2, ...).
	LimitEvery int
	// StatusCodes scripts the answers to successive connection attempts:
	// attempt k (counting every request to FilterPath, see
	// Server.Connections) that verified gets StatusCodes[k-1] instead of a
	// stream unless it is 200; attempts past the list stream normally.
	// Each code must be 200–599.
	StatusCodes []int

	// Logger receives a line per request and per stream end; nil discards.
	Logger *slog.Logger
}

// validate reports the first invalid field.
func (c *Config) validate() error {
	counts := []struct {
		name string
		n    int
	}{
		{"Resend", c.Resend}, {"DisconnectEvery", c.DisconnectEvery}, {"StallAfter", c.StallAfter},
		{"MalformedEvery", c.MalformedEvery}, {"GiantEvery", c.GiantEvery}, {"GiantBytes", c.GiantBytes},
		{"LimitEvery", c.LimitEvery},
	}
	for _, f := range counts {
		if f.n < 0 {
			return fmt.Errorf("streamtest: %s is %d, must not be negative", f.name, f.n)
		}
	}
	switch {
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("streamtest: Rate %v must be a non-negative number", c.Rate)
	case c.GiantBytes != 0 && c.GiantBytes < minGiantBytes:
		return fmt.Errorf("streamtest: GiantBytes %d is below the minimum of %d", c.GiantBytes, minGiantBytes)
	}
	for i, code := range c.StatusCodes {
		if code < 200 || code > 599 {
			return fmt.Errorf("streamtest: StatusCodes[%d] is %d, want 200–599", i, code)
		}
	}
	for i, l := range c.Lines {
		if bytes.ContainsAny(l, "\r\n") {
			return fmt.Errorf("streamtest: Lines[%d] contains a line break", i)
		}
	}
	return nil
}

// Request records one request the server received.
type Request struct {
	// Attempt is the request's number among requests to FilterPath,
	// counting from 1; 0 for other paths.
	Attempt int
	// Time is when the request arrived.
	Time time.Time
	// RemoteAddr is the client's address.
	RemoteAddr string
	// Method and Path are the request's method and URL path.
	Method string
	Path   string
	// Params are the query and form-body parameters, body values first.
	Params url.Values
	// Verified reports whether the OAuth1 signature verified.
	Verified bool
	// AuthError says why it did not, when it was checked; it never holds a
	// secret.
	AuthError string
	// Status is the HTTP status the server answered.
	Status int
}

// Server is a mock of Twitter's v1.1 statuses/filter endpoint: an
// http.Handler for GET and POST FilterPath. Create it with NewServer; its
// methods are safe for concurrent use.
//
// Position is server-wide: the content is a sequence (looping Lines, or
// the Generator's output), and a new stream starts where the previous one
// stopped (minus Config.Resend delivered messages). Streams open at the same
// time each move through the sequence at their own pace; a stream reading
// generated content more than a thousand messages behind the newest skips
// ahead, as Twitter drops messages for slow readers.
//
// A stream whose filters reject a whole loop of Lines (or 100,000 generated
// messages in a row) stops looking and only sends keep-alives, so a filter
// that matches nothing does not spin a CPU.
//
// Filtering follows Twitter: track and follow (the author's user ID)
// combine with OR, language (a comma list compared with the status's lang)
// with AND; control messages (delete, limit, warning, disconnect, and lines
// that do not decode) always pass. The locations parameter is validated
// (four coordinates per box, at most 25 boxes) and counts as a filter
// parameter, but it is not applied: a stream with locations alone receives
// every status. filter_level is ignored; stall_warnings is validated and
// recorded, and warnings in the content are sent whatever its value.
type Server struct {
	cfg         Config
	creds       Credentials
	log         *slog.Logger
	content     content
	starveAfter int
	giant       []byte
	keepAlive   time.Duration
	closing     chan struct{}
	wg          sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	attempts int
	records  []Request
	active   map[*conn]struct{}
	next     int64   // position after the last one a stream handled
	recent   []int64 // positions of the last Resend delivered messages
}

// NewServer returns a Server for cfg, or an error naming an invalid field.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:       cfg,
		creds:     cfg.Credentials.orDemo(),
		log:       cfg.Logger,
		keepAlive: cfg.KeepAlive,
		closing:   make(chan struct{}),
		active:    make(map[*conn]struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.keepAlive == 0 {
		s.keepAlive = DefaultKeepAlive
	}
	if cfg.Generator != nil {
		s.content = &generated{g: cfg.Generator, ring: make([][]byte, cfg.Resend+generatorHistory)}
		s.starveAfter = generatorStarve
	} else {
		lines := cfg.Lines
		if len(lines) == 0 {
			lines = mock.Corpus()
		}
		s.content = &replay{lines: lines, once: cfg.Once, span: mock.IDSpan(lines)}
		s.starveAfter = len(lines)
	}
	if cfg.GiantEvery > 0 {
		n := cfg.GiantBytes
		if n == 0 {
			n = DefaultGiantBytes
		}
		s.giant = giantLine(n)
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

// Connections returns how many requests to FilterPath the server has seen,
// answered or not.
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
		r.Params = cloneValues(r.Params)
		out[i] = r
	}
	return out
}

// Close ends every open stream, stalled ones and ones blocked on a client
// that stopped reading included, and waits until their handlers returned.
// Later requests get 503. Close is idempotent; call it before
// httptest.Server.Close or http.Server.Shutdown, which wait for handlers.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
		for c := range s.active {
			// Unblocks a Write to a client that stopped reading.
			_ = c.rc.SetWriteDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// ServeHTTP answers a request to FilterPath with a stream, or with a
// Twitter-style error: 401 when the signature does not verify, 406 without
// filter parameters or with an invalid one, a scripted status, 404 for other
// paths, 405 for other methods, 503 after Close.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Time: time.Now(), RemoteAddr: r.RemoteAddr, Method: r.Method, Path: r.URL.Path}
	p, apiErr := s.admit(w, r, &rec)
	var c *conn
	if apiErr == nil {
		c = s.register(w, r, p)
		if c == nil {
			apiErr = errClosed
		}
	}
	rec.Status = http.StatusOK
	if apiErr != nil {
		rec.Status = apiErr.status
	}
	s.record(rec)
	attrs := []any{"attempt", rec.Attempt, "remote", rec.RemoteAddr, "method", rec.Method, "path", rec.Path,
		"params", rec.Params.Encode(), "verified", rec.Verified, "status", rec.Status}
	if rec.AuthError != "" {
		attrs = append(attrs, "auth_error", rec.AuthError)
	}
	s.log.Info("streamtest: request", attrs...)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	sent, why := c.run()
	s.unregister(c, !c.writeFailed)
	s.log.Info("streamtest: stream ended", "attempt", rec.Attempt, "remote", rec.RemoteAddr, "messages", sent, "reason", why)
}

// admit checks a request in Twitter's order and returns its stream
// parameters, or the error to answer. It fills rec along the way.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, rec *Request) (*streamParams, *apiError) {
	if r.URL.Path != FilterPath {
		return nil, errNotFound
	}
	s.mu.Lock()
	s.attempts++
	rec.Attempt = s.attempts
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, errMethod
	}
	form, apiErr := readForm(w, r)
	if apiErr != nil {
		return nil, apiErr
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errBadQuery
	}
	rec.Params = cloneValues(form)
	for k, vs := range query {
		rec.Params[k] = append(rec.Params[k], vs...)
	}
	if err := verifyOAuth1(r, form, s.creds); err != nil {
		rec.AuthError = err.Error()
		return nil, errUnauthorized
	}
	rec.Verified = true
	if k := rec.Attempt - 1; k < len(s.cfg.StatusCodes) && s.cfg.StatusCodes[k] != http.StatusOK {
		return nil, scriptedError(s.cfg.StatusCodes[k])
	}
	return parseParams(rec.Params)
}

// readForm returns the parameters of an application/x-www-form-urlencoded
// body, or nil for a request without one.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *apiError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" || r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, errBadQuery
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, errBadQuery
	}
	return form, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
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

// register opens a stream for w, or returns nil after Close.
func (s *Server) register(w http.ResponseWriter, r *http.Request, p *streamParams) *conn {
	c := &conn{s: s, w: w, rc: http.NewResponseController(w), ctx: r.Context(), p: p}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.active[c] = struct{}{}
	s.wg.Add(1)
	return c
}

// closeGrace is how long a stream that ended cleanly during Close may take
// to write the end of its chunked body.
const closeGrace = time.Second

// unregister forgets a stream whose handler is returning. clean says it did
// not end on a write error: Close's write deadline, if set, is pushed back
// so the response can end properly. Holding s.mu orders this after Close.
func (s *Server) unregister(c *conn, clean bool) {
	s.mu.Lock()
	if s.closed && clean {
		_ = c.rc.SetWriteDeadline(time.Now().Add(closeGrace))
	}
	delete(s.active, c)
	s.mu.Unlock()
	s.wg.Done()
}

// start returns the position a new stream starts at.
func (s *Server) start() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) > 0 {
		return min(s.recent[0], s.next)
	}
	return s.next
}

// handled notes that a stream is past position pos; delivered says whether
// it sent the message there.
func (s *Server) handled(pos int64, delivered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = max(s.next, pos+1)
	if delivered && s.cfg.Resend > 0 {
		if len(s.recent) == s.cfg.Resend {
			s.recent = append(s.recent[:0], s.recent[1:]...)
		}
		s.recent = append(s.recent, pos)
	}
}

// streamParams are a stream's validated parameters.
type streamParams struct {
	track     *track.Matcher      // nil without track
	follow    map[string]struct{} // nil without follow
	langs     map[string]struct{} // nil without language
	delimited bool
}

// parseParams validates the filter parameters as Twitter does.
func parseParams(v url.Values) (*streamParams, *apiError) {
	p := &streamParams{}
	list := func(name string) []string {
		var out []string
		for _, raw := range v[name] {
			for item := range strings.SplitSeq(raw, ",") {
				if item = strings.TrimSpace(item); item != "" {
					out = append(out, item)
				}
			}
		}
		return out
	}

	phrases := list("track")
	for i, ph := range phrases {
		if len(ph) > track.MaxPhraseBytes {
			return nil, paramErrorf("Parameter track item index %d too long: %s", i, ph)
		}
	}
	if len(phrases) > track.MaxPhrases {
		return nil, paramErrorf("Parameter track has %d items, more than the limit of %d", len(phrases), track.MaxPhrases)
	}
	if len(phrases) > 0 {
		m, err := track.Compile(strings.Join(phrases, ","))
		if err != nil {
			return nil, paramErrorf("Parameter track is invalid: %v", err)
		}
		p.track = m
	}

	follow := list("follow")
	if len(follow) > maxFollow {
		return nil, paramErrorf("Parameter follow has %d items, more than the limit of %d", len(follow), maxFollow)
	}
	for i, id := range follow {
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return nil, paramErrorf("Parameter follow item index %d is not a user ID: %s", i, id)
		}
		if p.follow == nil {
			p.follow = make(map[string]struct{})
		}
		p.follow[id] = struct{}{}
	}

	locs := list("locations")
	if len(locs)%4 != 0 {
		return nil, paramErrorf("Parameter locations must hold 4 coordinates per bounding box, got %d", len(locs))
	}
	if len(locs)/4 > maxLocations {
		return nil, paramErrorf("Parameter locations has %d bounding boxes, more than the limit of %d", len(locs)/4, maxLocations)
	}
	for i, l := range locs {
		if f, err := strconv.ParseFloat(l, 64); err != nil || math.IsNaN(f) || math.Abs(f) > 180 {
			return nil, paramErrorf("Parameter locations item index %d is not a coordinate: %s", i, l)
		}
	}

	for _, lang := range list("language") {
		if p.langs == nil {
			p.langs = make(map[string]struct{})
		}
		p.langs[strings.ToLower(lang)] = struct{}{}
	}

	if v := v.Get("stall_warnings"); v != "" {
		if _, err := parseBool(v); err != nil {
			return nil, paramErrorf("Parameter stall_warnings must be true or false, got %s", v)
		}
	}
	if v := v.Get("delimited"); v != "" {
		if !strings.EqualFold(v, "length") {
			return nil, paramErrorf("Parameter delimited must be length, got %s", v)
		}
		p.delimited = true
	}

	if p.track == nil && p.follow == nil && len(locs) == 0 {
		return nil, errNoFilter
	}
	return p, nil
}

// parseBool reads a boolean as clients send them: true, True, 1, t, ...
func parseBool(s string) (bool, error) { return strconv.ParseBool(strings.ToLower(s)) }

// pass reports whether a stream with parameters p receives the message.
func (p *streamParams) pass(it *item) bool {
	if it.err != nil || it.ev.Kind != stream.KindStatus {
		return true
	}
	st := it.ev.Status
	if p.langs != nil {
		if _, ok := p.langs[strings.ToLower(st.Lang)]; !ok {
			return false
		}
	}
	if p.track == nil && p.follow == nil {
		return true // locations only: not applied
	}
	if _, ok := p.follow[st.Author.ID]; ok {
		return true
	}
	return p.track != nil && p.track.Match(st)
}

// item is one message of the content at a position.
type item struct {
	pos  int64
	line []byte
	ev   stream.Event
	err  error // from twitter.Decode
}

// content is the server-wide sequence of messages.
type content interface {
	// at returns the message at pos, or at the first position after pos
	// still available; ok is false past the end of finite content.
	at(pos int64) (it item, ok bool)
}

// replay serves lines, looping unless once.
type replay struct {
	lines [][]byte
	once  bool
	span  *big.Int
}

func (c *replay) at(pos int64) (item, bool) {
	n := int64(len(c.lines))
	if c.once && pos >= n {
		return item{}, false
	}
	line := c.lines[pos%n]
	ev, err := twitter.Decode(line)
	if loop := pos / n; loop > 0 && err == nil {
		line = shiftIDs(line, ev, new(big.Int).Mul(c.span, big.NewInt(loop)))
	}
	return item{pos: pos, line: line, ev: ev, err: err}, true
}

// shiftIDs returns a copy of line with the status IDs of ev (a status's own
// and its retweeted original's, or a delete's target) increased by by,
// wherever they occur as whole numbers: "id", "id_str" and their nested
// forms.
func shiftIDs(line []byte, ev stream.Event, by *big.Int) []byte {
	var ids []string
	switch ev.Kind {
	case stream.KindStatus:
		ids = []string{ev.Status.ID, ev.Status.RetweetedID}
	case stream.KindDelete:
		ids = []string{ev.Delete.StatusID}
	default:
		return line
	}
	for _, id := range ids {
		n, ok := new(big.Int).SetString(id, 10)
		if !ok || id == "" {
			continue
		}
		line = replaceNumber(line, id, n.Add(n, by).String())
	}
	return line
}

// replaceNumber returns a copy of b with every occurrence of the decimal
// number old that is not part of a longer number replaced by repl.
func replaceNumber(b []byte, old, repl string) []byte {
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	out := make([]byte, 0, len(b)+8)
	for {
		i := bytes.Index(b, []byte(old))
		if i < 0 {
			return append(out, b...)
		}
		end := i + len(old)
		whole := (i == 0 || !isDigit(b[i-1])) && (end == len(b) || !isDigit(b[end]))
		out = append(out, b[:i]...)
		if whole {
			out = append(out, repl...)
		} else {
			out = append(out, old...)
		}
		b = b[end:]
	}
}

// generated serves a Generator's output, keeping the latest messages in a
// ring so that streams behind the newest (a resend, a slow reader) get the
// same messages.
type generated struct {
	mu    sync.Mutex
	g     *mock.Generator
	ring  [][]byte
	count int64 // messages generated so far
}

func (c *generated) at(pos int64) (item, bool) {
	c.mu.Lock()
	size := int64(len(c.ring))
	pos = max(pos, c.count-size)
	for c.count <= pos {
		c.ring[c.count%size] = c.g.Next(make([]byte, 0, 8<<10)) // never reused: readers may hold it; sized for most statuses
		c.count++
	}
	line := c.ring[pos%size]
	c.mu.Unlock()
	ev, err := twitter.Decode(line)
	return item{pos: pos, line: line, ev: ev, err: err}, true
}

// errServerClosed ends streams when the Server is closed.
var errServerClosed = errors.New("server closed")

// conn is one open stream.
type conn struct {
	s   *Server
	w   http.ResponseWriter
	rc  *http.ResponseController
	ctx context.Context
	p   *streamParams

	ka          *time.Timer // nil when keep-alives are disabled
	limits      int         // limit notices sent
	lenBuf      []byte
	writeFailed bool // a write or flush failed: the response is cut off
}

// run streams until the client goes away, the server closes, or a fault
// ends the stream. It returns how many content messages it delivered and
// why it stopped.
func (c *conn) run() (sent int, why string) {
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	c.w.WriteHeader(http.StatusOK)
	if c.s.keepAlive > 0 {
		c.ka = time.NewTimer(c.s.keepAlive)
		defer c.ka.Stop()
	}
	if err := c.flush(); err != nil {
		return 0, err.Error()
	}
	var lim *rate.Limiter
	if c.s.cfg.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(c.s.cfg.Rate), 1)
	}
	cfg := &c.s.cfg
	pos := c.s.start()
	misses := 0
	for {
		if err := c.alive(); err != nil {
			return sent, err.Error()
		}
		it, ok := c.s.content.at(pos)
		if !ok {
			return sent, c.idle("content exhausted").Error()
		}
		pos = it.pos + 1
		if !c.p.pass(&it) {
			c.s.handled(it.pos, false)
			if misses++; misses >= c.s.starveAfter {
				return sent, c.idle("no content matches the filters").Error()
			}
			continue
		}
		misses = 0
		if lim != nil {
			if err := c.wait(lim.Reserve().Delay()); err != nil {
				return sent, err.Error()
			}
		}
		// Recorded before writing, so a client that reconnects as soon as
		// it has read a message finds it counted. (Messages in socket
		// buffers count as delivered either way.)
		c.s.handled(it.pos, true)
		if err := c.write(it.line); err != nil {
			return sent, err.Error()
		}
		sent++

		if every(cfg.LimitEvery, sent) {
			c.limits++
			if err := c.write(limitLine(c.limits, time.Now())); err != nil {
				return sent, err.Error()
			}
		}
		if every(cfg.MalformedEvery, sent) {
			if err := c.write([]byte(MalformedLine)); err != nil {
				return sent, err.Error()
			}
		}
		if every(cfg.GiantEvery, sent) {
			if err := c.write(c.s.giant); err != nil {
				return sent, err.Error()
			}
		}
		if cfg.StallAfter > 0 && sent == cfg.StallAfter {
			return sent, "stalled: " + c.stall().Error()
		}
		if every(cfg.DisconnectEvery, sent) {
			if cfg.DisconnectMessage {
				if err := c.write(disconnectLine(sent)); err != nil {
					return sent, err.Error()
				}
			}
			return sent, "disconnect-every reached"
		}
	}
}

func every(n, count int) bool { return n > 0 && count%n == 0 }

// write sends one message with its framing and flushes it.
func (c *conn) write(msg []byte) error {
	if c.p.delimited {
		c.lenBuf = strconv.AppendInt(c.lenBuf[:0], int64(len(msg)+2), 10)
		c.lenBuf = append(c.lenBuf, '\r', '\n')
		if _, err := c.w.Write(c.lenBuf); err != nil {
			return c.failed(err)
		}
	}
	if _, err := c.w.Write(msg); err != nil {
		return c.failed(err)
	}
	if _, err := io.WriteString(c.w, "\r\n"); err != nil {
		return c.failed(err)
	}
	return c.flush()
}

// flush sends what was written and restarts the keep-alive timer.
func (c *conn) flush() error {
	if err := c.rc.Flush(); err != nil {
		return c.failed(err)
	}
	if c.ka != nil {
		c.ka.Reset(c.s.keepAlive)
	}
	return nil
}

// failed notes that the response is cut off and returns err.
func (c *conn) failed(err error) error {
	c.writeFailed = true
	return err
}

// alive reports, without blocking, whether the stream should go on.
func (c *conn) alive() error {
	select {
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-c.s.closing:
		return errServerClosed
	default:
		return nil
	}
}

// wait blocks for d (forever when d < 0), sending keep-alives when due.
func (c *conn) wait(d time.Duration) error {
	if d == 0 {
		return c.alive()
	}
	var done <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		done = t.C
	}
	var ka <-chan time.Time
	if c.ka != nil {
		ka = c.ka.C
	}
	for {
		select {
		case <-c.ctx.Done():
			return c.ctx.Err()
		case <-c.s.closing:
			return errServerClosed
		case <-done:
			return nil
		case <-ka:
			if _, err := io.WriteString(c.w, "\r\n"); err != nil {
				return c.failed(err)
			}
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
}

// idle keeps the stream open with keep-alives only, until it ends.
func (c *conn) idle(reason string) error {
	c.s.log.Info("streamtest: stream idle", "reason", reason)
	return c.wait(-1)
}

// stall keeps the connection open without writing, until it ends.
func (c *conn) stall() error {
	select {
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-c.s.closing:
		return errServerClosed
	}
}
