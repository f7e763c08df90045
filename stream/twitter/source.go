package twitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/dghubble/oauth1"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
	"github.com/streambot/streambot/stream/track"
)

// The environment variables that hold a v1.1 source's settings. The Source
// does not read them itself (see CredentialsFromEnv); its errors name them
// so a user knows what to set.
const (
	EnvConsumerKey    = "TWITTER_CONSUMER_KEY"
	EnvConsumerSecret = "TWITTER_CONSUMER_SECRET"
	EnvAccessToken    = "TWITTER_ACCESS_TOKEN"
	EnvAccessSecret   = "TWITTER_ACCESS_SECRET"
	EnvStreamURL      = "TWITTER_STREAM_URL"
)

const (
	// DefaultBaseURL is Twitter's streaming host.
	DefaultBaseURL = "https://stream.twitter.com"
	// FilterPath is appended to the base URL.
	FilterPath = "/1.1/statuses/filter.json"
	// DefaultStallTimeout is how long a stream may stay silent (keep-alives
	// included) before it is considered dead: Twitter sends a keep-alive
	// about every 30 seconds.
	DefaultStallTimeout = 90 * time.Second
)

// Twitter's documented limits on filter parameters, beyond track's.
const (
	MaxFollow        = 5000
	MaxLocationBoxes = 25
)

// Errors of NewSource that callers may branch on.
var (
	// ErrMissingCredentials: a credential is empty; the message names the
	// environment variables to set.
	ErrMissingCredentials = errors.New("twitter: missing credentials")
	// ErrNoFilter: none of track, follow and locations is set.
	ErrNoFilter = errors.New("twitter: nothing to stream: set at least one of track, follow or locations")
	// ErrInvalidConfig: a filter parameter or the URL is malformed.
	ErrInvalidConfig = errors.New("twitter: invalid configuration")
)

// errStalled is the cancellation cause set by the stall watchdog.
var errStalled = errors.New("twitter: stream stalled")

// Credentials are the OAuth 1.0a user-context credentials of a Twitter app.
// Their String, GoString and LogValue methods never reveal the values, so a
// Config can be printed or logged safely.
type Credentials struct {
	ConsumerKey    string
	ConsumerSecret string
	AccessToken    string
	AccessSecret   string
}

// CredentialsFromEnv reads the four TWITTER_* credential variables through
// getenv; nil means os.Getenv.
func CredentialsFromEnv(getenv func(string) string) Credentials {
	if getenv == nil {
		getenv = os.Getenv
	}
	return Credentials{
		ConsumerKey:    getenv(EnvConsumerKey),
		ConsumerSecret: getenv(EnvConsumerSecret),
		AccessToken:    getenv(EnvAccessToken),
		AccessSecret:   getenv(EnvAccessSecret),
	}
}

// String describes which credentials are set, never their values.
func (c Credentials) String() string {
	set := func(v string) string {
		if v == "" {
			return "unset"
		}
		return "set"
	}
	return fmt.Sprintf("twitter.Credentials{ConsumerKey:%s ConsumerSecret:%s AccessToken:%s AccessSecret:%s}",
		set(c.ConsumerKey), set(c.ConsumerSecret), set(c.AccessToken), set(c.AccessSecret))
}

// GoString is String, so %#v does not reveal the values either.
func (c Credentials) GoString() string { return c.String() }

// LogValue keeps the values out of slog output.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Config configures a v1.1 filter-stream Source.
type Config struct {
	// Credentials sign every request (OAuth 1.0a, HMAC-SHA1). All four are required.
	Credentials Credentials
	// BaseURL is the streaming host, "https://stream.twitter.com" when empty.
	// Requests go to BaseURL + "/1.1/statuses/filter.json"; a path prefix
	// is kept and trailing slashes are ignored.
	BaseURL string

	// Track lists track phrases; each element may itself be a
	// comma-separated expression ("python,golang generics").
	Track []string
	// Follow lists numeric user IDs.
	Follow []string
	// Locations is a comma-separated list of bounding boxes, four numbers
	// each: south-west longitude, latitude, north-east longitude, latitude.
	Locations string
	// Language restricts statuses to these BCP 47 language codes.
	Language []string
	// Delimited asks for delimited=length framing.
	Delimited bool
	// OmitRaw leaves Status.Raw nil instead of keeping a copy of each
	// message: set it when nothing downstream reads the payload (package
	// bot stores Raw only for destinations that ask), and every status
	// costs one allocation of its size less.
	OmitRaw bool

	// StallTimeout is how long the stream may deliver no bytes at all
	// before the connection is closed and reopened; 0 means 90 s.
	StallTimeout time.Duration
	// MaxLineBytes bounds one message; longer ones are skipped and logged.
	// 0 means 1 MiB.
	MaxLineBytes int

	// HTTPClient supplies the transport that carries the signed requests.
	// Only its Transport is used (the OAuth1 client wraps it), so a Timeout
	// set on it does not cut streams short. nil means a transport with dial,
	// TLS-handshake and response-header timeouts and no overall timeout.
	HTTPClient *http.Client
	// Logger receives connection events and skipped messages; nil discards.
	Logger *slog.Logger

	// Backoff is the reconnect schedule; the zero value is Twitter's.
	Backoff Backoff
	// Sleep waits d before a reconnect and returns early with ctx's error
	// when ctx ends; nil means a timer. Tests inject one that records d.
	// It is called for every reconnect, with d == 0 for an immediate one.
	// An error while ctx is still live ends Run with that error.
	Sleep func(ctx context.Context, d time.Duration) error

	// afterFunc starts the stall timer; nil means time.AfterFunc. Tests
	// inject a fake to fire the watchdog deterministically.
	afterFunc netstream.AfterFunc
}

// Source streams statuses/filter of the Twitter v1.1 API, or of a
// compatible server. It implements stream.Source.
//
// Run reconnects by Twitter's rules (see Backoff) for as long as its context
// lives, detects stalls, and returns only when the context ends (nil), on a
// failure that needs a person (a *stream.PermanentError: HTTP 401, 403, 404,
// 406, 413, 416), or with the error of emit.
type Source struct {
	cfg        Config
	endpoint   string // BaseURL + FilterPath
	shownURL   string // endpoint without userinfo password, for logs
	form       string // the encoded request body
	base       *http.Client
	ownsClient bool
	log        *slog.Logger
	secrets    netstream.Secrets
	// decode is Decode; tests count its calls to prove one decode per message.
	decode func([]byte) (stream.Event, error)
	// observer hears of connections and disconnections; never nil.
	observer stream.ConnectionObserver
}

// Observe makes s report every established connection and every
// disconnection (with its Reason as the reason) to o. Call it before Run,
// not concurrently with it; package bot does, for its metrics and /healthz.
func (s *Source) Observe(o stream.ConnectionObserver) {
	s.observer = netstream.Observer(o)
}

// NewSource validates cfg and returns a Source. Errors name the
// environment variable or parameter to fix and never contain a credential.
func NewSource(cfg Config) (*Source, error) {
	if err := checkCredentials(cfg.Credentials); err != nil {
		return nil, err
	}
	endpoint, shown, err := endpointURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	form, err := filterForm(&cfg)
	if err != nil {
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
	s := &Source{cfg: cfg, endpoint: endpoint, shownURL: shown, form: form, base: cfg.HTTPClient, log: netstream.Logger(cfg.Logger), decode: Decode, observer: netstream.NoObserver{}}
	if cfg.OmitRaw {
		s.decode = decodeWithoutRaw
	}
	if s.base == nil {
		s.base, s.ownsClient = netstream.HTTPClient(), true
	}
	c := cfg.Credentials
	s.secrets = netstream.NewSecrets(c.ConsumerSecret, c.AccessSecret, c.ConsumerKey, c.AccessToken)
	return s, nil
}

// Name returns "twitter".
func (s *Source) Name() string { return SourceName }

// Endpoint returns the URL the Source POSTs to (without any password).
func (s *Source) Endpoint() string { return s.shownURL }

// String names the source and its endpoint. Without it fmt would print the
// unexported configuration, credentials included.
func (s *Source) String() string { return "twitter.Source(" + s.shownURL + ")" }

// GoString is String, so %#v does not reveal the credentials either.
func (s *Source) GoString() string { return s.String() }

// Run streams until ctx ends, a permanent failure, or an emit error; see
// Source. It may be called again after it returned.
//
// Every message is emitted in the order received, before the next is read:
// statuses, deletes, limits, disconnects and warnings. Malformed and unknown
// messages are logged and skipped. Duplicates after a reconnect are possible
// and left to the consumer.
func (s *Source) Run(ctx context.Context, emit func(stream.Event) error) error {
	c := s.cfg.Credentials
	client := oauth1.NewConfig(c.ConsumerKey, c.ConsumerSecret).Client(
		context.WithValue(ctx, oauth1.HTTPClient, s.base), oauth1.NewToken(c.AccessToken, c.AccessSecret))
	if s.ownsClient {
		defer s.base.CloseIdleConnections()
	}
	bo := s.cfg.Backoff
	bo.Reset()
	for {
		if ctx.Err() != nil {
			return nil
		}
		out := s.connect(ctx, client, &bo, emit)
		if out.final != nil {
			return out.final
		}
		if ctx.Err() != nil {
			return nil
		}
		s.observer.Disconnected(out.reason.String())
		d := bo.Next(out.reason)
		level := slog.LevelWarn
		if out.reason == ReasonDropped {
			level = slog.LevelInfo
		}
		attrs := []any{"reason", out.reason.String(), "delay", d}
		if out.status != 0 {
			attrs = append(attrs, "status", out.status)
		}
		if out.err != nil {
			attrs = append(attrs, "err", s.secrets.Redact(out.err.Error()))
		}
		s.log.Log(ctx, level, "twitter: stream ended, reconnecting", attrs...)
		if err := s.cfg.Sleep(ctx, d); err != nil || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("twitter: waiting to reconnect: %w", err)
		}
	}
}

// outcome is how one connection ended.
type outcome struct {
	reason Reason
	status int   // HTTP status of a failed request
	err    error // why it ended, for the log
	final  error // non-nil: Run returns it (permanent failure or emit error)
}

// connect makes one request and reads its stream to the end.
func (s *Source) connect(ctx context.Context, client *http.Client, bo *Backoff, emit func(stream.Event) error) outcome {
	connCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The watchdog only cancels connCtx, which makes the transport close the
	// connection and the pending Read return; this goroutine alone closes
	// the body, once. Nothing is shared between the two but the context.
	wd := &netstream.Watchdog{Timeout: s.cfg.StallTimeout, AfterFunc: s.cfg.afterFunc, OnStall: func() { cancel(errStalled) }}
	defer wd.Disarm()
	stalled := func() bool { return errors.Is(context.Cause(connCtx), errStalled) }

	req, err := http.NewRequestWithContext(connCtx, http.MethodPost, s.endpoint, strings.NewReader(s.form))
	if err != nil {
		return outcome{final: &stream.PermanentError{Err: fmt.Errorf("twitter: building the request: %w", err)}}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // exactly this, or oauth1 does not sign the body
	req.Header.Set("User-Agent", "streambot")
	req.Close = true // every reconnect gets a fresh connection; nothing idles afterwards

	s.log.Debug("twitter: connecting", "url", s.shownURL)
	resp, err := wd.Do(client, req, stalled)
	if err != nil {
		return outcome{reason: ReasonNetwork, err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s.statusOutcome(resp, wd)
	}
	s.log.Info("twitter: connected", "url", s.shownURL)
	s.observer.Connected()

	fr := newFrameReader(wd, s.cfg.MaxLineBytes, s.cfg.Delimited)
	// The stream is established once it delivered a well-formed message.
	// Keep-alives, garbage and oversized lines do not count, so a server (or
	// a captive portal) that answers 200 and closes gets the TCP back-off,
	// not an immediate reconnect.
	established := false
	delivered := func() {
		if !established {
			established = true
			bo.Reset()
		}
	}
	handle := func(msg []byte, ev stream.Event, derr error) error {
		if wellFormed(derr) {
			delivered()
		}
		return s.dispatch(msg, ev, derr, emit)
	}
	var msg []byte
	if parallelDecoding() && !s.cfg.Delimited { // a length-prefixed stream would need its own look-ahead
		var herr error
		msg, err, herr = readPipelined(fr, s.decode, handle, func() { cancel(nil) }, s.log)
		if herr != nil {
			return outcome{final: herr}
		}
	} else {
		for {
			msg, err = fr.next()
			if err == nil {
				ev, derr := s.decode(msg)
				if err := handle(msg, ev, derr); err != nil {
					return outcome{final: err}
				}
				continue
			}
			var tooLong *LineTooLongError
			if errors.As(err, &tooLong) {
				s.log.Warn("twitter: skipping an oversized message", "bytes", tooLong.Size, "max", tooLong.Max)
				continue
			}
			break
		}
	}
	// The stream ended. A last message that arrived whole but without
	// its "\r\n" still counts: a truncated JSON object never decodes.
	if !netstream.IsBlank(msg) && ctx.Err() == nil {
		if ev, derr := s.decode(msg); wellFormed(derr) {
			delivered()
			if err := s.dispatch(msg, ev, derr, emit); err != nil {
				return outcome{final: err}
			}
		} else {
			s.log.Debug("twitter: dropping an incomplete message at the end of the stream", "bytes", len(msg))
		}
	}
	switch {
	case ctx.Err() != nil:
		return outcome{}
	case stalled():
		return outcome{reason: ReasonNetwork, err: fmt.Errorf("stalled: no data for %v", s.cfg.StallTimeout)}
	case errors.Is(err, errFraming):
		return outcome{reason: ReasonNetwork, err: err}
	case !established:
		if err == io.EOF {
			err = errors.New("the stream ended before delivering any message")
		}
		return outcome{reason: ReasonNetwork, err: err}
	default:
		if err == io.EOF {
			err = errors.New("the server closed the stream")
		}
		return outcome{reason: ReasonDropped, err: err}
	}
}

// wellFormed reports whether Decode's error still means valid JSON arrived.
func wellFormed(decodeErr error) bool {
	return decodeErr == nil || errors.Is(decodeErr, ErrUnknownMessage) || errors.Is(decodeErr, ErrIgnoredMessage)
}

// dispatch logs what needs logging about one decoded message (ev and err
// are Decode's results for msg) and emits it if it is an event.
func (s *Source) dispatch(msg []byte, ev stream.Event, err error, emit func(stream.Event) error) error {
	switch {
	case err == nil:
	case errors.Is(err, ErrIgnoredMessage):
		s.log.Debug("twitter: ignoring message", "prefix", s.secrets.Excerpt(msg))
		return nil
	case errors.Is(err, ErrUnknownMessage):
		s.log.Warn("twitter: skipping an unknown message", "bytes", len(msg), "prefix", s.secrets.Excerpt(msg))
		return nil
	default:
		s.log.Warn("twitter: skipping a malformed message", "bytes", len(msg), "err", s.secrets.Redact(err.Error()), "prefix", s.secrets.Excerpt(msg))
		return nil
	}
	switch ev.Kind {
	case stream.KindLimit:
		s.log.Info("twitter: limit notice: statuses withheld since connecting", "track", ev.Limit.Track)
	case stream.KindDisconnect:
		d := ev.Disconnect
		s.log.Warn("twitter: the server is disconnecting", "code", d.Code, "reason", s.secrets.Redact(d.Reason), "stream", d.StreamName)
	case stream.KindWarning:
		w := ev.Warning
		s.log.Warn("twitter: stream warning", "code", w.Code, "message", s.secrets.Redact(w.Message), "percent_full", w.PercentFull)
	}
	return emit(ev)
}

// StatusError is a non-200 answer of the stream endpoint. Permanent ones
// reach Run's caller inside a *stream.PermanentError; retryable ones are
// logged.
type StatusError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// ServerMessage is the error text of the response body, truncated and
	// with any credential removed.
	ServerMessage string
	msg           string
}

// Error says what the endpoint answered and, for answers that need a person,
// what to check (for 401, the TWITTER_* credentials).
func (e *StatusError) Error() string { return e.msg }

// serverMessageBytes bounds the server's error text kept in errors and logs.
const serverMessageBytes = 200

// statusOutcome classifies a non-200 response.
func (s *Source) statusOutcome(resp *http.Response, body io.Reader) outcome {
	raw, _ := io.ReadAll(io.LimitReader(body, 4<<10))
	server := s.secrets.Redact(serverMessage(raw))
	status := fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode == 420 {
		status = "HTTP 420 Enhance Your Calm"
	}
	said := ""
	if server != "" {
		said = fmt.Sprintf("; the server said %q", server)
	}
	var msg string
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		msg = fmt.Sprintf("twitter: the stream rejected the credentials (%s): check %s, %s, %s and %s, and that this machine's clock is right%s",
			status, EnvConsumerKey, EnvConsumerSecret, EnvAccessToken, EnvAccessSecret, said)
	case http.StatusForbidden:
		msg = fmt.Sprintf("twitter: the stream refused access (%s): the app's access level does not allow this stream, "+
			"or the endpoint is retired (Twitter retired v1.1 statuses/filter in 2023; point %s at a compatible server "+
			"or use the X API v2 filtered stream)%s", status, EnvStreamURL, said)
	case http.StatusNotFound:
		msg = fmt.Sprintf("twitter: no stream at %s (%s): check %s%s", s.shownURL, status, EnvStreamURL, said)
	case http.StatusNotAcceptable:
		msg = fmt.Sprintf("twitter: the stream rejected the filter (%s): check track, follow, locations and language%s", status, said)
	case http.StatusRequestEntityTooLarge:
		msg = fmt.Sprintf("twitter: the filter is too long (%s): at most %d track phrases, %d follow ids and %d location boxes%s",
			status, track.MaxPhrases, MaxFollow, MaxLocationBoxes, said)
	case http.StatusRequestedRangeNotSatisfiable:
		msg = fmt.Sprintf("twitter: the stream cannot serve this request (%s): a parameter such as count is not allowed for this account%s", status, said)
	}
	if msg != "" {
		err := &StatusError{StatusCode: resp.StatusCode, ServerMessage: server, msg: msg}
		return outcome{final: &stream.PermanentError{Err: err}}
	}
	err := &StatusError{StatusCode: resp.StatusCode, ServerMessage: server, msg: "twitter: " + status + said}
	if resp.StatusCode == 420 || resp.StatusCode == http.StatusTooManyRequests {
		return outcome{reason: ReasonRateLimited, status: resp.StatusCode, err: err}
	}
	return outcome{reason: ReasonHTTP, status: resp.StatusCode, err: err}
}

// serverMessage extracts the human text of an error body: Twitter's
// {"errors":[{"message":...}]}, a v2-style {"detail":...}/{"title":...},
// or the body itself with whitespace collapsed; at most serverMessageBytes.
func serverMessage(body []byte) string {
	var v struct {
		Errors []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
		Detail string `json:"detail"`
		Title  string `json:"title"`
	}
	text := string(body)
	if json.Unmarshal(body, &v) == nil {
		var parts []string
		for _, e := range v.Errors {
			if e.Message != "" {
				parts = append(parts, e.Message)
			}
		}
		if v.Detail != "" {
			parts = append(parts, v.Detail)
		} else if v.Title != "" {
			parts = append(parts, v.Title)
		}
		if len(parts) > 0 {
			text = strings.Join(parts, "; ")
		}
	}
	text = strings.Join(strings.Fields(text), " ")
	return netstream.Truncate([]byte(text), serverMessageBytes)
}

// checkCredentials names the variables to set, never the values.
func checkCredentials(c Credentials) error {
	fields := []struct{ env, v string }{
		{EnvConsumerKey, c.ConsumerKey}, {EnvConsumerSecret, c.ConsumerSecret},
		{EnvAccessToken, c.AccessToken}, {EnvAccessSecret, c.AccessSecret},
	}
	var missing, spaced []string
	for _, f := range fields {
		switch {
		case f.v == "":
			missing = append(missing, f.env)
		case strings.TrimFunc(f.v, unicode.IsSpace) != f.v:
			spaced = append(spaced, f.env)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: set %s (the app's keys and the user's access token from the developer portal)", ErrMissingCredentials, joinAnd(missing))
	}
	if len(spaced) > 0 {
		return fmt.Errorf("%w: %s begin or end with whitespace; remove it", ErrInvalidConfig, joinAnd(spaced))
	}
	return nil
}

func joinAnd(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// endpointURL returns the filter URL for base and its password-free form.
func endpointURL(base string) (endpoint, shown string, err error) {
	base = strings.TrimSpace(base)
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := netstream.ParseURL(base)
	if err != nil {
		return "", "", fmt.Errorf("%w: %s (BaseURL) is not a URL: %w", ErrInvalidConfig, EnvStreamURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("%w: %s (BaseURL) %q must be an http or https URL with a host, like %s",
			ErrInvalidConfig, EnvStreamURL, u.Redacted(), DefaultBaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%w: %s (BaseURL) %q must not have a query or fragment", ErrInvalidConfig, EnvStreamURL, u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/") + FilterPath
	u.RawPath = ""
	return u.String(), u.Redacted(), nil
}

// filterForm validates the filter parameters and encodes the request body.
func filterForm(cfg *Config) (string, error) {
	form := url.Values{}
	var phrases []string
	for _, t := range cfg.Track {
		for p := range strings.SplitSeq(t, ",") {
			if p = strings.Join(strings.Fields(p), " "); p != "" {
				phrases = append(phrases, p)
			}
		}
	}
	if len(phrases) > 0 {
		expr := strings.Join(phrases, ",")
		if _, err := track.Compile(expr); err != nil {
			return "", fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		form.Set("track", expr)
	}
	var ids []string
	for _, f := range cfg.Follow {
		for id := range strings.SplitSeq(f, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if _, err := strconv.ParseUint(id, 10, 64); err != nil {
				return "", fmt.Errorf("%w: follow: %q is not a numeric user id", ErrInvalidConfig, netstream.Truncate([]byte(id), 40))
			}
			ids = append(ids, id)
		}
	}
	if len(ids) > MaxFollow {
		return "", fmt.Errorf("%w: follow: %d user ids, over Twitter's limit of %d", ErrInvalidConfig, len(ids), MaxFollow)
	}
	if len(ids) > 0 {
		form.Set("follow", strings.Join(ids, ","))
	}
	if loc := strings.TrimSpace(cfg.Locations); loc != "" {
		norm, err := checkLocations(loc)
		if err != nil {
			return "", err
		}
		form.Set("locations", norm)
	}
	if len(form) == 0 {
		return "", ErrNoFilter
	}
	var langs []string
	for _, l := range cfg.Language {
		for code := range strings.SplitSeq(l, ",") {
			if code = strings.TrimSpace(code); code != "" {
				langs = append(langs, code)
			}
		}
	}
	if len(langs) > 0 {
		form.Set("language", strings.Join(langs, ","))
	}
	form.Set("stall_warnings", "true")
	if cfg.Delimited {
		form.Set("delimited", "length")
	}
	return form.Encode(), nil
}

// checkLocations validates bounding boxes: groups of four numbers
// (sw longitude, sw latitude, ne longitude, ne latitude).
func checkLocations(loc string) (string, error) {
	parts := strings.Split(loc, ",")
	if len(parts)%4 != 0 {
		return "", fmt.Errorf("%w: locations: %d numbers; each box needs four (sw lon, sw lat, ne lon, ne lat)", ErrInvalidConfig, len(parts))
	}
	if len(parts)/4 > MaxLocationBoxes {
		return "", fmt.Errorf("%w: locations: %d boxes, over Twitter's limit of %d", ErrInvalidConfig, len(parts)/4, MaxLocationBoxes)
	}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		parts[i] = p
		f, err := strconv.ParseFloat(p, 64)
		limit := 180.0
		if i%2 == 1 {
			limit = 90
		}
		if err != nil || f < -limit || f > limit {
			return "", fmt.Errorf("%w: locations: %q is not a valid %s", ErrInvalidConfig, netstream.Truncate([]byte(p), 40),
				map[bool]string{true: "latitude", false: "longitude"}[i%2 == 1])
		}
	}
	return strings.Join(parts, ","), nil
}
