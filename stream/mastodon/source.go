package mastodon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
	"github.com/streambot/streambot/stream/twitter"
)

// The paths of the streaming API, relative to the streaming server.
const (
	PublicPath       = "/api/v1/streaming/public"        // every public post the instance knows of
	PublicLocalPath  = "/api/v1/streaming/public/local"  // public posts made on the instance
	HashtagPath      = "/api/v1/streaming/hashtag"       // public posts with the hashtag in ?tag=
	HashtagLocalPath = "/api/v1/streaming/hashtag/local" // the same, made on the instance
	HealthPath       = "/api/v1/streaming/health"        // "OK" while the streaming server runs
)

// errStalled is the cancellation cause set by the stall watchdog.
var errStalled = errors.New("mastodon: stream stalled")

// maxRetryAfter caps a server's Retry-After.
const maxRetryAfter = time.Hour

// Source streams public posts from a Mastodon instance's streaming API
// (server-sent events over HTTP). It implements stream.Source.
//
// Run finds the streaming server (see the package documentation), opens the
// public stream or one stream per hashtag, and reconnects each by itself
// (see Config.Backoff) for as long as its context lives. It detects stalls
// and returns only when the context ends (nil), on a failure that needs a
// person (a *stream.PermanentError: HTTP 401, 403, 404, 400 or 410), or
// with the error of emit.
type Source struct {
	cfg        Config
	instance   *url.URL
	streams    []streamSpec
	client     *http.Client
	ownsClient bool
	log        *slog.Logger
	secrets    netstream.Secrets
	// observer hears of connections and disconnections; never nil.
	observer stream.ConnectionObserver
}

// streamSpec is one stream Run keeps open.
type streamSpec struct {
	label string // for logs: "public", "hashtag:python", ...
	path  string
	tag   string
}

// NewSource validates cfg and returns a Source. Errors name the
// environment variable or setting to fix and never contain the token.
func NewSource(cfg Config) (*Source, error) {
	inst, err := instanceURL(cfg.InstanceURL)
	if err != nil {
		return nil, err
	}
	if err := checkToken(cfg.Token); err != nil {
		return nil, err
	}
	tags, err := hashtags(cfg.Hashtags)
	if err != nil {
		return nil, err
	}
	cfg.Hashtags = tags
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	if cfg.Sleep == nil {
		cfg.Sleep = netstream.Sleep
	}
	s := &Source{
		cfg: cfg, instance: inst, log: netstream.Logger(cfg.Logger),
		secrets: netstream.NewSecrets(string(cfg.Token)), observer: netstream.NoObserver{},
	}
	s.client, s.ownsClient = netstream.StreamClient(cfg.HTTPClient)
	switch {
	case len(tags) == 0 && cfg.Local:
		s.streams = []streamSpec{{label: "public:local", path: PublicLocalPath}}
	case len(tags) == 0:
		s.streams = []streamSpec{{label: "public", path: PublicPath}}
	}
	for _, t := range tags {
		if cfg.Local {
			s.streams = append(s.streams, streamSpec{label: "hashtag:local:" + t, path: HashtagLocalPath, tag: t})
		} else {
			s.streams = append(s.streams, streamSpec{label: "hashtag:" + t, path: HashtagPath, tag: t})
		}
	}
	return s, nil
}

// Name returns "mastodon".
func (s *Source) Name() string { return SourceName }

// String describes the Source by its instance and streams. Without it,
// printing a *Source (fmt's %v, slog's text handler) would show its
// fields, the token among them.
func (s *Source) String() string {
	return "mastodon.Source(" + s.instance.String() + " " + strings.Join(s.Streams(), ",") + ")"
}

// GoString is String, so %#v does not reveal the token either.
func (s *Source) GoString() string { return s.String() }

// Instance returns the instance's base URL, normalized.
func (s *Source) Instance() string { return s.instance.String() }

// Streams names the streams Run opens: "public", "public:local",
// "hashtag:<tag>" or "hashtag:local:<tag>", as in Mastodon's documentation.
func (s *Source) Streams() []string {
	out := make([]string, len(s.streams))
	for i, st := range s.streams {
		out[i] = st.label
	}
	return out
}

// Observe makes s report its connections to o: Connected when every stream
// is open (with hashtags, all of their connections), Disconnected with a
// twitter.Reason's name ("dropped", "network", "http", "rate-limited") each
// time one of them ends and is about to be reopened. Call it before Run,
// not concurrently with it; package bot does, for its metrics and /healthz.
func (s *Source) Observe(o stream.ConnectionObserver) {
	s.observer = netstream.Observer(o)
}

// Run streams until ctx ends, a permanent failure, or an emit error; see
// Source. It may be called again after it returned.
//
// Events are emitted from the goroutine that called Run, each connection's
// in the order received; with several hashtags the connections' events are
// interleaved as they arrive, and a post with two of the hashtags comes
// twice (the bot drops the second by ID). Statuses, edits and deletes are
// emitted; other events, malformed ones and oversized ones are logged and
// skipped. A delete is followed by deletes of the edits of that status this
// Run emitted, so the bot can cancel any of them still queued.
func (s *Source) Run(ctx context.Context, emit func(stream.Event) error) error {
	if s.ownsClient {
		defer s.client.CloseIdleConnections()
	}
	base, err := s.discover(ctx)
	if err != nil || base == nil {
		return err
	}
	tr := &connTracker{obs: s.observer, total: len(s.streams)}
	edits := newEditLog(maxTrackedEdits)
	out := func(ev stream.Event) error {
		switch ev.Kind {
		case stream.KindStatus:
			if orig, ok := originalID(ev.Status.ID); ok {
				edits.add(orig, ev.Status.ID)
			}
		case stream.KindDelete:
			if err := emit(ev); err != nil {
				return err
			}
			for _, id := range edits.take(ev.Delete.StatusID) {
				if err := emit(stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: id, UserID: ev.Delete.UserID}}); err != nil {
					return err
				}
			}
			return nil
		}
		return emit(ev)
	}
	if len(s.streams) == 1 {
		return s.loop(ctx, base, s.streams[0], tr, out)
	}
	return s.fanIn(ctx, base, tr, out)
}

// fanIn runs one connection loop per stream and emits their events from
// the calling goroutine. The first permanent failure or emit error stops
// them all; fanIn returns after every loop has returned.
func (s *Source) fanIn(ctx context.Context, base *url.URL, tr *connTracker, emit func(stream.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	events := make(chan stream.Event)
	errs := make(chan error, len(s.streams))
	var wg sync.WaitGroup
	stop := func() {
		cancel()
		wg.Wait()
	}
	send := func(ev stream.Event) error {
		select {
		case events <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, st := range s.streams {
		wg.Go(func() {
			if err := s.loop(ctx, base, st, tr, send); err != nil {
				errs <- err
			}
		})
	}
	for {
		select {
		case ev := <-events:
			if err := emit(ev); err != nil {
				stop()
				return err
			}
		case err := <-errs:
			stop()
			return err
		case <-ctx.Done():
			stop()
			return nil
		}
	}
}

// loop keeps one stream open until ctx ends (nil), a permanent failure or
// an emit error.
func (s *Source) loop(ctx context.Context, base *url.URL, st streamSpec, tr *connTracker, emit func(stream.Event) error) error {
	endpoint := streamURL(base, st)
	cs := &connState{}
	bo := s.cfg.Backoff
	bo.Reset()
	for {
		if ctx.Err() != nil {
			return nil
		}
		out := s.connect(ctx, endpoint, st, &bo, tr, cs, emit)
		if ctx.Err() != nil {
			return nil
		}
		if out.final != nil {
			return out.final
		}
		tr.disconnected(cs, out.reason.String())
		d := bo.Next(out.reason)
		if out.retryAfter > d {
			d = out.retryAfter
		}
		level := slog.LevelWarn
		if out.reason == twitter.ReasonDropped {
			level = slog.LevelInfo
		}
		attrs := []any{"stream", st.label, "reason", out.reason.String(), "delay", d}
		if out.status != 0 {
			attrs = append(attrs, "status", out.status)
		}
		if out.err != nil {
			attrs = append(attrs, "err", s.secrets.Redact(out.err.Error()))
		}
		s.log.Log(ctx, level, "mastodon: stream ended, reconnecting", attrs...)
		if err := s.cfg.Sleep(ctx, d); err != nil || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("mastodon: waiting to reconnect: %w", err)
		}
	}
}

// streamURL is the URL of st on the streaming server base.
func streamURL(base *url.URL, st streamSpec) string {
	u := *base
	u.Path = strings.TrimRight(u.Path, "/") + st.path
	u.RawPath = ""
	u.RawQuery = ""
	if st.tag != "" {
		u.RawQuery = url.Values{"tag": {st.tag}}.Encode()
	}
	return u.String()
}

// outcome is how one connection (or discovery request) ended.
type outcome struct {
	reason     twitter.Reason
	status     int           // HTTP status of a failed request
	retryAfter time.Duration // the server's Retry-After, capped
	err        error         // why it ended, for the log
	final      error         // non-nil: Run returns it (permanent failure or emit error)
}

// connect makes one request and reads its stream to the end.
func (s *Source) connect(ctx context.Context, endpoint string, st streamSpec, bo *twitter.Backoff,
	tr *connTracker, cs *connState, emit func(stream.Event) error) outcome {
	connCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The watchdog only cancels connCtx, which makes the transport close the
	// connection and the pending Read return; this goroutine alone closes
	// the body, once.
	wd := &netstream.Watchdog{Timeout: s.cfg.StallTimeout, AfterFunc: s.cfg.afterFunc, OnStall: func() { cancel(errStalled) }}
	defer wd.Disarm()
	stalled := func() bool { return errors.Is(context.Cause(connCtx), errStalled) }

	req, err := http.NewRequestWithContext(connCtx, http.MethodGet, endpoint, nil)
	if err != nil {
		return outcome{final: &stream.PermanentError{Err: fmt.Errorf("mastodon: building the request: %w", err)}}
	}
	s.authorize(req)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Close = true // every reconnect gets a fresh connection; nothing idles afterwards

	s.log.Debug("mastodon: connecting", "stream", st.label, "url", endpoint)
	resp, err := wd.Do(s.client, req, stalled)
	if err != nil {
		return outcome{reason: twitter.ReasonNetwork, err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s.statusOutcome(resp, wd, st, endpoint)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		s.log.Warn("mastodon: the stream is not text/event-stream; reading it anyway",
			"stream", st.label, "content_type", netstream.Truncate([]byte(resp.Header.Get("Content-Type")), 80))
	}
	s.log.Info("mastodon: connected", "stream", st.label, "url", endpoint)
	tr.connected(cs)

	r := newSSEReader(wd, s.cfg.MaxLineBytes)
	// The stream is established once it delivered a well-formed event.
	// Comments (the greeting and heartbeats), garbage and oversized events
	// do not count, so a server that answers 200 and closes gets the
	// network back-off, not an immediate reconnect.
	established := false
	for {
		ev, err := r.next()
		if err == nil {
			sev, derr := Decode(ev.name, ev.data)
			if wellFormed(derr) && !established {
				established = true
				bo.Reset()
			}
			if err := s.dispatch(st, ev, sev, derr, emit); err != nil {
				return outcome{final: err}
			}
			continue
		}
		var tooLong *EventTooLongError
		if errors.As(err, &tooLong) {
			s.log.Warn("mastodon: skipping an oversized event", "stream", st.label,
				"event", tooLong.Event, "bytes", tooLong.Size, "max", tooLong.Max)
			continue
		}
		switch {
		case ctx.Err() != nil:
			return outcome{}
		case stalled():
			return outcome{reason: twitter.ReasonNetwork, err: fmt.Errorf("stalled: no data and no heartbeat for %v", s.cfg.StallTimeout)}
		case !established:
			if err == io.EOF {
				err = errors.New("the stream ended before delivering any event")
			}
			return outcome{reason: twitter.ReasonNetwork, err: err}
		default:
			if err == io.EOF {
				err = errors.New("the server closed the stream")
			}
			return outcome{reason: twitter.ReasonDropped, err: err}
		}
	}
}

// wellFormed reports whether Decode's error still means a sound event arrived.
func wellFormed(decodeErr error) bool {
	return decodeErr == nil || errors.Is(decodeErr, ErrUnknownEvent) || errors.Is(decodeErr, ErrIgnoredEvent)
}

// dispatch logs what needs logging about one event (ev and err are
// Decode's results for raw) and emits it if it is a stream event.
func (s *Source) dispatch(st streamSpec, raw sseEvent, ev stream.Event, err error, emit func(stream.Event) error) error {
	switch {
	case err == nil:
		return emit(ev)
	case errors.Is(err, ErrIgnoredEvent):
		s.log.Debug("mastodon: ignoring event", "stream", st.label, "event", raw.name)
	case errors.Is(err, ErrUnknownEvent):
		s.log.Warn("mastodon: skipping an unknown event", "stream", st.label,
			"event", s.secrets.Redact(netstream.Truncate([]byte(raw.name), 40)), "bytes", len(raw.data))
	default:
		s.log.Warn("mastodon: skipping a malformed event", "stream", st.label, "event", s.secrets.Redact(netstream.Truncate([]byte(raw.name), 40)),
			"bytes", len(raw.data), "err", s.secrets.Redact(err.Error()), "prefix", s.secrets.Excerpt(raw.data))
	}
	return nil
}

// authorize adds the bearer token. Only the header carries it: never the URL.
func (s *Source) authorize(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+string(s.cfg.Token))
	req.Header.Set("User-Agent", "streambot")
}

// StatusError is a non-200 answer of the instance or the streaming server.
// Permanent ones reach Run's caller inside a *stream.PermanentError;
// retryable ones are logged.
type StatusError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// ServerMessage is the error text of the response body (Mastodon's
	// {"error": ...}), truncated and with the token removed.
	ServerMessage string
	msg           string
}

// Error says what the server answered and, for answers that need a person,
// what to check.
func (e *StatusError) Error() string { return e.msg }

// serverMessageBytes bounds the server's error text kept in errors and logs.
const serverMessageBytes = 200

// statusOutcome classifies a non-200 answer of a stream endpoint.
func (s *Source) statusOutcome(resp *http.Response, body io.Reader, st streamSpec, endpoint string) outcome {
	raw, _ := io.ReadAll(io.LimitReader(body, 4<<10))
	server := s.secrets.Redact(serverMessage(raw))
	status := fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	said := ""
	if server != "" {
		said = fmt.Sprintf("; the server said %q", server)
	}
	var msg string
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		msg = fmt.Sprintf("mastodon: the streaming server rejected the token (%s): check %s: it must be a valid user access token "+
			"with the read:statuses scope (since Mastodon 4.2 public and hashtag streams need one)%s", status, EnvToken, said)
	case http.StatusForbidden:
		msg = fmt.Sprintf("mastodon: the streaming server refused the %s stream (%s): the instance may keep its public timelines "+
			"to itself or have disabled them, or the account of %s is suspended or unconfirmed%s", st.label, status, EnvToken, said)
	case http.StatusNotFound, http.StatusGone:
		msg = fmt.Sprintf("mastodon: no %s stream at %s (%s): check %s; it must be the instance's own URL, like https://mastodon.social%s",
			st.label, endpoint, status, EnvURL, said)
	case http.StatusBadRequest:
		msg = fmt.Sprintf("mastodon: the streaming server rejected the %s stream request (%s): check the hashtags%s", st.label, status, said)
	}
	if msg != "" {
		err := &StatusError{StatusCode: resp.StatusCode, ServerMessage: server, msg: msg}
		return outcome{final: &stream.PermanentError{Err: err}}
	}
	err := &StatusError{StatusCode: resp.StatusCode, ServerMessage: server, msg: "mastodon: " + st.label + " stream: " + status + said}
	out := outcome{reason: twitter.ReasonHTTP, status: resp.StatusCode, err: err, retryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if resp.StatusCode == http.StatusTooManyRequests {
		out.reason = twitter.ReasonRateLimited
	}
	return out
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped
// at maxRetryAfter; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// serverMessage extracts the human text of an error body: Mastodon's
// {"error": ...} (and its optional error_description), or the body itself
// with whitespace collapsed; at most serverMessageBytes.
func serverMessage(body []byte) string {
	var v struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	text := string(body)
	if json.Unmarshal(body, &v) == nil && v.Error != "" {
		text = v.Error
		if v.Description != "" {
			text += ": " + v.Description
		}
	}
	text = strings.Join(strings.Fields(text), " ")
	return netstream.Truncate([]byte(text), serverMessageBytes)
}

// connTracker turns the connections' ups and downs into the observer's
// view of one stream: connected when all of them are.
type connTracker struct {
	mu    sync.Mutex
	obs   stream.ConnectionObserver
	total int
	up    int
}

// connState is one connection's place in the tracker.
type connState struct{ up bool }

func (t *connTracker) connected(c *connState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.up {
		return
	}
	c.up = true
	t.up++
	if t.up == t.total {
		t.obs.Connected()
	}
}

func (t *connTracker) disconnected(c *connState, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.up {
		c.up = false
		t.up--
	}
	t.obs.Disconnected(reason)
}
