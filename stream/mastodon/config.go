package mastodon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/streambot/streambot/stream/internal/netstream"
	"github.com/streambot/streambot/stream/twitter"
)

// The environment variables that hold a Mastodon source's settings. The
// Source does not read them itself (see FromEnv); its errors name them so a
// user knows what to set.
const (
	// EnvURL holds the instance's base URL, e.g. https://mastodon.social.
	// There is no default instance.
	EnvURL = "MASTODON_URL"
	// EnvToken holds a user access token with the read:statuses scope.
	EnvToken = "MASTODON_TOKEN"
)

const (
	// DefaultStallTimeout is how long a stream may stay silent (heartbeats
	// included) before it is considered dead: Mastodon's streaming server
	// writes a ":thump" comment every 15 seconds.
	DefaultStallTimeout = 60 * time.Second
	// MaxHashtags bounds Config.Hashtags: each hashtag holds a connection open.
	MaxHashtags = 32
	// maxHashtagBytes bounds one hashtag.
	maxHashtagBytes = 200
)

// Errors of NewSource that callers may branch on.
var (
	// ErrMissingInstance: Config.InstanceURL is empty; the message names MASTODON_URL.
	ErrMissingInstance = errors.New("mastodon: no instance: set " + EnvURL + " to your instance's URL, like https://mastodon.social")
	// ErrMissingToken: Config.Token is empty; the message names MASTODON_TOKEN.
	ErrMissingToken = errors.New("mastodon: missing token: set " + EnvToken +
		" to an access token with the read:statuses scope (Preferences > Development > New application on your instance)")
	// ErrInvalidConfig: the URL, the token or a hashtag is malformed.
	ErrInvalidConfig = errors.New("mastodon: invalid configuration")
)

// Token is a Mastodon access token. Its String, GoString and LogValue
// methods never reveal it, so a Config can be printed or logged safely.
type Token string

// String says whether the token is set, never its value.
func (t Token) String() string {
	if t == "" {
		return "unset"
	}
	return "[REDACTED]"
}

// GoString is String, so %#v does not reveal the token either.
func (t Token) GoString() string { return t.String() }

// LogValue keeps the token out of slog output.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// Config configures a Mastodon streaming Source.
type Config struct {
	// InstanceURL is the instance's base URL (MASTODON_URL), like
	// "https://mastodon.social"; a bare host name means https. Required:
	// there is no default instance. A path prefix is kept.
	InstanceURL string
	// Token is a user access token with the read:statuses scope
	// (MASTODON_TOKEN). Required: since Mastodon 4.2 the public and
	// hashtag streams need a user token. It is sent only in the
	// Authorization header, never in a URL, an error or a log.
	Token Token

	// Hashtags, when set, selects the hashtag streams: one connection per
	// hashtag (with or without its '#'), merged into one stream. Empty
	// means the public stream: every public post the instance knows of.
	// Either way the bot's routes match locally.
	Hashtags []string
	// Local restricts the streams to posts made on the instance itself
	// (public:local, hashtag:local).
	Local bool

	// StallTimeout is how long a stream may deliver no bytes at all,
	// heartbeats included, before the connection is closed and reopened;
	// 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	// MaxLineBytes bounds one line of the stream and the data of one event;
	// longer events are skipped and logged. 0 means DefaultMaxLineBytes.
	MaxLineBytes int

	// HTTPClient carries the requests; its Timeout is ignored (it would
	// cut streams short). nil means a client with dial, TLS-handshake and
	// response-header timeouts.
	HTTPClient *http.Client
	// Logger receives connection events and skipped events; nil discards.
	Logger *slog.Logger

	// Backoff is the reconnect schedule of each connection, copied per
	// connection at the start of Run. The zero value is twitter.Backoff's:
	// at once after an established stream ended, linearly from 250 ms to
	// 16 s after network errors and stalls, exponentially from 5 s to 320 s
	// after HTTP errors, and from 1 to 16 minutes after HTTP 429 (longer
	// when Retry-After asks for more).
	Backoff twitter.Backoff
	// Sleep waits d before a reconnect and returns early with ctx's error
	// when ctx ends; nil means a timer. It is called for every reconnect,
	// with d == 0 for an immediate one, from one goroutine per connection,
	// so it must be safe for concurrent use. An error while ctx is still
	// live ends Run with that error.
	Sleep func(ctx context.Context, d time.Duration) error

	// afterFunc starts the stall timers; nil means time.AfterFunc. Tests
	// inject a fake to fire the watchdog deterministically.
	afterFunc netstream.AfterFunc
}

// FromEnv returns a Config with InstanceURL and Token read from
// MASTODON_URL and MASTODON_TOKEN through getenv; nil means os.Getenv.
func FromEnv(getenv func(string) string) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	return Config{InstanceURL: getenv(EnvURL), Token: Token(getenv(EnvToken))}
}

// checkToken validates a bearer token without ever printing it.
func checkToken(t Token) error {
	if t == "" {
		return ErrMissingToken
	}
	s := string(t)
	if strings.TrimFunc(s, unicode.IsSpace) != s {
		return fmt.Errorf("%w: %s begins or ends with whitespace; remove it", ErrInvalidConfig, EnvToken)
	}
	// RFC 6750's b64token characters: what a bearer token can hold.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isASCIILetter(c) || c >= '0' && c <= '9' || strings.IndexByte("-._~+/=", c) >= 0) {
			return fmt.Errorf("%w: %s holds a character an access token cannot have (spaces, quotes, line breaks, non-ASCII): copy the token again", ErrInvalidConfig, EnvToken)
		}
	}
	return nil
}

// instanceURL parses and normalizes MASTODON_URL.
func instanceURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, ErrMissingInstance
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := netstream.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a URL: %w", ErrInvalidConfig, EnvURL, err)
	}
	switch {
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("%w: %s %q must be an http or https URL with a host, like https://mastodon.social",
			ErrInvalidConfig, EnvURL, u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("%w: %s %q must not hold a user name or password: the token authenticates",
			ErrInvalidConfig, EnvURL, u.Redacted())
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("%w: %s %q must not have a query or fragment", ErrInvalidConfig, EnvURL, u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// hashtags normalizes and validates Config.Hashtags: '#' and spaces
// trimmed, duplicates (ignoring case) dropped.
func hashtags(tags []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.TrimPrefix(strings.TrimSpace(t), "#")
		if t == "" {
			continue
		}
		if err := checkHashtag(t); err != nil {
			return nil, err
		}
		if key := strings.ToLower(t); !seen[key] {
			seen[key] = true
			out = append(out, t)
		}
	}
	if len(out) > MaxHashtags {
		return nil, fmt.Errorf("%w: %d hashtags, over the limit of %d (each one holds a connection open): use the public stream and let the routes match",
			ErrInvalidConfig, len(out), MaxHashtags)
	}
	return out, nil
}

// checkHashtag accepts what Mastodon accepts as a hashtag: letters, digits,
// marks, '_', '·' and the zero-width non-joiner, with at least one letter.
func checkHashtag(t string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: hashtag %q %s", ErrInvalidConfig, netstream.Truncate([]byte(t), 40), why)
	}
	if len(t) > maxHashtagBytes || !utf8.ValidString(t) {
		return bad("is too long or not UTF-8")
	}
	letter := false
	for _, r := range t {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r), unicode.IsMark(r), r == '_', r == '·', r == '\u200c':
		default:
			return bad(fmt.Sprintf("has %q: a hashtag holds letters, digits and '_' only", r))
		}
	}
	if !letter {
		return bad("has no letter: Mastodon hashtags need one")
	}
	return nil
}
