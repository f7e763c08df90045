package bot_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// The seed's tweepy example in Go: OAuth1 credentials, the Twitter filter
// stream tracking "python", and a listener whose on_status prints the text.
// The bot reads the stream in one goroutine and calls the listener in
// another, so a slow handler never stalls the stream (tweepy's
// is_async=True); Ctrl-C cancels the context and stops it.
//
// This example needs the network and credentials, so go test only compiles
// it. Example_listener is the same program with the mock source: the
// offline test of the listener.
func Example_twitter() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	src, err := twitter.NewSource(twitter.Config{
		Credentials: twitter.CredentialsFromEnv(os.Getenv), // TWITTER_CONSUMER_KEY, ...
		Track:       []string{"python"},
	})
	if err != nil {
		log.Fatal(err)
	}
	onStatus := handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
		fmt.Println(s.Text)
		return nil
	})
	b, err := bot.New(bot.Config{
		Source: src,
		Routes: []bot.Route{{
			Name:         "python",
			Filter:       handlers.Match(track.MustCompile("python")),
			Destinations: []string{"print"},
		}},
		Destinations: []bot.Destination{{Name: "print", Handler: onStatus}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Run(ctx); err != nil {
		log.Fatal(err) // for example rejected credentials: errors.Is(err, stream.ErrPermanent)
	}
}

// The listener of Example_twitter tested offline: the same program with the
// mock source in place of the Twitter source. The mock replays three
// statuses once and does not filter, so the route's Match keeps the two
// about python; Run returns when the source is exhausted and every
// destination has caught up. A destination receives statuses in stream
// order, from one goroutine, so the output is deterministic.
func Example_listener() {
	ctx := context.Background()

	src := mock.New(mock.Config{Once: true, Lines: [][]byte{
		[]byte(`{"id_str":"1","text":"Python 3.13 is out","user":{"screen_name":"ana"}}`),
		[]byte(`{"id_str":"2","text":"First tomatoes of the season","user":{"screen_name":"gil"}}`),
		[]byte(`{"id_str":"3","text":"PYTHON tip: use enumerate()","user":{"screen_name":"cy"}}`),
	}})
	onStatus := handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
		fmt.Println(s.Text)
		return nil
	})
	b, err := bot.New(bot.Config{
		Source: src,
		Routes: []bot.Route{{
			Name:         "python",
			Filter:       handlers.Match(track.MustCompile("python")),
			Destinations: []string{"print"},
		}},
		Destinations: []bot.Destination{{Name: "print", Handler: onStatus}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Run(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// Python 3.13 is out
	// PYTHON tip: use enumerate()
}

// Two keywords routed to two destinations. A status that matches both
// routes is stored once and reaches both destinations, each seeing in
// Routes the route that led it there and in Matched every phrase that
// matched; a status that matches neither is not delivered. Each
// destination runs in its own goroutine, so this example collects what each
// received and prints it after Run, which returns only when all deliveries
// are done.
func Example_routing() {
	src := mock.New(mock.Config{Once: true, Lines: [][]byte{
		[]byte(`{"id_str":"1","text":"Python 3.13 is out","user":{"screen_name":"ana"}}`),
		[]byte(`{"id_str":"2","text":"Go 1.26 ships today","user":{"screen_name":"bo"}}`),
		[]byte(`{"id_str":"3","text":"First tomatoes of the season","user":{"screen_name":"gil"}}`),
		[]byte(`{"id_str":"4","text":"Calling Go from Python with cgo","user":{"screen_name":"cy"}}`),
	}})

	var pyChannel, goChannel []string // each written only by its destination
	collect := func(into *[]string) handlers.Handler {
		return handlers.HandlerFunc(func(_ context.Context, s *stream.Status) error {
			*into = append(*into, fmt.Sprintf("route %v, matched %v: %s", s.Routes, s.Matched, s.Text))
			return nil
		})
	}
	b, err := bot.New(bot.Config{
		Source: src,
		Routes: []bot.Route{
			{Name: "python", Filter: handlers.Match(track.MustCompile("python")), Destinations: []string{"py-channel"}},
			{Name: "golang", Filter: handlers.Match(track.MustCompile("golang,go")), Destinations: []string{"go-channel"}},
		},
		Destinations: []bot.Destination{
			{Name: "py-channel", Handler: collect(&pyChannel)},
			{Name: "go-channel", Handler: collect(&goChannel)},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	for _, d := range []struct {
		name string
		got  []string
	}{{"py-channel", pyChannel}, {"go-channel", goChannel}} {
		fmt.Println(d.name + ":")
		for _, line := range d.got {
			fmt.Println("  " + line)
		}
	}
	st := b.Stats()
	fmt.Printf("received %d, matched %d, forwarded %d\n", st.Received, st.Matched, st.Forwarded)
	// Output:
	// py-channel:
	//   route [python], matched [python]: Python 3.13 is out
	//   route [python], matched [python go]: Calling Go from Python with cgo
	// go-channel:
	//   route [golang], matched [go]: Go 1.26 ships today
	//   route [golang], matched [python go]: Calling Go from Python with cgo
	// received 4, matched 3, forwarded 4
}
