package stream_test

import (
	"context"
	"fmt"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/twitter"
)

// Any Source is consumed the same way: Run calls emit once per event, in
// stream order, until the context ends. Here the mock source loops over two
// statuses forever, and the consumer stops it after three.
func ExampleSource() {
	var src stream.Source = mock.New(mock.Config{Lines: [][]byte{
		[]byte(`{"id_str":"1","text":"Python 3.13 is out","user":{"screen_name":"ana"}}`),
		[]byte(`{"id_str":"2","text":"Go 1.26 is out","user":{"screen_name":"bo"}}`),
	}})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err := src.Run(ctx, func(ev stream.Event) error {
		if ev.Kind == stream.KindStatus {
			fmt.Printf("%s %s: %s\n", ev.Status.ID, ev.Status.Author.ScreenName, ev.Status.Text)
			if n++; n == 3 {
				cancel() // Run returns nil once its context is done
			}
		}
		return nil
	})
	fmt.Println("Run returned", err)
	// Output:
	// 1 ana: Python 3.13 is out
	// 2 bo: Go 1.26 is out
	// 3 ana: Python 3.13 is out
	// Run returned <nil>
}

// An Event carries either a Status or one of the stream's control messages;
// Kind says which. twitter.Decode turns one v1.1 wire message into an Event.
func ExampleEvent() {
	for _, line := range []string{
		`{"id_str":"1","text":"Tom &amp; Jerry &lt;3 Python","user":{"screen_name":"ana"}}`,
		`{"delete":{"status":{"id_str":"1","user_id_str":"7"}}}`,
		`{"limit":{"track":42}}`,
		`{"warning":{"code":"FALLING_BEHIND","message":"queue 60% full","percent_full":60}}`,
	} {
		ev, err := twitter.Decode([]byte(line))
		if err != nil {
			fmt.Println("skip:", err)
			continue
		}
		switch ev.Kind {
		case stream.KindStatus:
			fmt.Printf("%s: %s %s\n", ev.Kind, ev.Status.Text, ev.Status.URL)
		case stream.KindDelete:
			fmt.Printf("%s: forget status %s\n", ev.Kind, ev.Delete.StatusID)
		case stream.KindLimit:
			fmt.Printf("%s: %d statuses withheld so far\n", ev.Kind, ev.Limit.Track)
		case stream.KindWarning:
			fmt.Printf("%s: %s at %d%%\n", ev.Kind, ev.Warning.Code, ev.Warning.PercentFull)
		}
	}
	// Output:
	// status: Tom & Jerry <3 Python https://x.com/ana/status/1
	// delete: forget status 1
	// limit: 42 statuses withheld so far
	// warning: FALLING_BEHIND at 60%
}
