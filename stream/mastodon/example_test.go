package mastodon_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mastodon"
	"github.com/streambot/streambot/stream/mastodon/mastodontest"
)

// Streaming a hashtag from a fake instance: the Source finds the streaming
// server through /api/v2/instance, opens /api/v1/streaming/hashtag?tag=python
// with the token, and turns Mastodon's HTML into plain text. In a test
// function, mastodontest.NewTestServer(t, cfg) replaces the first five
// lines and closes the server when the test ends.
func ExampleSource() {
	srv, err := mastodontest.NewServer(mastodontest.Config{Statuses: [][]byte{
		[]byte(`{"id":"1","content":"<p>Python 3.13 is out! <a href=\"https://social.example/tags/python\" class=\"mention hashtag\" rel=\"tag\">#<span>python</span></a></p>","account":{"id":"7","acct":"ana","display_name":"Ana"},"tags":[{"name":"python"}]}`),
		[]byte(`{"id":"2","content":"<p>First tomatoes of the season</p>","account":{"id":"8","acct":"gil@garden.example","display_name":"Gil"},"tags":[{"name":"garden"}]}`),
		[]byte(`{"id":"3","spoiler_text":"long","content":"<p>Tip: use enumerate()<br>and zip() &amp; friends</p>","account":{"id":"9","acct":"cy@code.example"},"tags":[{"name":"Python"}]}`),
	}})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close() // ends the open stream, so ts.Close does not wait for it

	src, err := mastodon.NewSource(mastodon.Config{
		InstanceURL: ts.URL,
		Token:       mastodontest.DemoToken, // in production: mastodon.FromEnv(os.Getenv)
		Hashtags:    []string{"#python"},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The stream stays open after its content, so stop after two statuses.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err = src.Run(ctx, func(ev stream.Event) error {
		if ev.Kind != stream.KindStatus {
			return nil
		}
		fmt.Printf("@%s %v: %q\n", ev.Status.Author.ScreenName, ev.Status.Hashtags, ev.Status.Text)
		if n++; n == 2 {
			cancel()
		}
		return nil
	})
	req := srv.Requests()
	last := req[len(req)-1]
	fmt.Println("Run:", err, "| streams:", src.Streams(), "| last request:", last.Path, last.Query.Encode(), last.Auth)
	// Output:
	// @ana [python]: "Python 3.13 is out! #python"
	// @cy@code.example [Python]: "CW: long\nTip: use enumerate()\nand zip() & friends"
	// Run: <nil> | streams: [hashtag:python] | last request: /api/v1/streaming/hashtag tag=python ok
}
