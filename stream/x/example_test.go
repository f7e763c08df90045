package x_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/x"
	"github.com/streambot/streambot/stream/x/xtest"
)

// Streaming the posts of two routes from the fake X API of package xtest.
// Run syncs the rules first (one per route, tagged with the route's name),
// then streams; each post carries the tags of the rules it matched. In a
// test function, xtest.NewTestServer(t, cfg) replaces the first five lines.
func ExampleSource() {
	srv, err := xtest.NewServer(xtest.Config{Heartbeat: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	src, err := x.NewSource(x.Config{
		BearerToken: xtest.DemoToken, // x.TokenFromEnv(nil) reads X_BEARER_TOKEN
		BaseURL:     ts.URL,
		Rules: []x.Rule{
			{Tag: "python", Value: `"python 3.12"`},
			{Tag: "golang", Value: "golang OR #go"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err = src.Run(ctx, func(ev stream.Event) error {
		if ev.Kind != stream.KindStatus {
			return nil
		}
		s := ev.Status
		fmt.Printf("%v @%s: %.50s\n", s.Rules, s.Author.ScreenName, s.Text)
		if n++; n == 5 {
			cancel()
		}
		return nil
	})
	srv.Close()
	fmt.Println("Run:", err, "| rules on the server:", len(srv.Rules()))
	// Output:
	// [python] @dataeng_dana: Finally migrated our ETL jobs from Python 2 to Pyt
	// [golang] @gopher_gil: Go 1.22 is out: range over integers, a better http
	// [python] @sam_sre: RT @dataeng_dana: Finally migrated our ETL jobs fr
	// [golang] @sam_sre: @gopher_gil have you tried go test -race? It found
	// [golang] @jonas_schreibt: Heute habe ich Golang gelernt. Die Fehlerbehandlun
	// Run: <nil> | rules on the server: 2
}
