package streamtest_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/twitter"
)

// Testing your own handler against the mock stream server: the real Twitter
// source (OAuth1 signing, HTTP, framing, decoding) talks to a loopback
// server that filters by track as Twitter does. In a test function,
// NewTestServer(t, cfg) replaces the first five lines and closes both
// servers when the test ends.
func ExampleNewServer() {
	srv, err := streamtest.NewServer(streamtest.Config{Once: true, Lines: [][]byte{
		[]byte(`{"id_str":"1","text":"Python 3.13 is out","user":{"screen_name":"ana"}}`),
		[]byte(`{"id_str":"2","text":"First tomatoes of the season","user":{"screen_name":"gil"}}`),
		[]byte(`{"id_str":"3","text":"PYTHON tip: use enumerate()","user":{"screen_name":"cy"}}`),
	}})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	src, err := twitter.NewSource(twitter.Config{
		Credentials: twitter.Credentials(streamtest.DemoCredentials()),
		BaseURL:     ts.URL,
		Track:       []string{"python"},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The handler under test.
	var h handlers.Handler = handlers.HandlerFunc(func(_ context.Context, s *stream.Status) error {
		fmt.Printf("@%s: %s\n", s.Author.ScreenName, s.Text)
		return nil
	})

	// The stream stays open after its content, so stop after the two
	// statuses that match "python".
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err = src.Run(ctx, func(ev stream.Event) error {
		if ev.Kind != stream.KindStatus {
			return nil
		}
		if n++; n == 2 {
			defer cancel()
		}
		return h.Handle(ctx, ev.Status)
	})
	srv.Close() // ends the stream and waits for the server's handler
	req := srv.Requests()[0]
	fmt.Println("Run:", err, "| signature verified:", req.Verified, "| track:", req.Params.Get("track"))
	// Output:
	// @ana: Python 3.13 is out
	// @cy: PYTHON tip: use enumerate()
	// Run: <nil> | signature verified: true | track: python
}
