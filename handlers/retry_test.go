package handlers

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
)

// sleepRecorder is an injected Sleep that records the delays instead of
// sleeping. cancelAt, when > 0, cancels the context on that call.
type sleepRecorder struct {
	delays   []time.Duration
	cancel   context.CancelFunc
	cancelAt int
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.delays = append(r.delays, d)
	if r.cancelAt > 0 && len(r.delays) == r.cancelAt {
		r.cancel()
	}
	return ctx.Err()
}

// script is a handler that answers with the given errors in turn, then nil,
// and records the statuses it saw.
type script struct {
	errs []error
	seen []*stream.Status
}

func (s *script) Handle(_ context.Context, st *stream.Status) error {
	s.seen = append(s.seen, st)
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

func TestRetry(t *testing.T) {
	t.Parallel()
	flaky := errors.New("x: flaky")
	perm := Permanent(errors.New("x: bad request"))
	gone := Gone(errors.New("x: blocked"))
	noJitter := RetryPolicy{Initial: time.Second, Max: 10 * time.Second, Multiplier: 2, Jitter: -1}
	tests := []struct {
		name     string
		policy   RetryPolicy
		errs     []error
		cancelAt int // cancel the context on this sleep
		wantErr  error
		wantCtx  bool
		calls    int
		delays   []time.Duration
	}{
		{name: "success first", policy: noJitter, calls: 1},
		{name: "retryable then success", policy: noJitter, errs: []error{flaky, flaky, flaky}, calls: 4,
			delays: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{name: "backoff capped at max", policy: noJitter, errs: []error{flaky, flaky, flaky, flaky, flaky}, calls: 6,
			delays: []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second}},
		{name: "permanent returns at once", policy: noJitter, errs: []error{perm}, wantErr: perm, calls: 1},
		{name: "gone returns at once", policy: noJitter, errs: []error{flaky, gone}, wantErr: gone, calls: 2,
			delays: []time.Duration{time.Second}},
		{name: "retry after is exact and uncapped", policy: noJitter,
			errs:  []error{RetryAfter(flaky, 42*time.Second), flaky, RetryAfter(flaky, 3*time.Second)},
			calls: 4, delays: []time.Duration{42 * time.Second, 2 * time.Second, 3 * time.Second}},
		{name: "max attempts", policy: RetryPolicy{Initial: time.Second, Jitter: -1, MaxAttempts: 3},
			errs: []error{flaky, flaky, flaky, flaky}, wantErr: flaky, calls: 3,
			delays: []time.Duration{time.Second, 2 * time.Second}},
		{name: "one attempt disables retries", policy: RetryPolicy{MaxAttempts: 1}, errs: []error{flaky}, wantErr: flaky, calls: 1},
		{name: "context canceled while waiting", policy: noJitter, errs: []error{flaky, flaky, flaky}, cancelAt: 2,
			wantErr: flaky, wantCtx: true, calls: 2, delays: []time.Duration{time.Second, 2 * time.Second}},
		{name: "cancellation from the handler is not retried", policy: noJitter,
			errs: []error{context.Canceled}, wantErr: context.Canceled, wantCtx: true, calls: 1},
		{name: "defaults", policy: RetryPolicy{Jitter: -1}, errs: []error{flaky, flaky}, calls: 3,
			delays: []time.Duration{DefaultRetryInitial, 2 * DefaultRetryInitial}},
		{name: "constant", policy: RetryPolicy{Initial: time.Second, Multiplier: 1, Jitter: -1}, errs: []error{flaky, flaky}, calls: 3,
			delays: []time.Duration{time.Second, time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rec := &sleepRecorder{cancel: cancel, cancelAt: tc.cancelAt}
			p := tc.policy
			p.Sleep = rec.sleep
			var hooked []int
			p.OnRetry = func(err error, attempt int, d time.Duration) {
				hooked = append(hooked, attempt)
				if !IsRetryable(err) {
					t.Errorf("OnRetry called with a non-retryable error %v", err)
				}
			}
			h := &script{errs: slices.Clone(tc.errs)}
			s := &stream.Status{ID: "1"}
			err := Retry(p)(h).Handle(ctx, s)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := errors.Is(err, context.Canceled); got != tc.wantCtx {
				t.Errorf("errors.Is(err, Canceled) = %v, want %v (err %v)", got, tc.wantCtx, err)
			}
			if len(h.seen) != tc.calls {
				t.Errorf("%d attempts, want %d", len(h.seen), tc.calls)
			}
			for _, got := range h.seen {
				if got != s {
					t.Error("a retry did not resend the same status")
				}
			}
			if !slices.Equal(rec.delays, tc.delays) {
				t.Errorf("delays %v, want %v", rec.delays, tc.delays)
			}
			if len(hooked) != len(tc.delays) {
				t.Errorf("OnRetry attempts %v, want one per delay %v", hooked, tc.delays)
			}
			for i, a := range hooked {
				if a != i+1 {
					t.Errorf("OnRetry attempts %v, want 1, 2, ...", hooked)
					break
				}
			}
		})
	}
}

func TestRetryChecksContextBeforeFirstAttempt(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := &script{}
	err := Retry(RetryPolicy{})(h).Handle(ctx, &stream.Status{})
	if !errors.Is(err, context.Canceled) || len(h.seen) != 0 {
		t.Errorf("err %v after %d attempts, want Canceled after none", err, len(h.seen))
	}
}

func TestRetryKeepsClassification(t *testing.T) {
	t.Parallel()
	// When attempts run out the last error comes back unchanged, so the
	// caller still sees its RetryAfter.
	last := RetryAfter(errors.New("x: slow down"), 5*time.Second)
	h := &script{errs: []error{last, last}}
	rec := &sleepRecorder{}
	err := Retry(RetryPolicy{MaxAttempts: 2, Sleep: rec.sleep})(h).Handle(context.Background(), &stream.Status{})
	if err != last {
		t.Errorf("err = %#v, want the last error unchanged", err)
	}
}

func TestBackoffJitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rand    float64
		attempt int
		want    time.Duration
	}{
		{0, 1, 800 * time.Millisecond},     // -20%
		{0.5, 1, time.Second},              // no spread
		{0.75, 2, 2200 * time.Millisecond}, // +10%
		{0.999999, 10, time.Minute},        // capped after the jitter
	}
	for _, tc := range tests {
		p := RetryPolicy{Rand: func() float64 { return tc.rand }}
		got := p.Backoff(tc.attempt)
		if diff := got - tc.want; diff < -time.Millisecond || diff > time.Millisecond {
			t.Errorf("Backoff(%d) with rand %v = %v, want %v", tc.attempt, tc.rand, got, tc.want)
		}
	}
	// Real randomness stays within the bounds.
	p := RetryPolicy{Initial: time.Second, Jitter: 0.5}
	for range 100 {
		if d := p.Backoff(1); d < 500*time.Millisecond || d > 1500*time.Millisecond {
			t.Fatalf("Backoff(1) = %v, outside ±50%%", d)
		}
	}
}

func TestSleepContext(t *testing.T) {
	t.Parallel()
	if err := SleepContext(context.Background(), 0); err != nil {
		t.Errorf("zero sleep: %v", err)
	}
	if err := SleepContext(context.Background(), time.Nanosecond); err != nil {
		t.Errorf("short sleep: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := SleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep on a cancelled context = %v", err)
	}
}
