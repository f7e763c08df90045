package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/streambot/streambot/handlers"
)

// Defaults for the zero values of Config.
const (
	// DefaultBaseURL is the public Bot API. The environment variable
	// TELEGRAM_API_URL overrides it; reading it is the caller's job.
	DefaultBaseURL = "https://api.telegram.org"
	// DefaultTimeout bounds each HTTP request when Config.HTTPClient is nil.
	DefaultTimeout = 30 * time.Second
)

// Limits are the rate limits a Sender keeps to stay clear of Telegram's
// flood control. A zero Rate disables that limit.
type Limits struct {
	// Chat limits each private chat (a positive chat id).
	Chat handlers.Rate
	// Group limits each group, supergroup or channel: a negative chat id or
	// an @name. It replaces Chat for those chats.
	Group handlers.Rate
	// Global limits all chats together.
	Global handlers.Rate
}

// DefaultLimits returns Telegram's published limits: about one message a
// second per chat with short bursts (1/s, burst 3), 20 messages a minute per
// group (one every 3 s, no burst, so no 60-second window ever holds more
// than 20), and about 30 messages a second overall (burst 1).
func DefaultLimits() Limits {
	return Limits{
		Chat:   handlers.Rate{Every: time.Second, Burst: 3},
		Group:  handlers.PerMinute(20, 1),
		Global: handlers.Rate{Every: time.Second / 30, Burst: 1},
	}
}

// NoLimits returns Limits with every limit disabled, for tests and
// benchmarks.
func NoLimits() *Limits { return &Limits{} }

// Config configures a Sender.
type Config struct {
	// Token is the bot token from @BotFather (TELEGRAM_BOT_TOKEN). Required.
	// It never appears in errors or logs.
	Token string
	// BaseURL is the Bot API server; "" means DefaultBaseURL.
	BaseURL string
	// Chats are the destinations, each a numeric chat id ("123456789",
	// "-1001234567890") or a public @channelname. At least one is required.
	// Every status goes to every chat, in this order.
	Chats []string
	// Template is the text/template source of a message, executed over a
	// TemplateData whose strings are already HTML-escaped; "" means
	// DefaultTemplate.
	Template string
	// RouteTemplates replace Template for statuses a given route selected:
	// the key is a route name, looked up in Status.Routes (package bot puts
	// the routes that took the status there); the first route in Routes that
	// has a template wins.
	RouteTemplates map[string]string
	// DisablePreview turns link previews off (link_preview_options).
	DisablePreview bool
	// Split sends a status too long for one message as several (at most
	// MaxParts) instead of truncating its text. A template that shows the
	// text more than once is always truncated.
	Split bool
	// HTTPClient makes the requests; nil means a client with DefaultTimeout.
	HTTPClient *http.Client
	// Limits are the rate limits; nil means DefaultLimits().
	Limits *Limits
	// Logger receives the Sender's logs (migrations, disabled chats, dropped
	// messages); nil discards them. Retries are the caller's to log.
	Logger *slog.Logger
	// Now is the rate limiters' clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits for the rate limiters; nil means a real timer
	// (handlers.SleepContext).
	Sleep func(ctx context.Context, d time.Duration) error
}

// String shows cfg with its Token redacted, so that fmt output of a Config
// never carries the token.
func (cfg Config) String() string {
	type plain Config // without methods, so Sprintf does not recurse
	if cfg.Token != "" {
		cfg.Token = "<redacted>"
	}
	return fmt.Sprintf("%+v", plain(cfg))
}

// GoString is String, so %#v does not reveal the token either.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue keeps the token out of slog output.
func (cfg Config) LogValue() slog.Value { return slog.StringValue(cfg.String()) }

var channelName = regexp.MustCompile(`^@[A-Za-z][A-Za-z0-9_]{3,}$`)

// validate checks cfg and returns it with defaults filled in.
func (cfg Config) validate() (Config, error) {
	if cfg.Token == "" {
		return cfg, errors.New("telegram: no bot token: set TELEGRAM_BOT_TOKEN")
	}
	if strings.ContainsAny(cfg.Token, "/?#% \t\r\n") {
		return cfg, errors.New("telegram: the bot token has characters a token cannot have: check TELEGRAM_BOT_TOKEN")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return cfg, fmt.Errorf("telegram: the Bot API URL %q is not an http(s) base URL: check TELEGRAM_API_URL", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if len(cfg.Chats) == 0 {
		return cfg, errors.New("telegram: no chats configured: set TELEGRAM_CHAT_ID")
	}
	cfg.Chats = slices.Clone(cfg.Chats)
	seen := map[string]bool{}
	for i, c := range cfg.Chats {
		c = strings.TrimSpace(c)
		if _, err := strconv.ParseInt(c, 10, 64); err != nil && !channelName.MatchString(c) {
			return cfg, fmt.Errorf("telegram: chat %q is neither a numeric chat id nor an @channelname", c)
		}
		if seen[c] {
			return cfg, fmt.Errorf("telegram: chat %q is listed twice", c)
		}
		seen[c] = true
		cfg.Chats[i] = c
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.Limits == nil {
		l := DefaultLimits()
		cfg.Limits = &l
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// isGroup reports whether a chat is limited as a group: a negative id or an
// @name (channels and public supergroups).
func isGroup(chat string) bool {
	return strings.HasPrefix(chat, "-") || strings.HasPrefix(chat, "@")
}
