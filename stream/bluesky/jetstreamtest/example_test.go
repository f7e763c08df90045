package jetstreamtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/coder/websocket"

	"github.com/streambot/streambot/stream/bluesky/jetstreamtest"
)

// Any WebSocket client can talk to the fake: here a bare one subscribes to
// posts from a cursor. The like is filtered out by wantedCollections, the
// first post by the cursor; the identity message always passes.
func ExampleNewServer() {
	srv, err := jetstreamtest.NewServer(jetstreamtest.Config{Events: [][]byte{
		jetstreamtest.Post(100, "did:plc:alice", "3kaaa", "too early"),
		jetstreamtest.Identity(200, "did:plc:bob", "bob.test"),
		[]byte(`{"did":"did:plc:bob","time_us":300,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.like","rkey":"3klike"}}`),
		jetstreamtest.Post(400, "did:plc:bob", "3kbbb", "hello"),
	}})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, ts.URL+"/subscribe?wantedCollections=app.bsky.feed.post&cursor=150", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	for range 2 {
		_, msg, err := c.Read(ctx)
		if err != nil {
			log.Fatal(err)
		}
		var m struct {
			TimeUS int64  `json:"time_us"`
			Kind   string `json:"kind"`
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			log.Fatal(err)
		}
		fmt.Println(m.TimeUS, m.Kind)
	}
	conn := srv.Connections()[0]
	fmt.Println("cursor:", conn.Cursor, "collections:", conn.Collections)
	// Output:
	// 200 identity
	// 400 commit
	// cursor: 150 collections: [app.bsky.feed.post]
}
