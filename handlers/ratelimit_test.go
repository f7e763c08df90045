package handlers

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/streambot/streambot/stream"
)

// fakeClock is a clock whose Sleep records the delay and advances the time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	delays []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delays = append(c.delays, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func TestLimiterWaitsWithInjectedClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rate   Rate
		events int
		delays []time.Duration
	}{
		{"burst then one a second", Rate{Every: time.Second, Burst: 3}, 6,
			[]time.Duration{time.Second, time.Second, time.Second}},
		{"twenty a minute", PerMinute(20, 1), 3, []time.Duration{3 * time.Second, 3 * time.Second}},
		{"burst below one means one", Rate{Every: time.Second}, 2, []time.Duration{time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			l := &Limiter{Rate: tc.rate.NewLimiter(), Now: clk.Now, Sleep: clk.Sleep}
			for range tc.events {
				if err := l.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(clk.delays, tc.delays) {
				t.Errorf("waits %v, want %v", clk.delays, tc.delays)
			}
		})
	}
}

func TestLimiterContext(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := &Limiter{Rate: rate.NewLimiter(rate.Every(time.Minute), 1), Now: clk.Now, Sleep: clk.Sleep}
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The next event is a minute away: a 10 s deadline fails at once,
	// without sleeping, and gives the reservation back.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := l.Wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || len(clk.delays) != 0 {
		t.Errorf("err %v after sleeping %v; want DeadlineExceeded at once", err, clk.delays)
	}
	// A cancelled context is reported before anything else.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if err := l.Wait(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// Cancellation while sleeping is returned and the token given back, so
	// the next waiter waits one interval, not two.
	sctx, scancel := context.WithCancel(context.Background())
	l.Sleep = func(ctx context.Context, d time.Duration) error { scancel(); return ctx.Err() }
	if err := l.Wait(sctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
	l.Sleep = clk.Sleep
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(clk.delays, []time.Duration{time.Minute}) {
		t.Errorf("waits after a cancelled reservation: %v, want [1m0s]", clk.delays)
	}
}

func TestNilAndUnlimitedLimiters(t *testing.T) {
	t.Parallel()
	var l *Limiter
	if err := l.Wait(context.Background()); err != nil {
		t.Errorf("nil limiter: %v", err)
	}
	if NewLimiter(Rate{}) != nil || (Rate{Every: -1}).NewLimiter() != nil {
		t.Error("an unlimited rate produced a limiter")
	}
	if got := (Rate{}).String(); got != "unlimited" {
		t.Errorf("String = %q", got)
	}
	if got := (Rate{Every: time.Second, Burst: 3}).String(); got != "1/1s burst 3" {
		t.Errorf("String = %q", got)
	}
	if PerMinute(0, 1) != (Rate{}) {
		t.Error("PerMinute(0) is not unlimited")
	}
	zero := &Limiter{Rate: rate.NewLimiter(1, 0)}
	if err := zero.Wait(context.Background()); err == nil {
		t.Error("a zero-burst limiter allowed an event")
	}
	rec := &recorder{}
	for _, mw := range []Middleware{RateLimit(nil), RateLimitWaiter(nil)} {
		if err := mw(rec).Handle(context.Background(), &stream.Status{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.got) != 2 {
		t.Errorf("passed %d statuses, want 2", len(rec.got))
	}
}

func TestRateLimitMiddleware(t *testing.T) {
	t.Parallel()
	// synctest's fake clock lets the real rate.Limiter wait without sleeping.
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		h := RateLimit(rate.NewLimiter(rate.Every(time.Second), 2))(rec)
		start := time.Now()
		for i := range 5 {
			if err := h.Handle(context.Background(), &stream.Status{ID: string(rune('a' + i))}); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("5 statuses at 1/s burst 2 took %v, want 3s", got)
		}
		if len(rec.got) != 5 {
			t.Errorf("passed %d, want 5", len(rec.got))
		}
		// A context that ends while waiting stops the status.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := h.Handle(ctx, &stream.Status{ID: "late"})
		if !errors.Is(err, context.DeadlineExceeded) || len(rec.got) != 5 {
			t.Errorf("err %v, passed %d; want DeadlineExceeded and no pass", err, len(rec.got))
		}
	})
}

func TestRateLimitBy(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	var created []string
	k := NewKeyedLimiter(func(key string) Waiter {
		created = append(created, key)
		if key == "free" {
			return nil
		}
		return &Limiter{Rate: rate.NewLimiter(rate.Every(time.Second), 1), Now: clk.Now, Sleep: clk.Sleep}
	})
	rec := &recorder{}
	h := RateLimitBy(k, func(s *stream.Status) string { return s.Author.ScreenName })(rec)
	for _, who := range []string{"a", "b", "a", "free", "free", "b"} {
		if err := h.Handle(context.Background(), &stream.Status{Author: stream.Author{ScreenName: who}}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(created, []string{"a", "b", "free"}) {
		t.Errorf("created limiters for %v", created)
	}
	// a waits 1 s for its second status; by then b's token is back.
	if !slices.Equal(clk.delays, []time.Duration{time.Second}) {
		t.Errorf("waits %v, want [1s]", clk.delays)
	}
	if len(rec.got) != 6 {
		t.Errorf("passed %d, want 6", len(rec.got))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Handle(ctx, &stream.Status{Author: stream.Author{ScreenName: "a"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
