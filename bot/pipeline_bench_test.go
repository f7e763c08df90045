package bot_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// BenchmarkTwitterToJSONL runs what `streambot -source twitter -track
// python -jsonl out.jsonl` runs, in process: the mock server generating
// statuses at full speed (filtering track=python itself), the v1.1 source,
// the route filter, the durable outbox on disk and the JSONL sink. Each op
// is one status written to the file.
func BenchmarkTwitterToJSONL(b *testing.B) {
	for _, durable := range []bool{true, false} {
		name := "outbox"
		if !durable {
			name = "memory"
		}
		b.Run(name, func(b *testing.B) {
			_, ts := streamtest.NewTestServer(b, streamtest.Config{Generator: mock.NewGenerator(1), KeepAlive: -1})
			demo := streamtest.DemoCredentials()
			src, err := twitter.NewSource(twitter.Config{
				Credentials: twitter.Credentials{ConsumerKey: demo.ConsumerKey, ConsumerSecret: demo.ConsumerSecret, AccessToken: demo.AccessToken, AccessSecret: demo.AccessSecret},
				BaseURL:     ts.URL,
				Track:       []string{"python"},
			})
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			sink, err := handlers.OpenJSONL(filepath.Join(dir, "out.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close()
			cfg := bot.Config{
				Source:        src,
				Routes:        []bot.Route{{Name: "python", Filter: handlers.Match(track.MustCompile("python")), Destinations: []string{"jsonl"}}},
				StatsInterval: -1,
			}
			var o *bot.Outbox
			if durable {
				o, err = bot.OpenOutbox(filepath.Join(dir, "outbox.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer o.Close()
				cfg.Store = o
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var n atomic.Int64
			cfg.Destinations = []bot.Destination{{Name: "jsonl", Handler: handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
				err := sink.Handle(ctx, s)
				if n.Add(1) == int64(b.N) {
					cancel()
				}
				return err
			})}}
			bt, err := bot.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := bt.Run(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if got := n.Load(); got < int64(b.N) {
				b.Fatalf("%d statuses written, want %d", got, b.N)
			}
			if o != nil {
				b.ReportMetric(float64(o.Stats().Commits)/float64(b.N), "tx/status")
			}
		})
	}
}
