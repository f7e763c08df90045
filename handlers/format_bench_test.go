package handlers_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/twitter"
)

// benchStatuses decodes n of the load generator's statuses: realistic
// texts (long ones, retweets, non-ASCII, HTML entities) for the sinks'
// formatting benchmarks.
func benchStatuses(b *testing.B, n int) []*stream.Status {
	b.Helper()
	g := mock.NewGenerator(1)
	var out []*stream.Status
	for len(out) < n {
		ev, err := twitter.Decode(g.Next(nil))
		if err != nil {
			b.Fatal(err)
		}
		if ev.Kind == stream.KindStatus {
			out = append(out, ev.Status)
		}
	}
	return out
}

// BenchmarkFormatLine is the console sink's formatting, per status.
func BenchmarkFormatLine(b *testing.B) {
	statuses := benchStatuses(b, 256)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if handlers.FormatLine(statuses[i%len(statuses)]) == "" {
			b.Fatal("empty line")
		}
		i++
	}
}

// BenchmarkJSONLRecord is the JSONL sink's encoding, per status.
// BenchmarkJSONL writes statuses with the JSONL sink to a file: as the
// bot hands them by default (no Raw), batched, and for a raw: true
// destination.
func BenchmarkJSONL(b *testing.B) {
	for _, c := range []struct{ raw, batched bool }{{false, false}, {false, true}, {true, false}} {
		raw := c.raw
		b.Run(fmt.Sprintf("raw=%v/batched=%v", c.raw, c.batched), func(b *testing.B) {
			statuses := benchStatuses(b, 256)
			if !raw {
				for i, s := range statuses {
					c := *s
					c.Raw = nil
					statuses[i] = &c
				}
			}
			j, err := handlers.OpenJSONL(filepath.Join(b.TempDir(), "out.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			var h handlers.Handler = j
			if c.batched { // flushed every 256 statuses, as package bot does at most
				h = j.Batched()
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := h.Handle(context.Background(), statuses[i%len(statuses)]); err != nil {
					b.Fatal(err)
				}
				if i++; c.batched && i%256 == 0 {
					if err := j.Batched().Flush(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
