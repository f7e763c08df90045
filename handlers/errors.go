package handlers

import (
	"context"
	"errors"
	"time"
)

// Delivery failures are classified once, where they happen (in the sink that
// talked to the destination), into a [DeliveryError]. Everything downstream —
// [Retry], package bot's counters and logs — branches on that classification
// through errors.Is and the helpers below, never on message text.
//
// An error that carries no classification is retryable: a sink that does not
// know better lets the retry policy decide.

// ErrPermanent matches, through errors.Is, every delivery failure that
// retrying cannot fix: the destination refused this status (bad request,
// message too long, forbidden) and will refuse it again. The status should be
// dropped and the failure logged.
var ErrPermanent = errors.New("permanent delivery failure")

// ErrDestinationGone matches, through errors.Is, failures after which the
// destination will refuse everything until a person acts: the bot was blocked
// or kicked from a chat, a token was revoked, a webhook was deleted (HTTP
// 410). A gone destination is also permanent: errors.Is(err, ErrPermanent)
// holds as well.
var ErrDestinationGone = errors.New("destination gone")

// DeliveryError is a classified delivery failure. Err is the underlying error
// and supplies the message, so the message starts with the component that
// failed ("telegram: ...", "webhook: ...").
//
// Create one with [Permanent], [Gone] or [RetryAfter]; a DeliveryError with
// neither Permanent nor Gone set is retryable.
type DeliveryError struct {
	// Err is the failure being classified.
	Err error
	// Permanent reports that retrying cannot deliver this status.
	Permanent bool
	// Gone reports that the destination refuses everything until a person
	// acts. Gone implies Permanent.
	Gone bool
	// RetryAfter, when positive, is how long the destination asked the
	// sender to wait before trying again (Telegram's retry_after, HTTP
	// Retry-After). Retry waits exactly this long instead of its backoff.
	RetryAfter time.Duration
}

// Error returns the message of the underlying error.
func (e *DeliveryError) Error() string {
	if e.Err == nil {
		switch {
		case e.Gone:
			return ErrDestinationGone.Error()
		case e.Permanent:
			return ErrPermanent.Error()
		}
		return "delivery failed"
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *DeliveryError) Unwrap() error { return e.Err }

// Is reports whether e matches target: ErrPermanent when e is permanent or
// gone, ErrDestinationGone when e is gone.
func (e *DeliveryError) Is(target error) bool {
	switch target {
	case ErrPermanent:
		return e.Permanent || e.Gone
	case ErrDestinationGone:
		return e.Gone
	}
	return false
}

// Permanent classifies err as a failure that retrying cannot fix. It returns
// nil for a nil err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &DeliveryError{Err: err, Permanent: true}
}

// Gone classifies err as a failure after which the destination refuses
// everything until a person acts; a gone failure is also permanent. It
// returns nil for a nil err.
func Gone(err error) error {
	if err == nil {
		return nil
	}
	return &DeliveryError{Err: err, Permanent: true, Gone: true}
}

// RetryAfter classifies err as retryable after exactly d (d <= 0: after the
// retry policy's own backoff). It returns nil for a nil err.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &DeliveryError{Err: err, RetryAfter: max(d, 0)}
}

// IsRetryable reports whether sending the same status again might succeed:
// err is not nil, not permanent (see [ErrPermanent]) and not a context
// cancellation. A context.DeadlineExceeded is retryable, because it may be a
// per-request timeout; a retry loop checks its own context before each
// attempt anyway.
func IsRetryable(err error) bool {
	return err != nil && !errors.Is(err, ErrPermanent) && !errors.Is(err, context.Canceled)
}

// RetryDelay returns the wait the destination asked for, carried by the first
// [DeliveryError] in err's chain, and whether there was one.
func RetryDelay(err error) (time.Duration, bool) {
	var de *DeliveryError
	if errors.As(err, &de) && de.RetryAfter > 0 {
		return de.RetryAfter, true
	}
	return 0, false
}
