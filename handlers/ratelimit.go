package handlers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/streambot/streambot/stream"
)

// Waiter blocks until one more event is allowed or ctx ends, in which case it
// returns an error wrapping ctx's error. *rate.Limiter and *[Limiter] are
// Waiters.
type Waiter interface {
	// Wait blocks until one more event is allowed (nil) or ctx ends (an
	// error wrapping ctx's error).
	Wait(ctx context.Context) error
}

// Rate is a token-bucket rate: on average one event every Every, with bursts
// of up to Burst events. A zero or negative Every means no limit.
type Rate struct {
	// Every is the average interval between events; <= 0 means unlimited.
	Every time.Duration
	// Burst is how many events may pass at once; values below 1 mean 1.
	Burst int
}

// PerMinute returns the Rate of n events a minute with bursts of burst.
func PerMinute(n, burst int) Rate {
	if n <= 0 {
		return Rate{}
	}
	return Rate{Every: time.Minute / time.Duration(n), Burst: burst}
}

// Unlimited reports whether r lets everything through.
func (r Rate) Unlimited() bool { return r.Every <= 0 }

// NewLimiter returns a rate.Limiter for r, or nil when r is unlimited.
func (r Rate) NewLimiter() *rate.Limiter {
	if r.Unlimited() {
		return nil
	}
	return rate.NewLimiter(rate.Every(r.Every), max(r.Burst, 1))
}

// String formats r like "1/1s burst 3".
func (r Rate) String() string {
	if r.Unlimited() {
		return "unlimited"
	}
	return fmt.Sprintf("1/%v burst %d", r.Every, max(r.Burst, 1))
}

// Limiter is a [Waiter] over a rate.Limiter whose clock can be injected, so
// tests can observe the waits without sleeping. A nil *Limiter, or one with a
// nil Rate, never waits.
type Limiter struct {
	// Rate is the token bucket; nil means no limit.
	Rate *rate.Limiter
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends; nil means [SleepContext].
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewLimiter returns a Limiter for r with the real clock, or nil when r is
// unlimited.
func NewLimiter(r Rate) *Limiter {
	l := r.NewLimiter()
	if l == nil {
		return nil
	}
	return &Limiter{Rate: l}
}

// Wait blocks until the limiter allows one event. It returns at once with an
// error wrapping context.DeadlineExceeded when the wait would outlast ctx's
// deadline, and with ctx's error when ctx ends while waiting; in both cases
// the reservation is given back.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ratelimit: %w", err)
	}
	if l == nil || l.Rate == nil {
		return nil
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	sleep := l.Sleep
	if sleep == nil {
		sleep = SleepContext
	}
	t := now()
	r := l.Rate.ReserveN(t, 1)
	if !r.OK() {
		return fmt.Errorf("ratelimit: a limit of %v with burst %d never allows an event", l.Rate.Limit(), l.Rate.Burst())
	}
	d := r.DelayFrom(t)
	if d <= 0 {
		return nil
	}
	// Deadlines are on the real clock, whatever clock the limiter uses.
	if dl, ok := ctx.Deadline(); ok && d > time.Until(dl) {
		r.CancelAt(t)
		return fmt.Errorf("ratelimit: waiting %v would outlast the deadline: %w", d, context.DeadlineExceeded)
	}
	if err := sleep(ctx, d); err != nil {
		r.CancelAt(now())
		return fmt.Errorf("ratelimit: %w", err)
	}
	return nil
}

// RateLimit returns middleware that waits for l's permission before passing
// each status on; a nil l means no limit. The wait ends early when ctx ends,
// and the status is then not passed on: the error wraps ctx's error.
func RateLimit(l *rate.Limiter) Middleware {
	if l == nil {
		return func(next Handler) Handler { return next }
	}
	return RateLimitWaiter(&Limiter{Rate: l})
}

// RateLimitWaiter is like [RateLimit] with any [Waiter], for example a
// [Limiter] with an injected clock. A nil w means no limit.
func RateLimitWaiter(w Waiter) Middleware {
	if w == nil {
		return func(next Handler) Handler { return next }
	}
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, s *stream.Status) error {
			if err := w.Wait(ctx); err != nil {
				return err
			}
			return next.Handle(ctx, s)
		})
	}
}

// KeyedLimiter keeps one Waiter per key, created on first use, for limits
// that apply per chat, per author or per route. It is safe for concurrent
// use. Keys are never forgotten, so use it with a bounded set of keys.
type KeyedLimiter struct {
	newWaiter func(key string) Waiter
	mu        sync.Mutex
	waiters   map[string]Waiter
}

// NewKeyedLimiter returns a KeyedLimiter that creates the Waiter of a new key
// with newWaiter; newWaiter may return nil for a key that has no limit.
func NewKeyedLimiter(newWaiter func(key string) Waiter) *KeyedLimiter {
	return &KeyedLimiter{newWaiter: newWaiter, waiters: map[string]Waiter{}}
}

// Wait blocks until key's Waiter allows one more event; see [Waiter].
func (k *KeyedLimiter) Wait(ctx context.Context, key string) error {
	k.mu.Lock()
	w, ok := k.waiters[key]
	if !ok {
		w = k.newWaiter(key)
		k.waiters[key] = w
	}
	k.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.Wait(ctx)
}

// RateLimitBy returns middleware that waits, before passing each status on,
// for the permission of the Waiter of the status's key.
func RateLimitBy(k *KeyedLimiter, key func(*stream.Status) string) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, s *stream.Status) error {
			if err := k.Wait(ctx, key(s)); err != nil {
				return err
			}
			return next.Handle(ctx, s)
		})
	}
}
