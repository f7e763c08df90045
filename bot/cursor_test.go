package bot

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambot/streambot/bot/journal"
	"github.com/streambot/streambot/stream"
)

// resumable emits evs and records the cursors the bot hands back.
type resumable struct {
	evs []stream.Event

	mu        sync.Mutex
	resumed   []string // Resume calls
	committed []string // Committed calls
	ran       bool     // Run was called; Resume must come before it
}

func (r *resumable) Name() string { return "jet" }

func (r *resumable) Resume(c string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ran {
		panic("Resume after Run")
	}
	r.resumed = append(r.resumed, c)
}

func (r *resumable) Committed(c string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.committed = append(r.committed, c)
}

func (r *resumable) Run(ctx context.Context, emit func(stream.Event) error) error {
	r.mu.Lock()
	r.ran = true
	r.mu.Unlock()
	return sliceSource(r.evs...).Run(ctx, emit)
}

// cursorEvents returns n events with cursors "1".."n": every fifth status
// mentions python, every seventh event is a delete. It returns the
// cursors of the python statuses.
func cursorEvents(n int) ([]stream.Event, map[string]int) {
	var evs []stream.Event
	python := map[string]int{}
	for i := 1; i <= n; i++ {
		var ev stream.Event
		switch {
		case i%7 == 0:
			ev = stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: "nope"}}
		case i%5 == 0:
			ev = status(strconv.Itoa(i), "python "+strconv.Itoa(i))
			python[strconv.Itoa(i)] = i
		default:
			ev = status(strconv.Itoa(i), "other")
		}
		ev.Cursor = strconv.Itoa(i)
		evs = append(evs, ev)
	}
	return evs, python
}

// checkingStore fails the test when a cursor is committed before a status
// that came earlier in the stream.
type checkingStore struct {
	Store
	t      *testing.T
	python map[string]int // status ID -> its cursor
	mu     sync.Mutex
	stored map[string]bool
}

func (c *checkingStore) Commit(b *journal.Commit) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b.IDs != nil {
		for _, id := range b.IDs.Seen {
			c.stored[id] = true
		}
	}
	if b.Cursor != nil {
		at, _ := strconv.Atoi(b.Cursor.Position)
		for id, cur := range c.python {
			if cur <= at && !c.stored[id] {
				c.t.Errorf("cursor %d committed before status %s (cursor %d) was stored", at, id, cur)
			}
		}
	}
	return c.Store.Commit(b)
}

func TestCursorIsCommittedAfterWhatPrecedesItAndResumed(t *testing.T) {
	t.Parallel()
	evs, python := cursorEvents(500)
	o, _ := openTestOutbox(t)
	store := &checkingStore{Store: o, t: t, python: python, stored: map[string]bool{}}
	src := &resumable{evs: evs}
	out := &sink{}
	// One status per commit and a clock that jumps past cursorInterval on
	// every reading: a cursor that overtook a status would be written alone.
	var clock atomic.Int64
	b := run(t, Config{
		Source: src, Store: store, Workers: 4, StatsInterval: -1, CommitBatch: 1, CommitDelay: -1,
		Now:          func() time.Time { return time.Unix(clock.Add(2), 0) },
		Routes:       []Route{route("python", "python", "out")},
		Destinations: []Destination{{Name: "out", Handler: out}},
	})
	if got := b.Stats().Forwarded; got != int64(len(python)) {
		t.Fatalf("forwarded %d, want %d", got, len(python))
	}
	src.mu.Lock()
	committed := slices.Clone(src.committed)
	src.mu.Unlock()
	if len(committed) == 0 || committed[len(committed)-1] != "500" {
		t.Fatalf("Committed calls end with %q, want the last cursor 500", committed)
	}
	if !slices.IsSortedFunc(committed, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y }) {
		t.Errorf("Committed went backwards: %q", committed)
	}
	if len(src.resumed) != 0 {
		t.Errorf("Resume(%q) on a fresh store", src.resumed)
	}

	// A second bot on the same store resumes from the committed cursor.
	again := &resumable{}
	run(t, Config{
		Source: again, Store: o, StatsInterval: -1,
		Routes:       []Route{route("python", "python", "out")},
		Destinations: []Destination{{Name: "out", Handler: &sink{}}},
	})
	if !slices.Equal(again.resumed, []string{"500"}) {
		t.Errorf("second run: Resume calls %q, want [500]", again.resumed)
	}
}

// A stream that never matches still advances its cursor, but a cursor on
// its own is written at most once per cursorInterval.
func TestCursorOfUnmatchedStreamIsThrottled(t *testing.T) {
	t.Parallel()
	var evs []stream.Event
	for i := 1; i <= 200; i++ {
		ev := status(strconv.Itoa(i), "nothing to see")
		ev.Cursor = strconv.Itoa(i)
		evs = append(evs, ev)
	}
	src := &resumable{evs: evs}
	o, _ := openTestOutbox(t)
	store := &countingStore{Store: o}
	now := time.Unix(1000, 0) // the clock never moves: only the first and the last commit write the cursor
	run(t, Config{
		Source: src, Store: store, StatsInterval: -1, Now: func() time.Time { return now },
		Routes:       []Route{route("python", "python", "out")},
		Destinations: []Destination{{Name: "out", Handler: &sink{}}},
	})
	if got := store.cursor; got != "200" {
		t.Errorf("stored cursor %q, want 200", got)
	}
	if n := len(src.committed); n < 1 || n > 2 {
		t.Errorf("%d cursor commits (%q), want 1 or 2 with a frozen clock", n, src.committed)
	}
	// The first commit also records the destination's consumer.
	if store.commits > 2 {
		t.Errorf("%d commits for a stream that never matched, want at most 2", store.commits)
	}
}

// countingStore counts the commits that reach a Store and keeps the last
// cursor written.
type countingStore struct {
	Store
	mu      sync.Mutex
	commits int
	cursor  string
}

func (c *countingStore) Commit(b *journal.Commit) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commits++
	if b.Cursor != nil {
		c.cursor = b.Cursor.Position
	}
	return c.Store.Commit(b)
}

// notifyingResumable is a resumable source that emits its first event,
// waits for next to close, emits the rest, then waits for the end of ctx.
// It reports each Committed cursor on got.
type notifyingResumable struct {
	resumable
	got  chan string
	next chan struct{}
}

func (r *notifyingResumable) Committed(c string) { r.got <- c }

func (r *notifyingResumable) Run(ctx context.Context, emit func(stream.Event) error) error {
	if err := emit(r.evs[0]); err != nil {
		return err
	}
	<-r.next
	if err := sliceSource(r.evs[1:]...).Run(ctx, emit); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// The newest cursor of a stream that went quiet is written once its
// interval has passed, without waiting for another event or for shutdown.
func TestCursorOfQuietStreamIsFlushed(t *testing.T) {
	t.Parallel()
	var evs []stream.Event
	for i := 1; i <= 3; i++ {
		ev := status(strconv.Itoa(i), "nothing to see")
		ev.Cursor = strconv.Itoa(i)
		evs = append(evs, ev)
	}
	src := &notifyingResumable{resumable: resumable{evs: evs}, got: make(chan string, 16), next: make(chan struct{})}
	b, err := New(Config{
		Source: src, StatsInterval: -1,
		Routes:       []Route{route("python", "python", "out")},
		Destinations: []Destination{{Name: "out", Handler: &sink{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	bound := time.After(10 * journal.CursorInterval) // only a bound on a failure
	select {
	case c := <-src.got: // the first cursor is written at once
		if c != "1" {
			t.Fatalf("first cursor committed %q, want 1", c)
		}
	case <-bound:
		t.Fatal("the first cursor was not committed")
	}
	close(src.next) // the next ones come within the interval: they wait for it
	for c := ""; c != "3"; {
		select {
		case c = <-src.got:
		case <-bound:
			t.Fatalf("the last cursor of a quiet stream was not committed; last committed %q", c)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
