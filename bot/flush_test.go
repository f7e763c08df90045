package bot

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// bufferingSink is a handlers.Flusher that records what reached it only on
// Flush, failing the first failFlushes flushes.
type bufferingSink struct {
	mu          sync.Mutex
	held, got   []string
	flushes     int
	failFlushes int
}

func (b *bufferingSink) Handle(_ context.Context, s *stream.Status) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held = append(b.held, s.ID)
	return nil
}

func (b *bufferingSink) Flush(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushes++
	if b.flushes <= b.failFlushes {
		return errors.New("disk full") // unclassified: retryable
	}
	b.got, b.held = append(b.got, b.held...), nil
	return nil
}

func (b *bufferingSink) ids() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// A buffering destination is acknowledged only after a Flush succeeded:
// what it held when the bot stopped is delivered again at the next start;
// a failed flush is retried and counted.
func TestBufferingDestinationIsAcknowledgedAfterFlush(t *testing.T) {
	t.Parallel()
	store, _ := openTestOutbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	down := &bufferingSink{failFlushes: 1 << 30}
	b, err := New(Config{
		Source:       blockingSource(status("1", "python"), status("2", "python"), status("3", "python")),
		Routes:       []Route{route("py", "python", "s")},
		Destinations: []Destination{{Name: "s", Handler: down}},
		Store:        store, DrainTimeout: 10 * time.Millisecond, StatsInterval: -1,
		Retry: handlers.RetryPolicy{Sleep: func(c context.Context, _ time.Duration) error {
			cancel() // the flush failed: shut down during the outage
			<-c.Done()
			return c.Err()
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats().Destinations["s"]; st.Forwarded != 0 || st.Queued == 0 || st.Retried == 0 {
		t.Errorf("after a failing flush: %+v, want nothing forwarded, statuses still queued, a retry counted", st)
	}

	up := &bufferingSink{failFlushes: 1}
	b2 := run(t, Config{
		Source:       sliceSource(status("4", "python")),
		Routes:       []Route{route("py", "python", "s")},
		Destinations: []Destination{{Name: "s", Handler: up}},
		Store:        store,
		Retry:        handlers.RetryPolicy{Sleep: func(c context.Context, _ time.Duration) error { return c.Err() }},
	})
	if got := up.ids(); !slices.Equal(got, []string{"1", "2", "3", "4"}) {
		t.Errorf("after the restart the destination got %q, want 1 2 3 4", got)
	}
	if st := b2.Stats().Destinations["s"]; st.Forwarded != 4 || st.Queued != 0 || st.Retried != 1 {
		t.Errorf("after the restart: %+v, want 4 forwarded, none queued, the failed flush retried once", st)
	}
}
