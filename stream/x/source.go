package x

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
	"github.com/streambot/streambot/stream/twitter"
)

// errStalled is the cancellation cause set by the stall watchdog.
var errStalled = errors.New("x: stream stalled")

// Source streams the X API v2 filtered stream, or a compatible server. It
// implements stream.Source.
//
// Run first makes the app's rules exactly Config.Rules (SyncRules), then
// connects, reconnects by X's rules (see twitter.Backoff) for as long as
// its context lives, detects stalls by the 20-second heartbeat, and
// returns only when the context ends (nil), on a failure that needs a
// person (a *stream.PermanentError: an invalid rule, HTTP 400, 401, 403,
// 404), or with the error of emit.
type Source struct {
	cfg            Config
	streamURL      string
	rulesURL       string
	shownURL       string // base URL without userinfo password, for logs
	client         *http.Client
	ownsClient     bool
	requestTimeout time.Duration
	log            *slog.Logger
	secrets        netstream.Secrets // the token
	// observer hears of connections and disconnections; never nil.
	observer stream.ConnectionObserver
}

// NewSource validates cfg and returns a Source. Errors name the
// environment variable or rule to fix and never contain the token.
func NewSource(cfg Config) (*Source, error) {
	if err := checkToken(cfg.BearerToken); err != nil {
		return nil, err
	}
	streamURL, rulesURL, shown, err := endpoints(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Rules, err = checkRules(cfg.Rules); err != nil {
		return nil, err
	}
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
		cfg: cfg, streamURL: streamURL, rulesURL: rulesURL, shownURL: shown,
		requestTimeout: DefaultRequestTimeout, log: netstream.Logger(cfg.Logger),
		secrets: netstream.NewSecrets(string(cfg.BearerToken)), observer: netstream.NoObserver{},
	}
	if c := cfg.HTTPClient; c != nil && c.Timeout > 0 && c.Timeout < s.requestTimeout {
		s.requestTimeout = c.Timeout
	}
	s.client, s.ownsClient = netstream.StreamClient(cfg.HTTPClient)
	return s, nil
}

// Name returns "x".
func (s *Source) Name() string { return SourceName }

// String describes the Source by its API host. Without it, printing a
// *Source (fmt's %v, slog's text handler) would show its fields, the token
// among them.
func (s *Source) String() string { return "x.Source(" + s.shownURL + ")" }

// GoString is String, so %#v does not reveal the token either.
func (s *Source) GoString() string { return s.String() }

// Endpoint returns the stream URL the Source connects to (without any password).
func (s *Source) Endpoint() string { return s.shownURL + StreamPath + "?" + StreamQuery }

// Observe makes s report every established connection and every
// disconnection (with its twitter.Reason as the reason) to o. Call it
// before Run, not concurrently with it; package bot does, for its metrics
// and /healthz.
func (s *Source) Observe(o stream.ConnectionObserver) {
	s.observer = netstream.Observer(o)
}

// Run syncs the rules, then streams until ctx ends, a permanent failure,
// or an emit error; see Source. It may be called again after it returned.
//
// Every message is emitted in the order received, before the next is read:
// posts (KindStatus, with Status.Rules holding the tags of the rules they
// matched), operational disconnects (KindDisconnect, after which the
// Source reconnects) and other in-stream errors (KindWarning). Malformed,
// unknown and oversized messages are logged and skipped. X does not resend
// posts after a reconnect, but duplicates are left to the consumer.
func (s *Source) Run(ctx context.Context, emit func(stream.Event) error) error {
	if s.ownsClient {
		defer s.client.CloseIdleConnections()
	}
	bo := s.cfg.Backoff
	bo.Reset()
	synced := false
	for {
		if ctx.Err() != nil {
			return nil
		}
		var out outcome
		if !synced {
			_, err := s.SyncRules(ctx)
			if err == nil {
				synced = true
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, stream.ErrPermanent) {
				return err
			}
			out = outcome{reason: reasonOf(err), err: err, sync: true}
		} else {
			out = s.connect(ctx, &bo, emit)
			if out.final != nil {
				return out.final
			}
			if ctx.Err() != nil {
				return nil
			}
			s.observer.Disconnected(out.reason.String())
		}
		d := bo.Next(out.reason)
		s.logRetry(ctx, out, d)
		if err := s.cfg.Sleep(ctx, d); err != nil || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("x: waiting to reconnect: %w", err)
		}
	}
}

// logRetry logs why a connection or a rule sync ended and when it is retried.
func (s *Source) logRetry(ctx context.Context, out outcome, d time.Duration) {
	level := slog.LevelWarn
	if out.reason == twitter.ReasonDropped {
		level = slog.LevelInfo
	}
	msg := "x: stream ended, reconnecting"
	if out.sync {
		msg = "x: syncing the rules failed, retrying"
	}
	attrs := []any{"reason", out.reason.String(), "delay", d}
	var se *StatusError
	if errors.As(out.err, &se) {
		attrs = append(attrs, "status", se.StatusCode)
		if se.TooManyConnections() {
			msg = "x: another client holds the filtered stream connection (429 TooManyConnections); " +
				"stop it, or this one keeps retrying with back-off"
		}
	}
	if out.err != nil {
		attrs = append(attrs, "err", s.secrets.Redact(out.err.Error()))
	}
	s.log.Log(ctx, level, msg, attrs...)
}

// outcome is how one connection (or rule sync) ended.
type outcome struct {
	reason twitter.Reason
	err    error // why it ended, for the log
	final  error // non-nil: Run returns it (permanent failure or emit error)
	sync   bool  // the rule sync failed, not a connection
}

// authorize sets the request's credentials and identification.
func (s *Source) authorize(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+string(s.cfg.BearerToken))
	req.Header.Set("User-Agent", "streambot")
}

// connect makes one stream request and reads the stream to the end.
func (s *Source) connect(ctx context.Context, bo *twitter.Backoff, emit func(stream.Event) error) outcome {
	connCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The watchdog only cancels connCtx, which makes the transport close the
	// connection and the pending Read return; this goroutine alone closes
	// the body, once.
	wd := &netstream.Watchdog{Timeout: s.cfg.StallTimeout, AfterFunc: s.cfg.afterFunc, OnStall: func() { cancel(errStalled) }}
	defer wd.Disarm()
	stalled := func() bool { return errors.Is(context.Cause(connCtx), errStalled) }

	req, err := http.NewRequestWithContext(connCtx, http.MethodGet, s.streamURL, nil)
	if err != nil {
		return outcome{final: &stream.PermanentError{Err: fmt.Errorf("x: building the stream request: %w", err)}}
	}
	s.authorize(req)
	req.Close = true // every reconnect gets a fresh connection; nothing idles afterwards

	s.log.Debug("x: connecting", "url", s.shownURL+StreamPath)
	resp, err := wd.Do(s.client, req, stalled)
	if err != nil {
		return outcome{reason: twitter.ReasonNetwork, err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(wd, 4<<10))
		se := newStatusError("stream", resp.StatusCode, raw, s.shownURL, s.secrets.Redact)
		if se.Permanent() {
			return outcome{final: &stream.PermanentError{Err: se}}
		}
		return outcome{reason: se.reason(), err: se}
	}
	s.log.Info("x: connected", "url", s.shownURL+StreamPath)
	s.observer.Connected()

	lr := newLineReader(wd, s.cfg.MaxLineBytes)
	// The stream is established once it delivered a post. Heartbeats,
	// errors and garbage do not count, so a server that answers 200 and
	// closes, or announces a disconnect at once, gets the network back-off
	// rather than an immediate reconnect.
	established := false
	handle := func(msg []byte) (disconnect bool, final error) {
		ev, p, derr := decode(msg)
		if derr == nil && ev.Kind == stream.KindStatus && !established {
			established = true
			bo.Reset()
		}
		if err := s.dispatch(msg, ev, p, derr, emit); err != nil {
			return false, err
		}
		return derr == nil && ev.Kind == stream.KindDisconnect, nil
	}
	ended := func(err error) outcome {
		if established {
			return outcome{reason: twitter.ReasonDropped, err: err}
		}
		return outcome{reason: twitter.ReasonNetwork, err: err}
	}
	for {
		msg, err := lr.next()
		if ctx.Err() != nil {
			return outcome{} // nothing more is emitted once ctx ended, buffered lines included
		}
		if err == nil {
			disconnect, final := handle(msg)
			if final != nil {
				return outcome{final: final}
			}
			if disconnect {
				// X closes the connection after this message: reconnect now
				// rather than wait for it.
				return ended(errors.New("the server announced an operational disconnect"))
			}
			continue
		}
		if tooLong, ok := errors.AsType[*LineTooLongError](err); ok {
			s.log.Warn("x: skipping an oversized message", "bytes", tooLong.Size, "max", tooLong.Max)
			continue
		}
		// The stream ended. A last message that arrived whole but without
		// its "\r\n" still counts: a truncated JSON object never decodes.
		if !netstream.IsBlank(msg) && ctx.Err() == nil {
			if _, _, derr := decode(msg); derr == nil {
				if _, final := handle(msg); final != nil {
					return outcome{final: final}
				}
			} else {
				s.log.Debug("x: dropping an incomplete message at the end of the stream", "bytes", len(msg))
			}
		}
		switch {
		case ctx.Err() != nil:
			return outcome{}
		case stalled():
			return outcome{reason: twitter.ReasonNetwork, err: fmt.Errorf("stalled: no data, not even a heartbeat, for %v", s.cfg.StallTimeout)}
		case err == io.EOF && !established:
			return ended(errors.New("the stream ended before delivering any post"))
		case err == io.EOF:
			return ended(errors.New("the server closed the stream"))
		default:
			return ended(err)
		}
	}
}

// dispatch logs what needs logging about one decoded message (ev, p and
// err are decode's results for msg) and emits it if it is an event.
func (s *Source) dispatch(msg []byte, ev stream.Event, p *Problem, err error, emit func(stream.Event) error) error {
	switch {
	case err == nil:
	case errors.Is(err, ErrUnknownMessage):
		s.log.Warn("x: skipping an unknown message", "bytes", len(msg), "prefix", s.secrets.Excerpt(msg))
		return nil
	default:
		s.log.Warn("x: skipping a malformed message", "bytes", len(msg), "err", s.secrets.Redact(err.Error()), "prefix", s.secrets.Excerpt(msg))
		return nil
	}
	// Texts the server wrote about the connection are redacted in the event
	// too: consumers log them.
	switch ev.Kind {
	case stream.KindDisconnect:
		ev.Disconnect.Reason = s.secrets.Redact(ev.Disconnect.Reason)
	case stream.KindWarning:
		ev.Warning.Code, ev.Warning.Message = s.secrets.Redact(ev.Warning.Code), s.secrets.Redact(ev.Warning.Message)
	}
	switch ev.Kind {
	case stream.KindDisconnect:
		s.log.Warn("x: the server is disconnecting", "type", s.secrets.Redact(p.DisconnectType), "reason", ev.Disconnect.Reason)
	case stream.KindWarning:
		s.log.Warn("x: error in the stream", "title", ev.Warning.Code, "detail", ev.Warning.Message,
			"type", s.secrets.Redact(p.Type))
	}
	return emit(ev)
}
