package mock_test

import (
	"context"
	"fmt"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
)

// With Lines and Once, the mock is a finite, deterministic stream: the
// statuses a test needs, decoded exactly as the Twitter source decodes them,
// and Run returns nil at the end. Lines that do not decode are skipped.
func ExampleNew() {
	src := mock.New(mock.Config{Once: true, Lines: [][]byte{
		[]byte(`{"id_str":"1","text":"Python 3.13 is out","user":{"screen_name":"ana"}}`),
		[]byte(`{"delete":{"status":{"id_str":"1","user_id_str":"7"}}}`),
		[]byte(`not json`),
		[]byte(`{"id_str":"2","text":"RT @ana: Python 3.13 is out","user":{"screen_name":"bo"},` +
			`"retweeted_status":{"id_str":"1","text":"Python 3.13 is out","user":{"screen_name":"ana"}}}`),
	}})
	err := src.Run(context.Background(), func(ev stream.Event) error {
		if ev.Kind == stream.KindStatus {
			fmt.Printf("%s %s retweet=%v: %s\n", ev.Kind, ev.Status.ID, ev.Status.IsRetweet, ev.Status.Text)
		} else {
			fmt.Println(ev.Kind)
		}
		return nil
	})
	fmt.Println("Run returned", err)
	// Output:
	// status 1 retweet=false: Python 3.13 is out
	// delete
	// status 2 retweet=true: RT @ana: Python 3.13 is out
	// Run returned <nil>
}

// The zero Config replays the embedded corpus in a loop; with Once it is
// replayed a single time. The corpus holds realistic statuses, with and
// without "python", and one of each control message worth handling.
func ExampleCorpus() {
	count := map[stream.Kind]int{}
	src := mock.New(mock.Config{Once: true}) // nil Lines: mock.Corpus()
	if err := src.Run(context.Background(), func(ev stream.Event) error {
		count[ev.Kind]++
		return nil
	}); err != nil {
		panic(err)
	}
	fmt.Println(len(mock.Corpus()), "lines")
	for _, k := range []stream.Kind{stream.KindStatus, stream.KindDelete, stream.KindLimit, stream.KindWarning} {
		fmt.Println(k, count[k])
	}
	// Output:
	// 39 lines
	// status 34
	// delete 3
	// limit 1
	// warning 1
}
