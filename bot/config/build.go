package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/telegram"
	"github.com/streambot/streambot/handlers/webhook"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/bluesky"
	"github.com/streambot/streambot/stream/mastodon"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
	"github.com/streambot/streambot/stream/x"
)

// Env is what Build takes from the process: the environment, where the
// stdout destination writes, and the logger. Zero fields mean os.Getenv,
// os.Stdout and a discarding logger.
type Env struct {
	Getenv func(string) string
	Stdout io.Writer
	Logger *slog.Logger
}

func (e Env) withDefaults() Env {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	return e
}

// Built is the result of Build: the bot's configuration and what must be
// closed after the bot has stopped.
type Built struct {
	Config  bot.Config
	closers []func() error
}

// Close releases the destinations' resources (open files, connections).
func (b *Built) Close() error {
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Build turns f into a bot configuration: it creates the source, every
// destination (checking credentials where the destination can, e.g.
// Telegram's getMe) and every route. ctx bounds those checks.
func (f *File) Build(ctx context.Context, env Env) (*Built, error) {
	env = env.withDefaults()
	b := &Built{}
	src, err := f.buildSource(env)
	if err != nil {
		return nil, err
	}
	b.Config.Source = src
	for _, d := range f.Destinations {
		h, closer, err := f.buildDestination(ctx, d, env)
		if err != nil {
			b.Close()
			return nil, err
		}
		if closer != nil {
			b.closers = append(b.closers, closer)
		}
		b.Config.Destinations = append(b.Config.Destinations, bot.Destination{Name: d.Name, Handler: h, QueueCap: d.QueueCap, Raw: d.Raw})
	}
	serverSide := f.SourceType(env.Getenv) == SourceX
	for _, r := range f.Routes {
		b.Config.Routes = append(b.Config.Routes, r.build(f.Source.Follow, serverSide))
	}
	return b, nil
}

// Track returns the expression the stream should filter on: Source.Track,
// or the phrases of every route joined.
func (f *File) Track() string {
	if f.Source.Track != "" {
		return f.Source.Track
	}
	var phrases []string
	seen := map[string]bool{}
	for _, r := range f.Routes {
		for _, p := range track.MustCompile(r.Track).Phrases() {
			if k := strings.ToLower(p); !seen[k] {
				seen[k] = true
				phrases = append(phrases, p)
			}
		}
	}
	return strings.Join(phrases, ",")
}

// SourceType resolves an empty Source.Type as the flags do: twitter when
// the four TWITTER_* credentials are set, else mock.
func (f *File) SourceType(getenv func(string) string) string {
	switch {
	case f.Source.Type != "":
		return f.Source.Type
	case HasTwitterCredentials(getenv):
		return "twitter"
	}
	return "mock"
}

// HasTwitterCredentials reports whether all four TWITTER_* credential
// variables are set.
func HasTwitterCredentials(getenv func(string) string) bool {
	c := twitter.CredentialsFromEnv(getenv)
	return c.ConsumerKey != "" && c.ConsumerSecret != "" && c.AccessToken != "" && c.AccessSecret != ""
}

func (f *File) buildSource(env Env) (stream.Source, error) {
	s := f.Source
	// url overrides the network's variable, which overrides its default.
	endpoint := func(variable string) string {
		if s.URL != "" {
			return s.URL
		}
		return env.Getenv(variable)
	}
	var src stream.Source
	var err error
	switch f.SourceType(env.Getenv) {
	case SourceTwitter:
		src, err = f.buildTwitter(env)
	case SourceX:
		src, err = x.NewSource(x.Config{
			BearerToken: x.TokenFromEnv(env.Getenv), BaseURL: endpoint(x.EnvAPIURL),
			Rules: f.XRules(), StallTimeout: s.StallTimeout, Logger: env.Logger,
		})
	case SourceBluesky:
		src, err = bluesky.NewSource(bluesky.Config{
			URL: endpoint(bluesky.EnvURL), StallTimeout: s.StallTimeout, Logger: env.Logger,
		})
	case SourceMastodon:
		src, err = mastodon.NewSource(mastodon.Config{
			InstanceURL: endpoint(mastodon.EnvURL), Token: mastodon.Token(env.Getenv(mastodon.EnvToken)),
			Hashtags: s.Hashtags, Local: s.Local, StallTimeout: s.StallTimeout, Logger: env.Logger,
		})
	default:
		s := f.Source
		cfg := mock.Config{Rate: 5, Once: s.Once, Logger: env.Logger}
		if s.Rate != nil {
			cfg.Rate = *s.Rate
		}
		if s.File != "" {
			lines, err := mock.LoadFile(s.File)
			if err != nil {
				return nil, fmt.Errorf("config: %s: source.file: %w", f.at(s.Line), err)
			}
			cfg.Lines = lines
		}
		return mock.New(cfg), nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %s: source: %w", f.at(s.Line), err)
	}
	return src, nil
}

// flagsRuleTag tags the X rule of the flags' single, unnamed route.
const flagsRuleTag = "streambot"

// XRules returns the X API v2 stream rules of the routes: one per route,
// tagged with its name, its Rule or else a rule made from its Track.
func (f *File) XRules() []x.Rule {
	var rules []x.Rule
	for _, r := range f.Routes {
		value := r.Rule
		if value == "" {
			value = RuleFromTrack(track.MustCompile(r.Track))
		}
		rules = append(rules, x.Rule{Value: value, Tag: r.ruleTag()})
	}
	return rules
}

func (r Route) ruleTag() string {
	if r.Name == "" {
		return flagsRuleTag
	}
	return r.Name
}

// RuleFromTrack writes a track expression in X's rule syntax: phrases
// joined by OR, the words of a phrase grouped (X ANDs words), and a word
// that X's syntax would read as an operator quoted.
func RuleFromTrack(m *track.Matcher) string {
	var parts []string
	for _, p := range m.Phrases() {
		words := strings.Fields(p)
		for i, w := range words {
			if strings.ContainsAny(w, `"()`) || strings.HasPrefix(w, "-") || strings.EqualFold(w, "OR") || strings.Contains(w, ":") {
				words[i] = `"` + strings.ReplaceAll(w, `"`, `\"`) + `"`
			}
		}
		part := strings.Join(words, " ")
		if len(words) > 1 {
			part = "(" + part + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " OR ")
}

func (f *File) buildDestination(ctx context.Context, d Destination, env Env) (handlers.Handler, func() error, error) {
	where := fmt.Sprintf("%s: destination %s", f.at(d.Line), d.Name)
	switch d.Type {
	case TypeStdout:
		return handlers.Console(env.Stdout), nil, nil
	case TypeJSONL:
		j, err := handlers.OpenJSONL(d.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("config: %s: %w", where, err)
		}
		return j.Batched(), j.Close, nil
	case TypeTelegram:
		base := d.APIURL
		if base == "" {
			base = env.Getenv("TELEGRAM_API_URL")
		}
		templates := map[string]string{}
		for _, r := range f.Routes {
			if r.Template != "" && slices.Contains(r.Destinations, d.Name) {
				templates[r.Name] = r.Template
			}
		}
		s, err := telegram.New(ctx, telegram.Config{
			Token: d.Token, BaseURL: base, Chats: d.Chats, Template: d.Template, RouteTemplates: templates,
			DisablePreview: d.DisablePreview, Split: d.Split,
			Logger: env.Logger.With("destination", d.Name),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("config: %s: %w", where, err)
		}
		return s, nil, nil
	case TypeWebhook:
		h, err := webhook.New(webhook.Config{URL: d.URL, Format: webhook.Format(d.Format), Template: d.Template})
		if err != nil {
			return nil, nil, fmt.Errorf("config: %s: %w", where, err)
		}
		return h, nil, nil
	}
	return nil, nil, fmt.Errorf("config: %s: unknown type %q", where, d.Type)
}

func (f *File) buildTwitter(env Env) (stream.Source, error) {
	s := f.Source
	base := s.URL
	if base == "" {
		base = env.Getenv(twitter.EnvStreamURL)
	}
	src, err := twitter.NewSource(twitter.Config{
		Credentials:  twitter.CredentialsFromEnv(env.Getenv),
		BaseURL:      base,
		Track:        []string{f.Track()},
		Follow:       s.Follow,
		Locations:    s.Locations,
		Language:     s.Languages,
		StallTimeout: s.StallTimeout,
		OmitRaw:      !f.wantsRaw(),
		Logger:       env.Logger,
	})
	if err != nil {
		return nil, err
	}
	return src, nil
}

// build makes the route's filter. Statuses by followed authors pass every
// route's track test, as Twitter combines track and follow with OR. With
// serverSide (X) the server has matched the route's rule: the route takes
// what carries its tag.
func (r Route) build(follow []string, serverSide bool) bot.Route {
	var mw []handlers.Middleware
	if serverSide {
		mw = append(mw, handlers.Tagged(r.ruleTag()))
	} else {
		mw = append(mw, handlers.MatchOrFrom(track.MustCompile(r.Track), follow))
	}
	if r.Exclude != "" {
		mw = append(mw, handlers.Exclude(track.MustCompile(r.Exclude)))
	}
	if r.Retweets != nil && !*r.Retweets {
		mw = append(mw, handlers.DropRetweets())
	}
	if r.Replies != nil && !*r.Replies {
		mw = append(mw, handlers.DropReplies())
	}
	if len(r.Languages) > 0 {
		mw = append(mw, handlers.Languages(r.Languages...))
	}
	name := r.Name
	if name == "" {
		name = "default" // flags mode: one route, named "default"
	}
	return bot.Route{Name: name, Filter: handlers.Chain(mw...), Destinations: r.Destinations}
}

// wantsRaw reports whether a destination asks for the statuses' payloads.
func (f *File) wantsRaw() bool {
	return slices.ContainsFunc(f.Destinations, func(d Destination) bool { return d.Raw })
}
