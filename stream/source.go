package stream

import (
	"context"
	"errors"
)

// Source is a stream of events from one network.
//
// Run connects, reads and emits events in the order the network sent them
// until ctx is done or the source fails permanently. It reconnects by itself
// after transient failures, so a returned error is final: wrong credentials,
// a rejected filter, or the end of a finite input. Run returns nil when ctx
// was cancelled or a finite input (a file replayed once) was exhausted.
//
// emit is called from the goroutine that called Run, one event at a time. It
// may block to apply backpressure; if it returns an error, Run stops and
// returns that error. A Source must not retain or modify an emitted Status.
// Run is called at most once per Source value unless its docs say otherwise.
type Source interface {
	// Name identifies the source in logs, metrics and Status.Source.
	Name() string
	// Run streams events to emit until ctx ends or a permanent failure.
	Run(ctx context.Context, emit func(Event) error) error
}

// ConnectionObserver receives a networked source's connection changes, for
// health checks and metrics. Its methods may be called from any goroutine
// and must return at once.
type ConnectionObserver interface {
	// Connected reports that a connection is established and streaming.
	Connected()
	// Disconnected reports that the connection ended and the source will
	// reconnect. reason is a short, low-cardinality token used as a metric
	// label, e.g. "dropped", "network", "http", "rate-limited".
	Disconnected(reason string)
}

// Resumer is implemented by sources that can resume from a position in the
// network's stream, such as Bluesky Jetstream's time cursor. The consumer
// (package bot) stores the Cursor of the last event whose effects are
// durable and gives it back, so nothing is skipped across reconnects and
// restarts; events after it may be seen again and are dropped by ID.
type Resumer interface {
	// Resume sets where Run starts: the cursor committed by a previous run.
	// It is called at most once, before Run.
	Resume(cursor string)
	// Committed reports that the event carrying cursor, and every event
	// before it, are durably accepted; the source resumes from there when
	// it reconnects. It may be called from any goroutine, concurrently
	// with Run, and must return at once.
	Committed(cursor string)
}

// ErrPermanent marks a source failure that retrying cannot fix (for example
// HTTP 401): check with errors.Is. The wrapping error says what to change.
var ErrPermanent = errors.New("permanent failure")

// PermanentError is returned by sources for failures that need a person to act.
type PermanentError struct {
	// Err describes the failure.
	Err error
}

// Error returns the description of the failure.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Is reports that a PermanentError matches ErrPermanent.
func (e *PermanentError) Is(target error) bool { return target == ErrPermanent }
