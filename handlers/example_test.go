package handlers_test

import (
	"context"
	"fmt"
	"os"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/track"
)

// A handler of your own behind middleware. Chain(a, b, c)(h) passes each
// status through a, b and c before h; a filter drops a status by not calling
// the next handler. truncate is a custom Middleware: like every handler it
// must not modify the status it is given, so it changes a copy.
//
// The mock source replays four statuses once. Without package bot the
// handler runs in the source's goroutine, one status at a time.
func Example_middleware() {
	truncate := func(n int) handlers.Middleware {
		return func(next handlers.Handler) handlers.Handler {
			return handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
				if r := []rune(s.Text); len(r) > n {
					c := *s
					c.Text = string(r[:n]) + "…"
					s = &c
				}
				return next.Handle(ctx, s)
			})
		}
	}
	show := handlers.HandlerFunc(func(_ context.Context, s *stream.Status) error {
		fmt.Printf("%v @%s: %s\n", s.Matched, s.Author.ScreenName, s.Text)
		return nil
	})
	h := handlers.Chain(
		handlers.Match(track.MustCompile("python,golang")), // Matched = the phrases that matched
		handlers.DropRetweets(),
		truncate(24),
	)(show)

	src := mock.New(mock.Config{Once: true, Lines: [][]byte{
		[]byte(`{"id_str":"1","text":"Python 3.13 is out, with a faster interpreter","user":{"screen_name":"ana"}}`),
		[]byte(`{"id_str":"2","text":"RT @ana: Python 3.13 is out","user":{"screen_name":"bo"},` +
			`"retweeted_status":{"id_str":"1","text":"Python 3.13 is out","user":{"screen_name":"ana"}}}`),
		[]byte(`{"id_str":"3","text":"First tomatoes of the season","user":{"screen_name":"gil"}}`),
		[]byte(`{"id_str":"4","text":"Golang or Python?","user":{"screen_name":"cy"}}`),
	}})
	ctx := context.Background()
	err := src.Run(ctx, func(ev stream.Event) error {
		if ev.Kind != stream.KindStatus {
			return nil
		}
		return h.Handle(ctx, ev.Status)
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// [python] @ana: Python 3.13 is out, with…
	// [python golang] @cy: Golang or Python?
}

// The seed's listener: its on_status becomes a function with the Handler
// signature. Returning an error tells the caller the status was not handled.
func ExampleHandlerFunc() {
	onStatus := handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
		fmt.Println(s.Text)
		return nil
	})
	_ = onStatus.Handle(context.Background(), &stream.Status{Text: "Python 3.13 is out"})
	// Output: Python 3.13 is out
}

// Match labels what it passes with the phrases that matched; the routes
// that took a status are package bot's to record, in Status.Routes.
func ExampleMatch() {
	show := handlers.HandlerFunc(func(_ context.Context, s *stream.Status) error {
		fmt.Println(s.Matched)
		return nil
	})
	m := track.MustCompile("python,golang")
	ctx := context.Background()
	_ = handlers.Match(m)(show).Handle(ctx, &stream.Status{Text: "Golang and Python"})
	_ = handlers.Match(m)(show).Handle(ctx, &stream.Status{Text: "Rust"}) // dropped
	// Output:
	// [python golang]
}

// Filter turns a predicate into a Middleware.
func ExampleFilter() {
	english := handlers.Filter(func(s *stream.Status) bool { return s.Lang == "en" })
	show := handlers.HandlerFunc(func(_ context.Context, s *stream.Status) error {
		fmt.Println(s.Text)
		return nil
	})
	h := english(show)
	ctx := context.Background()
	_ = h.Handle(ctx, &stream.Status{Lang: "en", Text: "Python is fun"})
	_ = h.Handle(ctx, &stream.Status{Lang: "es", Text: "Python es divertido"})
	// Output: Python is fun
}

// Console is a sink: a Handler at the end of a chain that writes one
// sanitized line per status.
func ExampleConsole() {
	h := handlers.Console(os.Stdout)
	_ = h.Handle(context.Background(), &stream.Status{
		Author: stream.Author{ScreenName: "ana", Name: "Ana"},
		Text:   "Python 3.13\nis out",
		URL:    "https://x.com/ana/status/1",
	})
	// Output: @ana (Ana): Python 3.13 is out — https://x.com/ana/status/1
}
