package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/track"
)

// funcSource adapts a function to stream.Source.
type funcSource func(ctx context.Context, emit func(stream.Event) error) error

func (funcSource) Name() string { return "test" }
func (f funcSource) Run(ctx context.Context, emit func(stream.Event) error) error {
	return f(ctx, emit)
}

// sliceSource emits evs, then returns.
func sliceSource(evs ...stream.Event) stream.Source {
	return funcSource(func(_ context.Context, emit func(stream.Event) error) error {
		for _, ev := range evs {
			if err := emit(ev); err != nil {
				return err
			}
		}
		return nil
	})
}

func status(id, text string) stream.Event {
	return stream.StatusEvent(&stream.Status{ID: id, Text: text, Source: "test"})
}

// sink records delivered statuses; safe for concurrent use.
type sink struct {
	mu  sync.Mutex
	got []*stream.Status
	hit chan string // optional: receives each delivered ID
}

func (s *sink) Handle(_ context.Context, st *stream.Status) error {
	s.mu.Lock()
	s.got = append(s.got, st)
	s.mu.Unlock()
	if s.hit != nil {
		s.hit <- st.ID
	}
	return nil
}

func (s *sink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, st := range s.got {
		ids = append(ids, st.ID)
	}
	return ids
}

func route(name, expr string, dests ...string) Route {
	return Route{Name: name, Filter: handlers.Match(track.MustCompile(expr)), Destinations: dests}
}

func run(t *testing.T, cfg Config) *Bot {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return b
}

func TestOrderPreservedPerDestinationWithManyWorkers(t *testing.T) {
	t.Parallel()
	var evs []stream.Event
	var want []string
	for i := range 2000 {
		text := "noise"
		if i%3 != 0 {
			text = "python " + strconv.Itoa(i)
			want = append(want, strconv.Itoa(i))
		}
		evs = append(evs, status(strconv.Itoa(i), text))
	}
	a, c := &sink{}, &sink{}
	b := run(t, Config{
		Source:       sliceSource(evs...),
		Routes:       []Route{route("py", "python", "a", "c")},
		Destinations: []Destination{{Name: "a", Handler: a}, {Name: "c", Handler: c}},
		Workers:      8,
		QueueCap:     len(evs),
	})
	for name, s := range map[string]*sink{"a": a, "c": c} {
		if got := s.ids(); !slices.Equal(got, want) {
			t.Errorf("destination %s: %d statuses, order differs from stream order", name, len(got))
		}
	}
	st := b.Stats()
	if st.Received != 2000 || st.Matched != int64(len(want)) || st.Forwarded != 2*int64(len(want)) || st.Dropped != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRoutesReachEachDestinationOnce(t *testing.T) {
	t.Parallel()
	both, goOnly, pyOnly := &sink{}, &sink{}, &sink{}
	run(t, Config{
		Source: sliceSource(
			status("1", "python and go"),
			status("2", "just go"),
			status("3", "just python"),
			status("4", "neither"),
		),
		Routes: []Route{
			route("py", "python", "both", "py"),
			route("go", "go", "both", "go"),
		},
		Destinations: []Destination{{Name: "both", Handler: both}, {Name: "go", Handler: goOnly}, {Name: "py", Handler: pyOnly}},
	})
	if got := both.ids(); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("both = %q, want each status once", got)
	}
	if got := goOnly.ids(); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("go = %q", got)
	}
	if got := pyOnly.ids(); !slices.Equal(got, []string{"1", "3"}) {
		t.Errorf("py = %q", got)
	}
	if r := both.got[0].Routes; !slices.Equal(r, []string{"py", "go"}) {
		t.Errorf("Routes = %q, want both routes that took it", r)
	}
	if m := both.got[0].Matched; !slices.Equal(m, []string{"python", "go"}) {
		t.Errorf("Matched = %q, want the phrases of both routes", m)
	}
	if r := pyOnly.got[0].Routes; !slices.Equal(r, []string{"py"}) {
		t.Errorf("py sees Routes = %q, want only the route that leads to it", r)
	}
}

func TestRouteWithoutFilterIsNamedInRoutes(t *testing.T) {
	t.Parallel()
	s := &sink{}
	run(t, Config{
		Source:       sliceSource(status("1", "x")),
		Routes:       []Route{{Name: "everything", Destinations: []string{"s"}}},
		Destinations: []Destination{{Name: "s", Handler: s}},
	})
	if len(s.got) != 1 || !slices.Equal(s.got[0].Routes, []string{"everything"}) || len(s.got[0].Matched) != 0 {
		t.Errorf("got %+v", s.got)
	}
}

func TestSlowDestinationDoesNotBlockAnother(t *testing.T) {
	t.Parallel()
	const n = 50
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	slow := &sink{}
	slowHandler := handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
		once.Do(func() { close(entered); <-release })
		return slow.Handle(ctx, s)
	})
	fast := &sink{hit: make(chan string, n)}
	src := funcSource(func(ctx context.Context, emit func(stream.Event) error) error {
		if err := emit(status("0", "python")); err != nil {
			return err
		}
		<-entered // the slow destination now holds status 0
		for i := 1; i < n; i++ {
			if err := emit(status(strconv.Itoa(i), "python")); err != nil {
				return err
			}
		}
		// Everything reached the fast destination while the slow one was stuck.
		for range n {
			<-fast.hit
		}
		close(release)
		return nil
	})
	b := run(t, Config{
		Source:       src,
		Routes:       []Route{route("py", "python", "slow", "fast")},
		Destinations: []Destination{{Name: "slow", Handler: slowHandler, QueueCap: 2}, {Name: "fast", Handler: fast}},
	})
	if got := fast.ids(); len(got) != n {
		t.Errorf("fast destination got %d statuses, want %d", len(got), n)
	}
	// The slow one kept the status it was handling plus the newest two: the
	// cap drops the oldest waiting statuses.
	if got := slow.ids(); !slices.Equal(got, []string{"0", strconv.Itoa(n - 2), strconv.Itoa(n - 1)}) {
		t.Errorf("slow destination got %q, want [0 %d %d]", got, n-2, n-1)
	}
	st := b.Stats().Destinations
	if st["slow"].Dropped != n-3 || st["slow"].Forwarded != 3 || st["fast"].Dropped != 0 {
		t.Errorf("per-destination stats = %+v", st)
	}
}

func TestDeleteCancelsUndeliveredStatus(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	slow := &sink{}
	slowHandler := handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
		once.Do(func() { close(entered); <-release })
		return slow.Handle(ctx, s)
	})
	marker := &sink{hit: make(chan string, 1)}
	src := funcSource(func(ctx context.Context, emit func(stream.Event) error) error {
		emit(status("1", "python first"))
		<-entered
		emit(status("2", "python to be deleted"))
		emit(stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: "2"}})
		emit(status("3", "marker"))
		<-marker.hit // the dispatcher has processed the delete
		close(release)
		return nil
	})
	b := run(t, Config{
		Source: src,
		Routes: []Route{route("py", "python", "slow"), route("mark", "marker", "marker")},
		Destinations: []Destination{
			{Name: "slow", Handler: slowHandler}, {Name: "marker", Handler: marker},
		},
	})
	if got := slow.ids(); !slices.Equal(got, []string{"1"}) {
		t.Errorf("slow got %q, want only 1", got)
	}
	if st := b.Stats(); st.Cancelled != 1 || st.Deletes != 1 {
		t.Errorf("cancelled %d deletes %d, want 1 and 1", st.Cancelled, st.Deletes)
	}
}

func TestDuplicatesAndControlEventsAreCounted(t *testing.T) {
	t.Parallel()
	s := &sink{}
	b := run(t, Config{
		Source: sliceSource(
			status("1", "python"),
			stream.Event{Kind: stream.KindLimit, Limit: stream.Limit{Track: 42}},
			status("1", "python"), // re-sent after a reconnect
			stream.Event{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{Code: 7}},
			stream.Event{Kind: stream.KindWarning, Warning: stream.Warning{Code: "FALLING_BEHIND"}},
			status("2", "python"),
		),
		Routes:       []Route{route("py", "python", "s")},
		Destinations: []Destination{{Name: "s", Handler: s}},
		DedupeWindow: 10,
	})
	if got := s.ids(); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("delivered %q", got)
	}
	st := b.Stats()
	if st.Duplicates != 1 || st.Received != 2 || st.Limits != 1 || st.Withheld != 42 || st.Disconnects != 1 || st.Warnings != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFailingDestinationIsCountedAndOthersContinue(t *testing.T) {
	t.Parallel()
	ok := &sink{}
	bad := handlers.HandlerFunc(func(context.Context, *stream.Status) error {
		return handlers.Permanent(errors.New("refused"))
	})
	b := run(t, Config{
		Source:       sliceSource(status("1", "python"), status("2", "python")),
		Routes:       []Route{route("py", "python", "bad", "ok")},
		Destinations: []Destination{{Name: "bad", Handler: bad}, {Name: "ok", Handler: ok}},
	})
	if got := ok.ids(); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("ok got %q", got)
	}
	if st := b.Stats().Destinations["bad"]; st.Failed != 2 || st.Forwarded != 0 {
		t.Errorf("bad stats = %+v", st)
	}
}

// blockingSource emits evs and then waits for the end of ctx, as a live stream does.
func blockingSource(evs ...stream.Event) stream.Source {
	return funcSource(func(ctx context.Context, emit func(stream.Event) error) error {
		for _, ev := range evs {
			if err := emit(ev); err != nil {
				return err
			}
		}
		<-ctx.Done()
		return nil
	})
}

func TestShutdownDrainsQueuedStatuses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	s := &sink{}
	h := handlers.HandlerFunc(func(c context.Context, st *stream.Status) error {
		once.Do(func() { close(entered); <-release })
		return s.Handle(c, st)
	})
	b, err := New(Config{
		Source:       blockingSource(status("1", "python"), status("2", "python"), status("3", "python")),
		Routes:       []Route{route("py", "python", "s")},
		Destinations: []Destination{{Name: "s", Handler: h}},
		DrainTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-entered
	cancel() // Ctrl-C while 1 is in the sink and more may be queued
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if got := s.ids(); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("delivered %q, want all three drained", got)
	}
}

// With a durable store the premise changed: what the drain cannot deliver
// stays queued for the next start instead of being dropped.
func TestShutdownDrainTimeoutKeepsTheRestQueued(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	entered := make(chan struct{})
	var once sync.Once
	h := handlers.HandlerFunc(func(c context.Context, st *stream.Status) error {
		once.Do(func() { close(entered) })
		<-c.Done() // a destination that never answers
		return c.Err()
	})
	store, _ := openTestOutbox(t)
	b, err := New(Config{
		Source:       blockingSource(status("1", "python"), status("2", "python"), status("3", "python")),
		Routes:       []Route{route("py", "python", "s")},
		Destinations: []Destination{{Name: "s", Handler: h}},
		DrainTimeout: 10 * time.Millisecond,
		Store:        store,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-entered
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	st := b.Stats().Destinations["s"]
	if st.Failed+st.Dropped+st.Forwarded != 0 || st.Queued != 3 {
		t.Errorf("stats = %+v, want all 3 still queued", st)
	}

	// The next start delivers them, in order, and drops the re-sent ones.
	s := &sink{}
	b2 := run(t, Config{
		Source:       sliceSource(status("2", "python"), status("4", "python")),
		Routes:       []Route{route("py", "python", "s")},
		Destinations: []Destination{{Name: "s", Handler: s}},
		Store:        store,
	})
	if got := s.ids(); !slices.Equal(got, []string{"1", "2", "3", "4"}) {
		t.Errorf("after restart delivered %q, want [1 2 3 4]", got)
	}
	if st := b2.Stats(); st.Duplicates != 1 || st.Queued != 0 {
		t.Errorf("after restart stats = %+v, want 1 duplicate and an empty queue", st)
	}
}

func TestRetryableFailureKeepsTheHeadAndOrder(t *testing.T) {
	t.Parallel()
	s := &sink{}
	fails := 2
	h := handlers.HandlerFunc(func(ctx context.Context, st *stream.Status) error {
		if st.ID == "1" && fails > 0 { // only the delivery goroutine calls h
			fails--
			return handlers.RetryAfter(errors.New("telegram: HTTP 429"), 7*time.Second)
		}
		return s.Handle(ctx, st)
	})
	var delays []time.Duration
	other := &sink{}
	b := run(t, Config{
		Source:       sliceSource(status("1", "python"), status("2", "python"), status("3", "python")),
		Routes:       []Route{route("py", "python", "s", "other")},
		Destinations: []Destination{{Name: "s", Handler: h}, {Name: "other", Handler: other}},
		Retry: handlers.RetryPolicy{MaxAttempts: 1, Sleep: func(ctx context.Context, d time.Duration) error {
			delays = append(delays, d)
			return ctx.Err()
		}},
	})
	if got := s.ids(); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("delivered %q, want [1 2 3]: a retried status keeps its place", got)
	}
	if got := other.ids(); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("other destination got %q", got)
	}
	if !slices.Equal(delays, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Errorf("delays = %v, want retry_after twice (MaxAttempts is ignored)", delays)
	}
	if st := b.Stats().Destinations["s"]; st.Retried != 2 || st.Forwarded != 3 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPermanentSourceErrorIsReturned(t *testing.T) {
	t.Parallel()
	s := &sink{}
	perm := &stream.PermanentError{Err: errors.New("twitter: HTTP 401")}
	src := funcSource(func(ctx context.Context, emit func(stream.Event) error) error {
		emit(status("1", "python"))
		return perm
	})
	b, err := New(Config{Source: src, Routes: []Route{route("py", "python", "s")}, Destinations: []Destination{{Name: "s", Handler: s}}})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background())
	if !errors.Is(err, stream.ErrPermanent) {
		t.Fatalf("Run = %v, want a permanent error", err)
	}
	if got := s.ids(); !slices.Equal(got, []string{"1"}) {
		t.Errorf("in-flight status not drained: %q", got)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	s := &sink{}
	src := sliceSource()
	good := func() Config {
		return Config{Source: src, Routes: []Route{route("r", "x", "d")}, Destinations: []Destination{{Name: "d", Handler: s}}}
	}
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{"no source", func(c *Config) { c.Source = nil }},
		{"no routes", func(c *Config) { c.Routes = nil }},
		{"unknown destination", func(c *Config) { c.Routes[0].Destinations = []string{"nope"} }},
		{"route without destinations", func(c *Config) { c.Routes[0].Destinations = nil }},
		{"duplicate destination", func(c *Config) { c.Destinations = append(c.Destinations, c.Destinations[0]) }},
		{"destination without handler", func(c *Config) { c.Destinations[0].Handler = nil }},
		{"destination without name", func(c *Config) { c.Destinations[0].Name = "" }},
	}
	for _, tc := range tests {
		cfg := good()
		tc.modify(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", tc.name)
		}
	}
	if _, err := New(good()); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestIDSetForgetsOldest(t *testing.T) {
	t.Parallel()
	s := newIDSet(3)
	for i := range 5 {
		if !s.add(fmt.Sprint(i)) {
			t.Fatalf("add(%d) reported a duplicate", i)
		}
	}
	if s.add("4") {
		t.Error("4 is remembered, add must report false")
	}
	if s.contains("0") || s.contains("1") || !s.contains("2") {
		t.Error("the set must keep exactly the 3 most recent IDs")
	}
}
