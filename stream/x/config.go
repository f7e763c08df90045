package x

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/streambot/streambot/stream/internal/netstream"
	"github.com/streambot/streambot/stream/twitter"
)

// The environment variables that hold an X source's settings. The Source
// does not read them itself (see TokenFromEnv); its errors name them so a
// user knows what to set.
const (
	// EnvBearerToken holds the app's bearer token (app-only auth).
	EnvBearerToken = "X_BEARER_TOKEN"
	// EnvAPIURL overrides the API host, e.g. for a proxy or the fake of
	// package xtest.
	EnvAPIURL = "X_API_URL"
)

const (
	// DefaultURL is X's API host.
	DefaultURL = "https://api.x.com"
	// StreamPath is the filtered stream endpoint, appended to the base URL.
	StreamPath = "/2/tweets/search/stream"
	// RulesPath is the endpoint that lists, adds and deletes stream rules.
	RulesPath = "/2/tweets/search/stream/rules"
	// StreamQuery is the query the Source sends to StreamPath: the post
	// fields and expansions a stream.Status needs (the author's handle and
	// name, a retweet's original, a long post's full text).
	StreamQuery = "tweet.fields=created_at,lang,entities,referenced_tweets,note_tweet,author_id,conversation_id" +
		"&expansions=author_id,referenced_tweets.id,referenced_tweets.id.author_id" +
		"&user.fields=username,name"

	// DefaultStallTimeout is how long a stream may deliver no bytes at all
	// before the Source reconnects. X sends a "\r\n" heartbeat every 20
	// seconds; X suggests reconnecting after 20 silent seconds, and 30 (one
	// and a half heartbeats) keeps a late heartbeat on a slow network from
	// costing a reconnect.
	DefaultStallTimeout = 30 * time.Second
	// DefaultMaxLineBytes bounds one stream message; longer ones are skipped.
	DefaultMaxLineBytes = 1 << 20
	// DefaultRequestTimeout bounds each request to the rules endpoint (the
	// stream itself has no overall timeout, only the stall watchdog).
	DefaultRequestTimeout = 30 * time.Second
	// SourceName is the Name of the Source and the Status.Source of its statuses.
	SourceName = "x"
)

// Errors of NewSource that callers may branch on.
var (
	// ErrMissingToken: Config.BearerToken is empty; the message names X_BEARER_TOKEN.
	ErrMissingToken = errors.New("x: missing bearer token: set " + EnvBearerToken +
		" (the app's bearer token from the X developer portal)")
	// ErrNoRules: Config.Rules is empty. A stream without rules delivers
	// nothing, and syncing an empty set would delete every rule of the app.
	ErrNoRules = errors.New("x: no rules: give every route a rule (value and tag)")
	// ErrInvalidConfig: a rule or the URL is malformed.
	ErrInvalidConfig = errors.New("x: invalid configuration")
)

// Token is an X API bearer token. Its String, GoString and LogValue methods
// never reveal it, so a Config can be printed or logged safely; convert
// with string(t) where the value itself is needed.
type Token string

// TokenFromEnv reads X_BEARER_TOKEN through getenv; nil means os.Getenv.
func TokenFromEnv(getenv func(string) string) Token {
	if getenv == nil {
		getenv = os.Getenv
	}
	return Token(getenv(EnvBearerToken))
}

// String says whether the token is set, never its value.
func (t Token) String() string {
	if t == "" {
		return "x.Token(unset)"
	}
	return "x.Token(set)"
}

// GoString is String, so %#v does not reveal the value either.
func (t Token) GoString() string { return t.String() }

// LogValue keeps the value out of slog output.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// Rule is one filtered-stream rule: X delivers the posts that match Value
// and tags each with the Tag of every rule it matched. streambot makes one
// rule per route with the route's name as the tag; the bot routes a post
// by its tags (stream.Status.Rules).
type Rule struct {
	// ID is the server's identifier, set on rules read from X; it is
	// ignored in Config.Rules.
	ID string
	// Value is the rule in X's rule syntax, e.g. `golang OR #go -is:retweet`.
	Value string
	// Tag labels the rule: the route's name.
	Tag string
}

// String formats r for logs and errors.
func (r Rule) String() string { return fmt.Sprintf("%s=%q", r.Tag, r.Value) }

// Config configures a filtered-stream Source.
type Config struct {
	// BearerToken authenticates every request (app-only OAuth 2.0). Required.
	BearerToken Token
	// BaseURL is the API host, DefaultURL when empty. A path prefix is kept
	// and trailing slashes are ignored.
	BaseURL string
	// Rules are the rules the stream must have: one per route, tagged with
	// the route's name. Run makes the app's rule set exactly this (see
	// Source.SyncRules). At least one is required; values and tags must be
	// unique.
	Rules []Rule

	// StallTimeout is how long the stream may deliver no bytes at all
	// (heartbeats included) before it is closed and reopened; 0 means
	// DefaultStallTimeout (30 s).
	StallTimeout time.Duration
	// MaxLineBytes bounds one message; longer ones are skipped and logged.
	// 0 means DefaultMaxLineBytes (1 MiB).
	MaxLineBytes int

	// HTTPClient makes the requests; nil means a client with dial, TLS and
	// response-header timeouts. Its Timeout is not applied to the stream
	// (it would cut it short); rules requests are bounded by
	// DefaultRequestTimeout or by that Timeout when it is shorter.
	HTTPClient *http.Client
	// Logger receives connection events, the rule sync summary and skipped
	// messages; nil discards. The token is never logged.
	Logger *slog.Logger

	// Backoff is the reconnect schedule; the zero value is X's (the same as
	// Twitter's: at once after a dropped stream, linear after network
	// errors, exponential after HTTP errors, from a minute after 429).
	Backoff twitter.Backoff
	// Sleep waits d before a reconnect or a retried rule sync and returns
	// early with ctx's error when ctx ends; nil means a timer. It is called
	// for every retry, with d == 0 for an immediate one. An error while ctx
	// is still live ends Run with that error.
	Sleep func(ctx context.Context, d time.Duration) error

	// afterFunc starts the stall timer; nil means time.AfterFunc. Tests
	// inject a fake to fire the watchdog deterministically.
	afterFunc netstream.AfterFunc
}

// checkToken names the variable to set, never the value.
func checkToken(t Token) error {
	switch {
	case t == "":
		return ErrMissingToken
	case strings.TrimFunc(string(t), unicode.IsSpace) != string(t):
		return fmt.Errorf("%w: %s begins or ends with whitespace; remove it", ErrInvalidConfig, EnvBearerToken)
	case strings.HasPrefix(strings.ToLower(string(t)), "bearer "):
		return fmt.Errorf("%w: %s must hold the token alone, without the \"Bearer \" prefix", ErrInvalidConfig, EnvBearerToken)
	case strings.ContainsAny(string(t), "\r\n\t "):
		return fmt.Errorf("%w: %s contains whitespace; a bearer token has none", ErrInvalidConfig, EnvBearerToken)
	}
	return nil
}

// checkRules validates the wanted rules and returns them with surrounding
// whitespace removed (X stores values as given, so " python" and "python"
// would be two rules).
func checkRules(rules []Rule) ([]Rule, error) {
	if len(rules) == 0 {
		return nil, ErrNoRules
	}
	out := make([]Rule, len(rules))
	byTag := map[string]int{}
	byValue := map[string]int{}
	for i, r := range rules {
		r.ID = ""
		r.Value = strings.TrimSpace(r.Value)
		r.Tag = strings.TrimSpace(r.Tag)
		switch {
		case r.Tag == "":
			return nil, fmt.Errorf("%w: rule %d (%q) has no tag: set it to the route's name", ErrInvalidConfig, i, r.Value)
		case r.Value == "":
			return nil, fmt.Errorf("%w: the rule of route %q has no value", ErrInvalidConfig, r.Tag)
		}
		if j, dup := byTag[r.Tag]; dup {
			return nil, fmt.Errorf("%w: rules %d and %d both have the tag %q: one rule per route", ErrInvalidConfig, j, i, r.Tag)
		}
		if j, dup := byValue[r.Value]; dup {
			return nil, fmt.Errorf("%w: routes %q and %q have the same rule %q; X keeps a value once: merge the routes or change a rule",
				ErrInvalidConfig, out[j].Tag, r.Tag, r.Value)
		}
		byTag[r.Tag], byValue[r.Value] = i, i
		out[i] = r
	}
	return out, nil
}

// endpoints returns the stream and rules URLs for base, and base's
// password-free form for logs and errors.
func endpoints(base string) (streamURL, rulesURL, shown string, err error) {
	base = strings.TrimSpace(base)
	if base == "" {
		base = DefaultURL
	}
	u, err := netstream.ParseURL(base)
	if err != nil {
		return "", "", "", fmt.Errorf("%w: %s (BaseURL) is not a URL: %w", ErrInvalidConfig, EnvAPIURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", "", fmt.Errorf("%w: %s (BaseURL) %q must be an http or https URL with a host, like %s",
			ErrInvalidConfig, EnvAPIURL, u.Redacted(), DefaultURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", "", fmt.Errorf("%w: %s (BaseURL) %q must not have a query or fragment", ErrInvalidConfig, EnvAPIURL, u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	shown = u.Redacted()
	s, r := *u, *u
	s.Path += StreamPath
	s.RawQuery = StreamQuery
	r.Path += RulesPath
	return s.String(), r.String(), shown, nil
}
