package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// matchStatuses is how many decoded generated statuses matching cycles over.
const matchStatuses = 1000

// measureMatch times track.Matcher.Match for 1, 100 and 400 phrases, as
// stream/track's BenchmarkMatch builds them (two-term phrases that no
// status contains, so every word of every status is looked up), over
// decoded generated statuses.
func measureMatch(ctx context.Context, o *options, progress func(string, ...any)) ([]row, error) {
	statuses, err := decodedStatuses(matchStatuses)
	if err != nil {
		return nil, err
	}
	var rows []row
	var first float64
	for _, n := range []int{1, 100, 400} {
		if ctx.Err() != nil {
			return rows, ctx.Err()
		}
		m, err := track.Compile(strings.Join(noMatchPhrases(n), ","))
		if err != nil {
			return rows, err
		}
		res := benchmarkFor(o.windows.match, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if m.Match(statuses[i%len(statuses)]) {
					b.Fatal("a status matched a phrase meant to match nothing")
				}
				i++
			}
		})
		if res.N == 0 {
			return rows, fmt.Errorf("matching %d phrases failed", n)
		}
		ns := float64(res.NsPerOp())
		if n == 1 {
			first = ns
		}
		progress("match: %d phrases: %.0f ns/status", n, ns)
		r := row{Name: fmt.Sprintf("match: %d phrase(s)", n), Value: ns, Unit: "ns/status",
			Note: fmt.Sprintf("%d allocs/status", res.AllocsPerOp())}
		if n > 1 {
			r.Note += fmt.Sprintf("; %.2fx the 1-phrase cost", ns/first)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// noMatchPhrases returns n phrases of two terms that generated statuses do
// not contain, the last a single term: the phrases of stream/track's
// BenchmarkMatch.
func noMatchPhrases(n int) []string {
	var phrases []string
	for i := range n {
		phrases = append(phrases, "kw"+strings.Repeat("z", i%30)+string(rune('a'+i%26))+" extra"+string(rune('a'+i/26)))
	}
	phrases[n-1] = "zebra"
	return phrases
}

// decodedStatuses returns n generated statuses, decoded.
func decodedStatuses(n int) ([]*stream.Status, error) {
	g := mock.NewGenerator(seed)
	out := make([]*stream.Status, 0, n)
	for len(out) < n {
		ev, err := twitter.Decode(g.Next(nil))
		if err != nil {
			return nil, err
		}
		if ev.Kind == stream.KindStatus {
			out = append(out, ev.Status)
		}
	}
	return out, nil
}

var initTesting sync.Once

// benchmarkFor runs f as a benchmark for about d.
func benchmarkFor(d time.Duration, f func(b *testing.B)) testing.BenchmarkResult {
	// testing.Benchmark runs for -test.benchtime, a flag of the default
	// flag set that testing.Init registers (this command parses its own).
	initTesting.Do(testing.Init)
	flag.Set("test.benchtime", d.String())
	return testing.Benchmark(f)
}
