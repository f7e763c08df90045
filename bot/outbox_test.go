package bot

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

func openTestOutbox(t testing.TB) (*Outbox, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.db")
	o, err := OpenOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o, path
}

// whenCommitted returns a channel closed after the first commit (counters
// updated) after which cond holds. Call it before Run.
func whenCommitted(b *Bot, cond func() bool) <-chan struct{} {
	c := make(chan struct{})
	var once sync.Once
	b.onCommit = func() {
		if cond() {
			once.Do(func() { close(c) })
		}
	}
	return c
}

func pythonStatuses(n int) ([]stream.Event, []string) {
	var evs []stream.Event
	var ids []string
	for i := range n {
		id := strconv.Itoa(i)
		evs = append(evs, status(id, "python "+id))
		ids = append(ids, id)
	}
	return evs, ids
}

// TestOutageGrowsTheDiskQueueNotMemory keeps a destination down until
// every status is queued on disk, then brings it back.
func TestOutageGrowsTheDiskQueueNotMemory(t *testing.T) {
	t.Parallel()
	const n = 500
	o, _ := openTestOutbox(t)
	up := make(chan struct{})
	var isUp bool // read and written by the delivery goroutine only, after up
	s := &sink{}
	h := handlers.HandlerFunc(func(ctx context.Context, st *stream.Status) error {
		if !isUp {
			return handlers.RetryAfter(errors.New("telegram: HTTP 502"), 0)
		}
		return s.Handle(ctx, st)
	})
	evs, want := pythonStatuses(n)
	b, err := New(Config{
		Source:       sliceSource(evs...),
		Routes:       []Route{route("py", "python", "tg")},
		Destinations: []Destination{{Name: "tg", Handler: h}},
		Store:        o,
		Tail:         8,
		Retry: handlers.RetryPolicy{Sleep: func(ctx context.Context, _ time.Duration) error {
			select { // the outage lasts until the test ends it
			case <-up:
				isUp = true
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	reached := whenCommitted(b, func() bool { return o.Stats().Records >= n })
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }()
	<-reached
	st := b.Stats()
	if st.Queued != n || st.Forwarded != 0 {
		t.Errorf("during the outage: %+v, want all %d queued", st, n)
	}
	close(up)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := s.ids(); !slices.Equal(got, want) {
		t.Errorf("after the outage %d statuses delivered, want all %d in order", len(got), n)
	}
	st = b.Stats()
	if st.Queued != 0 || st.Forwarded != n || st.Retried != 1 || st.Dropped != 0 {
		t.Errorf("after the outage: %+v", st)
	}
	// With a tail of 8 the destination read the backlog back from disk.
	os := o.Stats()
	if os.Reads == 0 || os.Records != n {
		t.Errorf("outbox stats %+v, want %d records written and some read back", os, n)
	}
	t.Logf("outbox: %+v", os)
}

func TestQueueCapDropsOldestDuringOutage(t *testing.T) {
	t.Parallel()
	const n, limit = 100, 10
	o, _ := openTestOutbox(t)
	up := make(chan struct{})
	var isUp bool
	entered := make(chan struct{})
	var once sync.Once
	s := &sink{}
	h := handlers.HandlerFunc(func(ctx context.Context, st *stream.Status) error {
		if !isUp {
			once.Do(func() { close(entered) })
			return errors.New("webhook: connection refused") // unclassified: retryable
		}
		return s.Handle(ctx, st)
	})
	evs, _ := pythonStatuses(n)
	src := funcSource(func(ctx context.Context, emit func(stream.Event) error) error {
		<-entered // wait only for the first status's first attempt: it is then the head being retried
		for _, ev := range evs[1:] {
			if err := emit(ev); err != nil {
				return err
			}
		}
		return nil
	})
	first := sliceSource(evs[0])
	b, err := New(Config{
		Source: funcSource(func(ctx context.Context, emit func(stream.Event) error) error {
			if err := first.Run(ctx, emit); err != nil {
				return err
			}
			return src.Run(ctx, emit)
		}),
		Routes:       []Route{route("py", "python", "w")},
		Destinations: []Destination{{Name: "w", Handler: h, QueueCap: limit}},
		Store:        o,
		Retry: handlers.RetryPolicy{Sleep: func(ctx context.Context, _ time.Duration) error {
			select {
			case <-up:
				isUp = true
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	reached := whenCommitted(b, func() bool { return o.Stats().Records >= n })
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }()
	<-reached
	if st := b.Stats(); st.Queued != limit+1 || st.Dropped != n-limit-1 {
		t.Errorf("during the outage: %+v, want the head plus %d queued", st, limit)
	}
	close(up)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"0"} // the head being retried is never dropped
	for i := n - limit; i < n; i++ {
		want = append(want, strconv.Itoa(i))
	}
	if got := s.ids(); !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
}

// TestGroupCommit counts transactions: many statuses, far fewer commits.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	const n = 2000
	o, _ := openTestOutbox(t)
	evs, want := pythonStatuses(n)
	s := &sink{}
	b := run(t, Config{
		Source:       sliceSource(evs...),
		Routes:       []Route{route("py", "python", "s")},
		Destinations: []Destination{{Name: "s", Handler: s}},
		Store:        o,
	})
	if got := s.ids(); !slices.Equal(got, want) {
		t.Fatalf("delivered %d statuses, want %d in order", len(got), n)
	}
	st := o.Stats()
	// Appends and acks each need at most n/AckWindow rounds when nothing
	// is batched by time; in practice far fewer.
	if st.Commits >= n/4 || st.Records != n {
		t.Errorf("%d statuses took %d commits (%+v), want far fewer", n, st.Commits, st)
	}
	if q := b.Stats().Queued; q != 0 {
		t.Errorf("queued = %d", q)
	}
	t.Logf("%d statuses: %d transactions", n, st.Commits)
}

// BenchmarkOutbox sends statuses through a Bot with an Outbox on disk to a
// destination that accepts at once; it reports transactions per status.
func BenchmarkOutbox(b *testing.B) {
	o, _ := openTestOutbox(b)
	evs, _ := pythonStatuses(b.N)
	bot, err := New(Config{
		Source:        sliceSource(evs...),
		Routes:        []Route{route("py", "python", "s")},
		Destinations:  []Destination{{Name: "s", Handler: handlers.HandlerFunc(func(context.Context, *stream.Status) error { return nil })}},
		Store:         o,
		StatsInterval: -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := bot.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st := o.Stats()
	b.ReportMetric(float64(st.Commits)/float64(b.N), "tx/status")
}
