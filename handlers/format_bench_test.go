package handlers_test

import (
	"encoding/json"
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
func BenchmarkJSONLRecord(b *testing.B) {
	statuses := benchStatuses(b, 256)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := json.Marshal(handlers.NewRecord(statuses[i%len(statuses)])); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
