package bluesky

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
)

const (
	// SourceName is the Source's Name and the Source field of its statuses.
	SourceName = "bluesky"
	// DefaultURL is the public Jetstream instance the Source uses by default.
	DefaultURL = "wss://jetstream2.us-east.bsky.network"
	// EnvURL is the environment variable that points the Source elsewhere
	// (read by cmd/streambot, not by the Source).
	EnvURL = "JETSTREAM_URL"
	// SubscribePath is Jetstream's WebSocket endpoint, appended to the base
	// URL unless it already ends with it.
	SubscribePath = "/subscribe"
	// PostCollection is the collection the Source subscribes to.
	PostCollection = "app.bsky.feed.post"
)

// Defaults for the zero values of Config.
const (
	// DefaultStallTimeout: Jetstream is never quiet, so 30 s without a
	// message means the connection is dead.
	DefaultStallTimeout = 30 * time.Second
	// DefaultMaxMessageBytes bounds one message. The WebSocket library's
	// own default (32 KiB) is smaller than some real posts.
	DefaultMaxMessageBytes = 1 << 20
	// DefaultRewind is how far before the committed cursor a connection
	// starts, for gapless playback when switching instances.
	DefaultRewind = 5 * time.Second
)

// ErrInvalidConfig is returned by NewSource for a malformed Config.URL.
var ErrInvalidConfig = errors.New("bluesky: invalid configuration")

// errStalled is the cancellation cause set by the stall watchdog.
var errStalled = errors.New("bluesky: stream stalled")

// Config configures a Jetstream Source. The zero value streams the posts of
// the whole network from DefaultURL.
type Config struct {
	// URL is the Jetstream server: ws, wss, http (taken as ws) or https
	// (wss), with or without the "/subscribe" path, no query. Empty means
	// DefaultURL; cmd/streambot reads it from JETSTREAM_URL (EnvURL).
	URL string
	// Logger receives connections, cursors and skipped messages; nil discards.
	Logger *slog.Logger

	// StallTimeout is how long a connection may deliver no message (or not
	// finish its handshake) before it is closed and reopened; 0 means
	// DefaultStallTimeout.
	StallTimeout time.Duration
	// MaxMessageBytes bounds one message; 0 means DefaultMaxMessageBytes.
	// A longer message makes the WebSocket library close the connection;
	// the source reconnects just past it and logs that it was skipped.
	MaxMessageBytes int64
	// Rewind is subtracted from the cursor at every connection, so a
	// reconnect or a restart re-reads a little (the consumer drops what it
	// has seen by ID); 0 means DefaultRewind, negative means none.
	Rewind time.Duration
	// MaxHandles bounds the handles remembered from identity events; 0
	// means DefaultMaxHandles.
	MaxHandles int

	// Backoff is the reconnect schedule; the zero value is 1 s doubling to
	// a minute.
	Backoff Backoff
	// Sleep waits d before a reconnect and returns early with ctx's error
	// when ctx ends; nil means a timer. Tests inject one that records d.
	// An error while ctx is still live ends Run with that error.
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTPClient carries the WebSocket handshake; nil means
	// http.DefaultClient. Its Timeout, if any, bounds the handshake only.
	HTTPClient *http.Client

	// afterFunc starts the stall timer; nil means time.AfterFunc. Tests
	// inject a fake to fire the watchdog deterministically.
	afterFunc netstream.AfterFunc
}

// Source streams the posts of Bluesky from a Jetstream server
// (https://github.com/bluesky-social/jetstream) over a WebSocket. It
// implements stream.Source, stream.Resumer and Observe for package bot.
//
// Run reconnects (see Backoff) for as long as its context lives, closes a
// connection that stays silent for StallTimeout, and returns only when the
// context ends (nil) or with the error of emit: nothing about Jetstream is
// permanent, since it needs no credentials.
type Source struct {
	cfg      Config
	ep       endpoint
	log      *slog.Logger
	observer stream.ConnectionObserver
	pos      positions
	dec      decoder
}

// NewSource validates cfg and returns a Source. Only a malformed URL is an
// error (wrapping ErrInvalidConfig).
func NewSource(cfg Config) (*Source, error) {
	ep, err := parseEndpoint(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = DefaultStallTimeout
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	switch {
	case cfg.Rewind == 0:
		cfg.Rewind = DefaultRewind
	case cfg.Rewind < 0:
		cfg.Rewind = 0
	}
	if cfg.MaxHandles <= 0 {
		cfg.MaxHandles = DefaultMaxHandles
	}
	if cfg.Sleep == nil {
		cfg.Sleep = netstream.Sleep
	}
	s := &Source{cfg: cfg, ep: ep, log: netstream.Logger(cfg.Logger), observer: netstream.NoObserver{}}
	s.dec.handles = newHandleCache(cfg.MaxHandles)
	return s, nil
}

// Name returns "bluesky".
func (s *Source) Name() string { return SourceName }

// Endpoint returns the subscribe URL the Source connects to, without its
// query and without any password.
func (s *Source) Endpoint() string { return s.ep.shown }

// Observe makes s report every established connection and every
// disconnection (with its Reason as the reason) to o. Call it before Run,
// not concurrently with it; package bot does, for its metrics and /healthz.
func (s *Source) Observe(o stream.ConnectionObserver) {
	s.observer = netstream.Observer(o)
}

// Resume sets the cursor Run starts from: the Cursor of an event committed
// by a previous run (unix microseconds). Call it before Run. A cursor the
// Source did not produce is logged and ignored.
func (s *Source) Resume(cursor string) {
	us, ok := parseCursor(cursor)
	if !ok {
		s.log.Warn("bluesky: ignoring an invalid resume cursor: starting live", "cursor", truncate(cursor, 32))
		return
	}
	s.pos.resume.Store(us)
}

// Committed records that the event carrying cursor, and all before it, are
// durable: every later connection starts from there (minus Rewind). It is
// safe to call from any goroutine and returns at once. The newest cursor
// wins, so a late call with an older one changes nothing.
func (s *Source) Committed(cursor string) {
	if us, ok := parseCursor(cursor); ok {
		s.pos.commit(us)
	}
}

// Run streams posts until ctx ends (nil) or emit fails (that error); see
// Source. It may be called again after it returned.
//
// Every created post becomes a KindStatus event and every deleted post a
// KindDelete event, in the order received. Every emitted event carries
// Cursor: the time_us of the newest message read so far, including the
// identity, account and other messages that emit nothing. Updates are
// ignored. Malformed messages are skipped with a rate-limited warning.
func (s *Source) Run(ctx context.Context, emit func(stream.Event) error) error {
	bo := s.cfg.Backoff
	bo.Reset()
	rc := &runCursor{}
	warn := &skipLog{every: rate.Sometimes{First: 3, Interval: 10 * time.Second}}
	for {
		if ctx.Err() != nil {
			return nil
		}
		out := s.connect(ctx, rc, &bo, warn, emit)
		if out.final != nil {
			return out.final
		}
		if ctx.Err() != nil {
			return nil
		}
		s.observer.Disconnected(out.reason.String())
		d := bo.Next()
		if out.retryAfter > d {
			d = out.retryAfter
		}
		level := slog.LevelWarn
		if out.reason == ReasonDropped {
			level = slog.LevelInfo
		}
		msg := "bluesky: stream ended, reconnecting"
		if out.reason == ReasonHTTP && out.status >= 400 && out.status < 500 && bo.Failures() >= 3 {
			level = slog.LevelError
			msg = fmt.Sprintf("bluesky: the server keeps refusing the WebSocket (HTTP %d): check %s; still retrying", out.status, EnvURL)
		}
		attrs := []any{"reason", out.reason.String(), "delay", d, "url", s.ep.shown}
		if out.status != 0 {
			attrs = append(attrs, "status", out.status)
		}
		if out.err != nil {
			attrs = append(attrs, "err", out.err.Error())
		}
		s.log.Log(ctx, level, msg, attrs...)
		if err := s.cfg.Sleep(ctx, d); err != nil || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("bluesky: waiting to reconnect: %w", err)
		}
	}
}

// outcome is how one connection ended.
type outcome struct {
	reason     Reason
	status     int           // HTTP status of a refused upgrade
	retryAfter time.Duration // what a 429 asked for
	err        error         // why it ended, for the log
	final      error         // non-nil: Run returns it (emit's error)
}

// connect opens one WebSocket and reads it until it ends.
func (s *Source) connect(ctx context.Context, rc *runCursor, bo *Backoff, warn *skipLog, emit func(stream.Event) error) outcome {
	connCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The watchdog only cancels connCtx; the WebSocket library then closes
	// the connection and the pending read returns.
	wd := &netstream.Watchdog{Timeout: s.cfg.StallTimeout, AfterFunc: s.cfg.afterFunc, OnStall: func() { cancel(errStalled) }}
	defer wd.Disarm()
	stalled := func() bool { return errors.Is(context.Cause(connCtx), errStalled) }

	cursor := rc.next(s.pos.base(), s.cfg.Rewind)
	if cursor > 0 {
		s.log.Info("bluesky: connecting", "url", s.ep.shown, "cursor", cursor, "cursor_time", cursorTime(cursor))
	} else {
		s.log.Info("bluesky: connecting", "url", s.ep.shown, "cursor", "live")
	}
	header := http.Header{"User-Agent": {"streambot"}}
	wd.Arm()
	conn, resp, err := websocket.Dial(connCtx, s.ep.url(cursor), &websocket.DialOptions{HTTPClient: s.cfg.HTTPClient, HTTPHeader: header})
	wd.Disarm()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return outcome{}
		case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
			return s.refused(resp)
		case stalled():
			return outcome{reason: ReasonNetwork, err: fmt.Errorf("no WebSocket handshake within %v", s.cfg.StallTimeout)}
		}
		return outcome{reason: ReasonNetwork, err: err}
	}
	defer conn.CloseNow()
	conn.SetReadLimit(s.cfg.MaxMessageBytes)
	s.log.Info("bluesky: connected", "url", s.ep.shown)
	s.observer.Connected()

	delivered := false // a well-formed message arrived on this connection
	var buf bytes.Buffer
	for {
		buf.Reset()
		wd.Arm()
		typ, err := readMessage(connCtx, conn, &buf)
		wd.Disarm()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return outcome{}
			case stalled():
				return outcome{reason: ReasonStalled, err: fmt.Errorf("no message for %v", s.cfg.StallTimeout)}
			case errors.Is(err, websocket.ErrMessageTooBig):
				s.skipTooBig(rc, buf.Bytes())
				return outcome{reason: ReasonTooBig, err: err}
			case delivered:
				return outcome{reason: ReasonDropped, err: err}
			}
			return outcome{reason: ReasonNetwork, err: err}
		}
		if typ != websocket.MessageText {
			s.skip(warn, buf.Bytes(), errors.New("a binary frame (compression is not supported)"))
			continue
		}
		d, err := s.dec.decode(buf.Bytes())
		rc.read(d.timeUS)
		if err != nil {
			s.skip(warn, buf.Bytes(), err)
			continue
		}
		if !delivered {
			delivered = true
			bo.Reset()
		}
		if d.ev.Kind == 0 {
			if d.ignored == "post update" {
				s.log.Debug("bluesky: ignoring a post update", "time_us", d.timeUS)
			}
			continue
		}
		d.ev.Cursor = formatCursor(rc.newest)
		if err := emit(d.ev); err != nil {
			return outcome{final: err}
		}
	}
}

// refused classifies an HTTP answer to the WebSocket upgrade.
func (s *Source) refused(resp *http.Response) outcome {
	status := resp.StatusCode
	err := fmt.Errorf("bluesky: the server refused the WebSocket: HTTP %d %s", status, http.StatusText(status))
	if status == http.StatusTooManyRequests {
		return outcome{reason: ReasonRateLimited, status: status, err: err, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return outcome{reason: ReasonHTTP, status: status, err: err}
}

// retryAfter parses a Retry-After header in seconds (the HTTP-date form is
// ignored), capped at MaxRetryAfter.
func retryAfter(v string) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	if n > int64(MaxRetryAfter/time.Second) {
		return MaxRetryAfter
	}
	return time.Duration(n) * time.Second
}

// readMessage reads one message into buf. When the message is over the
// read limit, buf holds its first bytes and the error wraps
// websocket.ErrMessageTooBig.
func readMessage(ctx context.Context, conn *websocket.Conn, buf *bytes.Buffer) (websocket.MessageType, error) {
	typ, r, err := conn.Reader(ctx)
	if err != nil {
		return 0, err
	}
	_, err = buf.ReadFrom(r)
	return typ, err
}

// skipTooBig moves the next connection's cursor past a message that was
// over MaxMessageBytes, so that it is not served again.
func (s *Source) skipTooBig(rc *runCursor, prefix []byte) {
	if us, ok := prefixTimeUS(prefix); ok {
		rc.read(us)
		rc.floor = max(rc.floor, us+1)
		s.log.Warn("bluesky: skipped one message over the size limit: resuming just after it",
			"max_bytes", s.cfg.MaxMessageBytes, "time_us", us, "cursor", rc.floor)
		return
	}
	if rc.unknownSkip {
		// Twice in a row, nothing read in between: the message is the
		// first one served after the floor and its time is unknown.
		rc.live = true
		s.log.Error("bluesky: a message over the size limit has no readable time_us: skipping to the live stream; "+
			"posts between the cursor and now are lost", "max_bytes", s.cfg.MaxMessageBytes, "cursor", rc.floor)
		return
	}
	rc.unknownSkip = true
	rc.floor = max(rc.floor, rc.newest+1)
	s.log.Warn("bluesky: skipped one message over the size limit (its time_us is unreadable): resuming after the last message read",
		"max_bytes", s.cfg.MaxMessageBytes, "cursor", rc.floor)
}

// skipLog counts the malformed messages of a Run and paces their warnings.
type skipLog struct {
	every rate.Sometimes
	n     int64
}

// skip logs a malformed message, at most a few times per interval.
func (s *Source) skip(warn *skipLog, msg []byte, err error) {
	warn.n++
	n := warn.n
	warn.every.Do(func() {
		s.log.Warn("bluesky: skipping a malformed message", "err", err.Error(), "bytes", len(msg),
			"prefix", prefix(msg), "skipped_total", n)
	})
}

// prefix returns the start of a message for a log line, valid UTF-8.
func prefix(msg []byte) string {
	const n = 80
	if len(msg) > n {
		msg = msg[:n]
	}
	return strings.ToValidUTF8(string(msg), "\uFFFD")
}
