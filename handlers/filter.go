package handlers

import (
	"context"
	"slices"
	"strings"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/track"
)

// Match passes on the statuses that m matches and drops the rest. The
// status passed on is a copy whose Matched is the phrases that matched. It
// does not name the route: package bot records the routes that took a
// status in Status.Routes.
func Match(m *track.Matcher) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, s *stream.Status) error {
			matched := m.AppendMatches(nil, s)
			if len(matched) == 0 {
				return nil
			}
			c := *s
			c.Matched = matched
			return next.Handle(ctx, &c)
		})
	}
}

// MatchOrFrom is Match that also passes on statuses whose author ID is in
// authors, as Twitter combines track and follow with OR. A status taken
// only for its author gets Matched "from:<author id>".
func MatchOrFrom(m *track.Matcher, authors []string) Middleware {
	if len(authors) == 0 {
		return Match(m)
	}
	from := make(map[string]bool, len(authors))
	for _, a := range authors {
		from[a] = true
	}
	match := Match(m)
	return func(next Handler) Handler {
		byTrack := match(next)
		return HandlerFunc(func(ctx context.Context, s *stream.Status) error {
			if !from[s.Author.ID] || m.Match(s) {
				return byTrack.Handle(ctx, s)
			}
			c := *s
			c.Matched = []string{"from:" + s.Author.ID}
			return next.Handle(ctx, &c)
		})
	}
}

// Tagged passes on, unchanged, the statuses that the network matched to a
// server-side rule tagged tag (stream.Status.Rules, e.g. the X API v2
// filtered stream). It is Match for sources that filter on the server; it
// leaves Matched alone, since the server does not say which phrases
// matched.
func Tagged(tag string) Middleware {
	return Filter(func(s *stream.Status) bool { return slices.Contains(s.Rules, tag) })
}

// Exclude drops the statuses that m matches and passes on the rest.
func Exclude(m *track.Matcher) Middleware {
	return Filter(func(s *stream.Status) bool { return !m.Match(s) })
}

// DropReplies drops replies (statuses with IsReply set).
func DropReplies() Middleware {
	return Filter(func(s *stream.Status) bool { return !s.IsReply })
}

// DropRetweets drops retweets (statuses with IsRetweet set).
func DropRetweets() Middleware {
	return Filter(func(s *stream.Status) bool { return !s.IsRetweet })
}

// Languages passes on only statuses whose Lang is one of langs (compared
// case-insensitively). With no langs it passes everything.
func Languages(langs ...string) Middleware {
	if len(langs) == 0 {
		return func(next Handler) Handler { return next }
	}
	want := make([]string, len(langs))
	for i, l := range langs {
		want[i] = strings.ToLower(strings.TrimSpace(l))
	}
	return Filter(func(s *stream.Status) bool {
		return slices.Contains(want, strings.ToLower(s.Lang))
	})
}

// Filter passes on the statuses for which keep returns true and drops the rest.
func Filter(keep func(*stream.Status) bool) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, s *stream.Status) error {
			if !keep(s) {
				return nil
			}
			return next.Handle(ctx, s)
		})
	}
}
