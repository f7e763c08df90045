package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/stream"
)

// Issue 12: no single status, however malformed its fields, can stall or
// crash the pipeline: it is delivered, or refused by the destination, or
// dropped with a log line and a counter. These tests use only the public
// API, the way a library user's source and sink would.

// poisonSource is a library user's source: it emits its events in order,
// then returns nil (end of input: the bot drains without a time limit).
type poisonSource []stream.Event

func (poisonSource) Name() string { return "user" }

func (p poisonSource) Run(ctx context.Context, emit func(stream.Event) error) error {
	for _, ev := range p {
		if err := emit(ev); err != nil {
			return err
		}
	}
	return nil
}

// delivered is what a destination was handed, copied.
type delivered struct {
	id  string
	raw []byte
}

// poisonSink records every status it is handed. It accepts everything,
// except that it panics on the status whose ID is panicOn (when set), after
// recording the attempt. The test goroutine reads it after Run returns.
type poisonSink struct {
	panicOn string

	mu       sync.Mutex
	got      []delivered // accepted, in delivery order
	attempts []string    // every call, IDs
}

func (s *poisonSink) Handle(_ context.Context, st *stream.Status) error {
	s.mu.Lock()
	s.attempts = append(s.attempts, st.ID)
	if s.panicOn != "" && st.ID == s.panicOn {
		s.mu.Unlock()
		panic("poisonSink: cannot handle " + st.ID)
	}
	s.got = append(s.got, delivered{id: st.ID, raw: slices.Clone([]byte(st.Raw))})
	s.mu.Unlock()
	return nil
}

func (s *poisonSink) delivered() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func (s *poisonSink) tried(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.attempts {
		if a == id {
			n++
		}
	}
	return n
}

func goodStatus(id string) *stream.Status {
	raw, _ := json.Marshal(map[string]string{"id_str": id, "text": "python " + id})
	return &stream.Status{ID: id, Source: "user", Text: "python " + id, Lang: "en",
		Author: stream.Author{ID: "1", ScreenName: "alice", Name: "Alice"},
		URL:    "https://example.com/status/" + id, CreatedAt: time.Unix(1700000000, 0).UTC(), Raw: raw}
}

// poisonStatuses are statuses a source may well emit, malformed in one or
// more fields. An empty ID cannot be deduplicated or deleted, but it is no
// reason to lose the status silently: like any other it must be delivered,
// or refused and counted at the destination.
func poisonStatuses() []*stream.Status {
	bad := "python \xff\xfe\x00\x00 \xc3\x28 \xed\xa0\x80" // invalid UTF-8, NULs, a surrogate
	big := "python " + strings.Repeat("x", 1<<20)          // 1 MiB
	withRaw := func(id, raw string) *stream.Status { s := goodStatus(id); s.Raw = json.RawMessage(raw); return s }
	ps := []*stream.Status{
		withRaw("poison-rss", `<rss><item>python</item></rss>`),
		withRaw("poison-html", "<!DOCTYPE html><html><body><p>python</p></body></html>"),
		withRaw("poison-truncated-json", `{"id_str":"1","text":"python`),
		withRaw("poison-raw-utf8", "{\"text\":\"python \xff\xfe\x00\"}"),
		withRaw("poison-raw-binary", "\x00\x01\x02\xff\x80python"),
		{ID: "poison-fields-utf8", Source: "\xff", Text: bad, URL: "\x00\xff", Lang: "\xff\x00",
			Author:      stream.Author{ID: "\x00", ScreenName: "\xff\xfe", Name: bad},
			RetweetedID: "\xc3\x28", IsRetweet: true, IsQuote: true, IsReply: true,
			Hashtags: []string{"", "\x00", "\xff"}, Mentions: []string{"\xfe"},
			URLs:    []stream.URL{{Expanded: "\xff", Display: "\x00"}, {}},
			Matched: []string{"\xff"}, Routes: []string{"not-a-route", "\x00"}, Rules: []string{"\xff"},
			Raw: json.RawMessage(bad)},
		{ID: "poison-1MiB-text", Source: "user", Text: big, Raw: json.RawMessage(big)},
		{ID: "poison-many-hashtags", Source: "user", Text: "python", Hashtags: slices.Repeat([]string{"python"}, 20_000)},
		{ID: "poison-year-1", Source: "user", Text: "python", CreatedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{ID: "poison-year-9999", Source: "user", Text: "python", CreatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -12*3600))},
		{ID: "poison-id-\xff\x00", Source: "user", Text: "python"},
		{ID: strings.Repeat("9", 1<<16), Source: "user", Text: "python"}, // a 64 KiB ID
		{ID: "", Source: "user", Text: "python empty id"},
		{ID: "poison-zero"}, // every other field zero
	}
	return ps
}

// poisonRun runs cfg (Source and Store set by the caller) to the end of its
// input under a guard and fails the test if Run does not return in time.
func poisonRun(t *testing.T, cfg bot.Config) *bot.Bot {
	t.Helper()
	cfg.StatsInterval = -1
	b, err := bot.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const guard = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	select {
	case err := <-done:
		if ctx.Err() != nil {
			t.Fatalf("Run returned only after the %v guard cancelled it: the pipeline stalled (Run: %v, stats %+v)", guard, err, b.Stats())
		}
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(guard + 2*bot.DefaultDrainTimeout):
		t.Fatalf("Run did not return %v after the guard cancelled it: the pipeline is wedged (stats %+v)", 2*bot.DefaultDrainTimeout, b.Stats())
	}
	return b
}

// poisonStores runs f with each kind of Store: the in-memory log and the
// bbolt outbox in a fresh directory.
func poisonStores(t *testing.T, f func(t *testing.T, store func() bot.Store, dir string)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, func() bot.Store { return nil }, "")
	})
	t.Run("durable", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		f(t, func() bot.Store {
			o, err := bot.OpenOutbox(filepath.Join(dir, "outbox.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { o.Close() })
			return o
		}, dir)
	})
}

func TestPoisonStatusDoesNotStallThePipeline(t *testing.T) {
	t.Parallel()
	poisonStores(t, func(t *testing.T, store func() bot.Store, dir string) {
		var evs []stream.Event
		var goods []string
		emitted := map[string]*stream.Status{} // by ID
		var order []string                     // emission order
		add := func(s *stream.Status) {
			evs = append(evs, stream.StatusEvent(s))
			emitted[s.ID] = s
			order = append(order, s.ID)
		}
		for i := range 5 {
			s := goodStatus(fmt.Sprintf("good-%02d", i))
			add(s)
			goods = append(goods, s.ID)
		}
		poison := poisonStatuses()
		for _, s := range poison {
			add(s)
		}
		// Not statuses at all: a status event without a status and an
		// unknown kind. They must not stop what follows either.
		evs = append(evs, stream.Event{Kind: stream.KindStatus}, stream.Event{Kind: 200})
		for i := 5; i < 15; i++ {
			s := goodStatus(fmt.Sprintf("good-%02d", i))
			add(s)
			goods = append(goods, s.ID)
		}

		// "raw" asks for Status.Raw, so the non-JSON payloads reach the log;
		// "plain" does not. The route takes every status: this is about the
		// delivery core, not about filters.
		sinks := map[string]*poisonSink{"raw": {}, "plain": {}}
		st := store()
		b := poisonRun(t, bot.Config{
			Source:       poisonSource(evs),
			Routes:       []bot.Route{{Name: "all", Destinations: []string{"raw", "plain"}}},
			Destinations: []bot.Destination{{Name: "raw", Handler: sinks["raw"], Raw: true}, {Name: "plain", Handler: sinks["plain"]}},
			Store:        st,
		})

		stats := b.Stats()
		n := int64(len(order))
		if stats.Received != n || stats.Duplicates != 0 || stats.Matched != n {
			t.Errorf("received %d, duplicates %d, matched %d; want %d statuses received and matched, none lost at intake",
				stats.Received, stats.Duplicates, stats.Matched, n)
		}
		for name, sink := range sinks {
			ds := stats.Destinations[name]
			got := sink.delivered()
			var ids []string
			for _, d := range got {
				ids = append(ids, d.id)
			}
			// Good statuses on both sides of the poison: all, in order.
			var good []string
			for _, id := range ids {
				if strings.HasPrefix(id, "good-") {
					good = append(good, id)
				}
			}
			if !slices.Equal(good, goods) {
				t.Errorf("%s: good statuses delivered %q, want %q", name, good, goods)
			}
			// What was delivered, was delivered once and in stream order.
			var inOrder []string
			for _, id := range order {
				if slices.Contains(ids, id) {
					inOrder = append(inOrder, id)
				}
			}
			if !slices.Equal(ids, inOrder) {
				t.Errorf("%s: delivered out of stream order or twice:\n got %.80q\nwant %.80q", name, ids, inOrder)
			}
			if int64(len(ids)) != ds.Forwarded {
				t.Errorf("%s: the handler accepted %d statuses, Stats counts %d forwarded", name, len(ids), ds.Forwarded)
			}
			// Nothing vanishes silently.
			if sum := ds.Forwarded + ds.Failed + ds.Dropped + ds.Cancelled; sum != stats.Matched || ds.Queued != 0 {
				t.Errorf("%s: forwarded %d + failed %d + dropped %d + cancelled %d = %d, want matched %d; %d still queued",
					name, ds.Forwarded, ds.Failed, ds.Dropped, ds.Cancelled, sum, stats.Matched, ds.Queued)
			}
			var missing []string
			for _, p := range poison {
				if !slices.Contains(ids, p.ID) {
					missing = append(missing, p.ID)
				}
			}
			if int64(len(missing)) > ds.Failed+ds.Dropped {
				t.Errorf("%s: poison statuses %.40q neither delivered nor counted (failed %d, dropped %d)", name, missing, ds.Failed, ds.Dropped)
			} else if len(missing) > 0 {
				t.Logf("%s: refused and counted: %.40q", name, missing)
			}
			// Delivered is delivered intact: Raw is the payload as the
			// source emitted it, for the destination that asked for it.
			for _, d := range got {
				want := []byte(emitted[d.id].Raw)
				if name == "plain" {
					want = nil
				}
				if !slices.Equal(d.raw, want) {
					t.Errorf("%s: status %.40q delivered with Raw %.40q, want %.40q", name, d.id, d.raw, want)
				}
			}
		}

		if dir == "" {
			return
		}
		// A restart on the same outbox finds everything settled: nothing is
		// delivered again, nothing is unreadable.
		if o, ok := st.(*bot.Outbox); ok {
			if err := o.Close(); err != nil {
				t.Fatalf("closing the outbox: %v", err)
			}
		}
		again := &poisonSink{}
		b = poisonRun(t, bot.Config{
			Source:       poisonSource(nil),
			Routes:       []bot.Route{{Name: "all", Destinations: []string{"raw", "plain"}}},
			Destinations: []bot.Destination{{Name: "raw", Handler: again, Raw: true}, {Name: "plain", Handler: again}},
			Store:        store(),
		})
		if s := b.Stats(); len(again.delivered()) != 0 || s.Failed != 0 || s.Queued != 0 {
			t.Errorf("restart: %d delivered again, %d failed, %d queued; want nothing left after a drained run",
				len(again.delivered()), s.Failed, s.Queued)
		}
	})
}

// TestPoisonHandlerPanicIsCountedFailed: a handler that panics on one
// status must not kill the process or stall its queue.
//
// NEW BEHAVIOUR with issue 12's core (the core before the journal let the
// panic take the process down): the panic is caught, the status counted
// failed (like a permanent error) and not retried, and the queue goes on
// with the next one; the other destination is unaffected.
func TestPoisonHandlerPanicIsCountedFailed(t *testing.T) {
	t.Parallel()
	poisonStores(t, func(t *testing.T, store func() bot.Store, _ string) {
		var evs []stream.Event
		var want []string
		for i := range 20 {
			id := fmt.Sprintf("good-%02d", i)
			evs = append(evs, stream.StatusEvent(goodStatus(id)))
			want = append(want, id)
		}
		const victim = "good-07"
		panicky, steady := &poisonSink{panicOn: victim}, &poisonSink{}
		b := poisonRun(t, bot.Config{
			Source:       poisonSource(evs),
			Routes:       []bot.Route{{Name: "all", Destinations: []string{"panicky", "steady"}}},
			Destinations: []bot.Destination{{Name: "panicky", Handler: panicky}, {Name: "steady", Handler: steady}},
			Store:        store(),
		})
		ids := func(s *poisonSink) []string {
			var ids []string
			for _, d := range s.delivered() {
				ids = append(ids, d.id)
			}
			return ids
		}
		wantPanicky := slices.DeleteFunc(slices.Clone(want), func(id string) bool { return id == victim })
		if got := ids(panicky); !slices.Equal(got, wantPanicky) {
			t.Errorf("panicky: delivered %q, want %q (every status but the one it panics on)", got, wantPanicky)
		}
		if n := panicky.tried(victim); n != 1 {
			t.Errorf("panicky: handed %s %d times, want once (a panic is final, like a permanent error)", victim, n)
		}
		if got := ids(steady); !slices.Equal(got, want) {
			t.Errorf("steady: delivered %q, want %q", got, want)
		}
		s := b.Stats()
		if p := s.Destinations["panicky"]; p.Failed != 1 || p.Forwarded != int64(len(want)-1) || p.Queued != 0 {
			t.Errorf("panicky: stats %+v, want 1 failed, %d forwarded, 0 queued", p, len(want)-1)
		}
		if p := s.Destinations["steady"]; p.Failed != 0 || p.Forwarded != int64(len(want)) {
			t.Errorf("steady: stats %+v, want %d forwarded", p, len(want))
		}
	})
}
