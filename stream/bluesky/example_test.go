package bluesky_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/bluesky"
	"github.com/streambot/streambot/stream/bluesky/jetstreamtest"
	"github.com/streambot/streambot/stream/track"
)

// Streaming Bluesky posts that mention python from a Jetstream server, here
// the fake one of package jetstreamtest, resuming from a stored cursor as
// package bot does. In a test, jetstreamtest.NewTestServer(t, cfg) replaces
// the first lines and closes the servers when the test ends.
func ExampleSource() {
	srv, err := jetstreamtest.NewServer(jetstreamtest.Config{Events: [][]byte{
		jetstreamtest.Identity(1725911162000000, "did:plc:alice", "alice.bsky.social"),
		jetstreamtest.Post(1725911163000000, "did:plc:alice", "3kaaa", "Python 3.13 is out"),
		jetstreamtest.Post(1725911164000000, "did:plc:bob", "3kbbb", "First tomatoes of the season"),
		jetstreamtest.Post(1725911165000000, "did:plc:bob", "3kccc", "PYTHON tip: use enumerate()"),
	}})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	src, err := bluesky.NewSource(bluesky.Config{URL: ts.URL}) // http:// is taken as ws://
	if err != nil {
		log.Fatal(err)
	}
	src.Resume("1725911162500000") // the cursor a previous run committed

	python := track.MustCompile("python")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = src.Run(ctx, func(ev stream.Event) error {
		if ev.Kind == stream.KindStatus && python.Match(ev.Status) {
			fmt.Printf("@%s: %s\n  %s at cursor %s\n", ev.Status.Author.ScreenName, ev.Status.Text, ev.Status.URL, ev.Cursor)
		}
		if ev.Kind == stream.KindStatus && strings.HasSuffix(ev.Status.ID, "/3kccc") {
			cancel() // the stream never ends by itself
		}
		return nil
	})
	fmt.Println("Run:", err, "| first connection's cursor (5 s rewind):", srv.Connections()[0].Cursor)
	// Output:
	// @alice.bsky.social: Python 3.13 is out
	//   https://bsky.app/profile/alice.bsky.social/post/3kaaa at cursor 1725911163000000
	// @did:plc:bob: PYTHON tip: use enumerate()
	//   https://bsky.app/profile/did:plc:bob/post/3kccc at cursor 1725911165000000
	// Run: <nil> | first connection's cursor (5 s rewind): 1725911157500000
}
