package handlers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClassification(t *testing.T) {
	t.Parallel()
	base := errors.New("x: boom")
	tests := []struct {
		name            string
		err             error
		permanent, gone bool
		retryable       bool
		delay           time.Duration
		hasDelay        bool
		keepsMessage    bool
		wrapsBase       bool
	}{
		{name: "nil", err: nil},
		{name: "plain", err: base, retryable: true, keepsMessage: true, wrapsBase: true},
		{name: "permanent", err: Permanent(base), permanent: true, keepsMessage: true, wrapsBase: true},
		{name: "gone", err: Gone(base), permanent: true, gone: true, keepsMessage: true, wrapsBase: true},
		{name: "retry after", err: RetryAfter(base, 7*time.Second), retryable: true, delay: 7 * time.Second, hasDelay: true, keepsMessage: true, wrapsBase: true},
		{name: "retry after zero", err: RetryAfter(base, 0), retryable: true, keepsMessage: true, wrapsBase: true},
		{name: "retry after negative", err: RetryAfter(base, -time.Second), retryable: true, keepsMessage: true, wrapsBase: true},
		{name: "wrapped permanent", err: fmt.Errorf("outer: %w", Permanent(base)), permanent: true, wrapsBase: true},
		{name: "wrapped retry after", err: fmt.Errorf("outer: %w", RetryAfter(base, time.Minute)), retryable: true, delay: time.Minute, hasDelay: true, wrapsBase: true},
		{name: "canceled", err: fmt.Errorf("x: %w", context.Canceled)},
		{name: "deadline", err: fmt.Errorf("x: %w", context.DeadlineExceeded), retryable: true},
		{name: "classified canceled", err: RetryAfter(context.Canceled, time.Second), delay: time.Second, hasDelay: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := errors.Is(tc.err, ErrPermanent); got != tc.permanent {
				t.Errorf("Is(ErrPermanent) = %v, want %v", got, tc.permanent)
			}
			if got := errors.Is(tc.err, ErrDestinationGone); got != tc.gone {
				t.Errorf("Is(ErrDestinationGone) = %v, want %v", got, tc.gone)
			}
			if got := IsRetryable(tc.err); got != tc.retryable {
				t.Errorf("IsRetryable = %v, want %v", got, tc.retryable)
			}
			d, ok := RetryDelay(tc.err)
			if d != tc.delay || ok != tc.hasDelay {
				t.Errorf("RetryDelay = %v, %v; want %v, %v", d, ok, tc.delay, tc.hasDelay)
			}
			if tc.keepsMessage && tc.err.Error() != base.Error() {
				t.Errorf("message %q, want %q", tc.err, base)
			}
			if tc.wrapsBase && !errors.Is(tc.err, base) {
				t.Error("the classified error does not unwrap to its cause")
			}
		})
	}
}

func TestClassifyNilStaysNil(t *testing.T) {
	t.Parallel()
	if Permanent(nil) != nil || Gone(nil) != nil || RetryAfter(nil, time.Second) != nil {
		t.Error("classifying nil returned an error")
	}
}

func TestDeliveryErrorWithoutCause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		e    *DeliveryError
		want string
	}{
		{&DeliveryError{}, "delivery failed"},
		{&DeliveryError{Permanent: true}, ErrPermanent.Error()},
		{&DeliveryError{Gone: true}, ErrDestinationGone.Error()},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: Error() = %q, want %q", tc.e, got, tc.want)
		}
	}
	var de *DeliveryError
	if !errors.As(fmt.Errorf("w: %w", Gone(errors.New("g"))), &de) || !de.Gone || !de.Permanent {
		t.Errorf("errors.As: %+v", de)
	}
}
