package telegram_test

import (
	"strings"
	"testing"

	"github.com/streambot/streambot/handlers/telegram"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/twitter"
)

// BenchmarkFormat renders the load generator's statuses as Telegram HTML
// messages with the default template, per status; "long" renders one far
// over Telegram's 4,096 characters (truncated, or split in parts).
func BenchmarkFormat(b *testing.B) {
	g := mock.NewGenerator(1)
	var statuses []*stream.Status
	for len(statuses) < 256 {
		ev, err := twitter.Decode(g.Next(nil))
		if err != nil {
			b.Fatal(err)
		}
		if ev.Kind == stream.KindStatus {
			statuses = append(statuses, ev.Status)
		}
	}
	long := *statuses[0]
	long.Text = strings.Repeat("python <b>&amp;</b> 🐍 ", 600)
	for _, c := range []struct {
		name     string
		split    bool
		statuses []*stream.Status
	}{
		{"generated", false, statuses},
		{"long", false, []*stream.Status{&long}},
		{"long-split", true, []*stream.Status{&long}},
	} {
		b.Run(c.name, func(b *testing.B) {
			f, err := telegram.NewFormatter("", c.split)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := f.Format(c.statuses[i%len(c.statuses)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
