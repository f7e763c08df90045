package mastodontest_test

import (
	"bufio"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/streambot/streambot/stream/mastodon/mastodontest"
)

// What a streaming client sees on the wire: any HTTP client can read the
// fake instance's server-sent events. In a test function,
// NewTestServer(t, cfg) replaces the first five lines and closes the server
// when the test ends.
func ExampleNewServer() {
	srv, err := mastodontest.NewServer(mastodontest.Config{
		Events: []mastodontest.Event{
			mastodontest.Update([]byte(`{"id":"1","content":"<p>hi</p>","account":{"acct":"ana"}}`)),
			mastodontest.Delete("1"),
		},
		CloseAfter: 2, // end the stream after both events
	})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, ts.URL+mastodontest.PublicPath, nil)
	req.Header.Set("Authorization", "Bearer "+mastodontest.DemoToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		fmt.Printf("%q\n", sc.Text())
	}
	fmt.Println("requests:", len(srv.Requests()), "| auth:", srv.Requests()[0].Auth)
	// Output:
	// 200 OK text/event-stream
	// ":)"
	// "event: update"
	// "data: {\"id\":\"1\",\"content\":\"<p>hi</p>\",\"account\":{\"acct\":\"ana\"}}"
	// ""
	// "event: delete"
	// "data: 1"
	// ""
	// requests: 1 | auth: ok
}
