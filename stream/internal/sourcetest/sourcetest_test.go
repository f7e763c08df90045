package sourcetest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
)

// counter is a Source that emits statuses "1", "2", ... after sleeping
// between them with sleep, until ctx ends (nil) or emit fails (its error).
type counter struct {
	sleep func(context.Context, time.Duration) error
}

func (counter) Name() string { return "counter" }

func (c counter) Run(ctx context.Context, emit func(stream.Event) error) error {
	for i := 1; ; i++ {
		if ctx.Err() != nil {
			return nil
		}
		ev := stream.Event{Kind: stream.KindStatus, Status: &stream.Status{ID: strings.Repeat("x", i)}}
		if err := emit(ev); err != nil {
			return err
		}
		if c.sleep != nil {
			if err := c.sleep(ctx, time.Duration(i)*time.Second); err != nil && ctx.Err() == nil {
				return err
			}
		}
	}
}

func TestRunStopsWithErrStop(t *testing.T) {
	t.Parallel()
	sleeps := &Sleeps{}
	events, err := Run(t, counter{sleeps.Sleep}, sleeps, func(evs []stream.Event) bool { return len(evs) == 3 })
	if !errors.Is(err, ErrStop) || len(events) != 3 || events[2].Status.ID != "xxx" {
		t.Errorf("Run = %v after %d events", err, len(events))
	}
	if got, want := sleeps.Delays(), []time.Duration{time.Second, 2 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
}

func TestSleepsLimitCancelsTheRun(t *testing.T) {
	t.Parallel()
	var hooked []int
	sleeps := &Sleeps{Limit: 2, Hook: func(n int) { hooked = append(hooked, n) }}
	events, err := Run(t, counter{sleeps.Sleep}, sleeps, nil)
	if err != nil || len(events) != 2 {
		t.Errorf("Run = %v after %d events, want nil after 2", err, len(events))
	}
	if !reflect.DeepEqual(hooked, []int{1, 2}) {
		t.Errorf("hook saw %v", hooked)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (&Sleeps{}).Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on an ended context = %v", err)
	}
}

func TestLogsRecords(t *testing.T) {
	t.Parallel()
	logs := &Logs{}
	log := logs.Logger()
	log.Debug("twitter: one", "n", 1)
	log.Warn("twitter: two")
	log.Info("other")
	recs := logs.Records(t, "twitter:")
	if len(recs) != 2 || recs[0]["level"] != "DEBUG" || recs[0]["n"] != 1.0 || recs[1]["msg"] != "twitter: two" {
		t.Errorf("records %v", recs)
	}
	if !strings.Contains(logs.String(), `"msg":"other"`) {
		t.Errorf("String() = %s", logs)
	}
}

func TestObserverEvents(t *testing.T) {
	t.Parallel()
	var o Observer
	var _ stream.ConnectionObserver = &o
	o.Connected()
	o.Disconnected("stalled")
	if got, want := o.Events(), []string{"connected", "disconnected:stalled"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestStartAndWait(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	seen := make(chan struct{})
	done := Start(ctx, counter{}, func(stream.Event) error {
		select {
		case <-seen:
		default:
			close(seen)
		}
		return nil
	})
	<-seen
	cancel()
	if err := Wait(t, done); err != nil {
		t.Errorf("Wait = %v, want nil after cancel", err)
	}
}

func TestTimers(t *testing.T) {
	t.Parallel()
	c := NewTimers()
	var fired []string
	a := c.AfterFunc(time.Minute, func() { fired = append(fired, "a") })
	if !c.Armed() || c.Arms() != 1 {
		t.Fatalf("a new timer is not armed: armed %v, arms %d", c.Armed(), c.Arms())
	}
	if !a.Stop() || a.Stop() || c.Armed() {
		t.Error("Stop does not disarm, or reports wrongly")
	}
	b := c.AfterFunc(time.Second, func() { fired = append(fired, "b") })
	if a.Reset(2*time.Minute) || !b.Stop() {
		t.Error("Reset of a stopped timer or Stop of an armed one reports wrongly")
	}
	c.Fire(t) // only a is armed
	if !c.WaitArms(3) || c.Armed() || len(fired) != 1 {
		t.Errorf("after one Fire: armed %v, fired %v", c.Armed(), fired)
	}
	b.Reset(time.Second)
	a.Reset(time.Minute) // armed after b: fired first
	if !c.FireAfter(5) || !c.FireAfter(5) || c.Armed() {
		t.Error("FireAfter did not fire both")
	}
	if want := []string{"a", "a", "b"}; !reflect.DeepEqual(fired, want) {
		t.Errorf("fired %v, want %v", fired, want)
	}
	want := []time.Duration{time.Minute, time.Second, 2 * time.Minute, time.Second, time.Minute}
	if got := c.Delays(); !reflect.DeepEqual(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
}

// parked blocks until release closes: a goroutine with a frame to find.
func parked(release <-chan struct{}) { <-release }

func TestGoroutinesAndLeakCheck(t *testing.T) {
	// Not parallel: LeakCheck counts the process's goroutines.
	check := LeakCheck(t)
	const frame = "sourcetest.parked("
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		close(started)
		parked(release)
	}()
	<-started
	deadline := time.After(FireTimeout)
	for len(Goroutines(frame)) != 1 {
		select {
		case <-deadline:
			t.Fatalf("the parked goroutine was not found")
		case <-time.After(time.Millisecond): // polling for the goroutine to park, not synchronizing
		}
	}
	close(release)
	check()
	NoGoroutines(t, frame)
}

func TestNext(t *testing.T) {
	t.Parallel()
	events := make(chan stream.Event, 1)
	events <- stream.Event{Kind: stream.KindLimit}
	if ev := Next(t, events, make(chan error)); ev.Kind != stream.KindLimit {
		t.Errorf("Next = %+v", ev)
	}
}

func TestStatusIDs(t *testing.T) {
	t.Parallel()
	evs := []stream.Event{
		{Kind: stream.KindStatus, Status: &stream.Status{ID: "1"}},
		{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: "1"}},
		{Kind: stream.KindStatus, Status: &stream.Status{ID: "2"}},
	}
	if got := StatusIDs(evs); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("StatusIDs = %q", got)
	}
	if AfterStatuses(2)(evs[:2]) || !AfterStatuses(2)(evs) {
		t.Error("AfterStatuses counts wrongly")
	}
}
