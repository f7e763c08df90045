package handlers

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/streambot/streambot/stream"
)

// Defaults for the zero fields of RetryPolicy.
const (
	DefaultRetryInitial    = time.Second
	DefaultRetryMax        = time.Minute
	DefaultRetryMultiplier = 2.0
	DefaultRetryJitter     = 0.2
)

// RetryPolicy says how often and how patiently a failed delivery is tried
// again. The zero value retries with the defaults until the context ends.
//
// The delay before attempt n+1 is Initial·Multiplier^(n-1), capped at Max,
// then spread by ±Jitter (a fraction of the delay) and capped at Max again —
// unless the error carries a RetryAfter (see [RetryAfter]): then the delay is
// exactly that, neither capped nor jittered, because the destination said so.
type RetryPolicy struct {
	// Initial is the delay after the first failure; 0 means
	// DefaultRetryInitial.
	Initial time.Duration
	// Max caps the backoff delay; 0 means DefaultRetryMax. It does not cap a
	// destination's RetryAfter.
	Max time.Duration
	// Multiplier grows the delay after each failure; 0 (or anything below 1)
	// means DefaultRetryMultiplier. 1 gives a constant delay.
	Multiplier float64
	// Jitter spreads each backoff delay by up to ±Jitter of itself; 0 means
	// DefaultRetryJitter, a negative value disables jitter.
	Jitter float64
	// MaxAttempts bounds the attempts, the first included; 0 means no bound:
	// retry until the context ends. 1 disables retries.
	MaxAttempts int
	// Sleep waits d or until ctx ends, returning ctx's error in that case;
	// nil means [SleepContext]. Tests inject one that records delays.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for the jitter; nil means math/rand/v2.
	Rand func() float64
	// OnRetry, when set, is called after a failed attempt that will be
	// retried, with the error, the number of the attempt that failed
	// (starting at 1) and the delay before the next one. It runs on the
	// retrying goroutine; use it for logs and metrics.
	OnRetry func(err error, attempt int, delay time.Duration)
}

// Retry returns middleware that hands the same status to next again while
// next fails with a retryable error (see [IsRetryable]), following p. See
// [RetryPolicy.Do] for what it returns.
func Retry(p RetryPolicy) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, s *stream.Status) error {
			return p.Do(ctx, func(ctx context.Context) error { return next.Handle(ctx, s) })
		})
	}
}

// Do calls op until it succeeds, fails with an error that is not retryable,
// MaxAttempts is reached or ctx ends. It checks ctx before each attempt and
// waits between attempts as the policy says.
//
// It returns nil on success; the error of the last attempt, unchanged (its
// classification intact), when that error is not retryable or no attempts
// are left; and, when ctx ended first, ctx's error — wrapped together with
// the last attempt's error if there was one.
func (p RetryPolicy) Do(ctx context.Context, op func(ctx context.Context) error) error {
	sleep := p.Sleep
	if sleep == nil {
		sleep = SleepContext
	}
	var last error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return stopped(last, err)
		}
		last = op(ctx)
		if last == nil || !IsRetryable(last) {
			return last
		}
		if p.MaxAttempts > 0 && attempt >= p.MaxAttempts {
			return last
		}
		delay, ok := RetryDelay(last)
		if !ok {
			delay = p.Backoff(attempt)
		}
		if p.OnRetry != nil {
			p.OnRetry(last, attempt, delay)
		}
		if err := sleep(ctx, delay); err != nil {
			return stopped(last, err)
		}
	}
}

func stopped(last, ctxErr error) error {
	if last == nil {
		return ctxErr
	}
	return fmt.Errorf("%w (retrying stopped: %w)", last, ctxErr)
}

// Backoff returns the delay after the given failed attempt (starting at 1)
// when the error does not say how long to wait.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	initial, maxDelay, mult, jitter := p.Initial, p.Max, p.Multiplier, p.Jitter
	if initial <= 0 {
		initial = DefaultRetryInitial
	}
	if maxDelay <= 0 {
		maxDelay = DefaultRetryMax
	}
	if mult < 1 {
		mult = DefaultRetryMultiplier
	}
	if jitter == 0 {
		jitter = DefaultRetryJitter
	}
	d := float64(initial) * math.Pow(mult, float64(max(attempt, 1)-1))
	d = min(d, float64(maxDelay))
	if jitter > 0 {
		r := p.Rand
		if r == nil {
			r = rand.Float64
		}
		d += d * jitter * (2*r() - 1)
		d = min(d, float64(maxDelay))
	}
	return time.Duration(max(d, 0))
}

// SleepContext waits for d or until ctx ends, whichever comes first, and
// returns ctx's error in the second case. It is the default Sleep.
func SleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
