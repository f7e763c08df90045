package handlers

import (
	"context"

	"github.com/streambot/streambot/stream"
)

// Handler handles one status.
//
// Handle may be called concurrently for different statuses unless the
// handler's docs say otherwise; package bot calls each destination's handler
// from one goroutine at a time, in stream order. Handle must not modify *s:
// to change a field, copy the Status and pass the copy on. A nil error means
// the status was handled or deliberately dropped.
type Handler interface {
	Handle(ctx context.Context, s *stream.Status) error
}

// HandlerFunc adapts an ordinary function to the Handler interface.
type HandlerFunc func(ctx context.Context, s *stream.Status) error

// Handle calls f(ctx, s).
func (f HandlerFunc) Handle(ctx context.Context, s *stream.Status) error { return f(ctx, s) }

// Middleware wraps a Handler with behaviour that runs before (or instead of)
// it, like net/http middleware.
type Middleware func(next Handler) Handler

// Chain composes middleware so that Chain(a, b, c)(h) == a(b(c(h))): a status
// passes through a first, h last.
func Chain(mw ...Middleware) Middleware {
	return func(h Handler) Handler {
		for i := len(mw) - 1; i >= 0; i-- {
			h = mw[i](h)
		}
		return h
	}
}

// Flusher is a Handler that buffers: a nil error from Handle means the
// status was taken into its buffer, and only a nil error from Flush means
// everything handled so far reached the destination. Package bot calls
// Flush before it acknowledges what such a destination handled: when
// nothing more waits for it, and after a few hundred statuses. Flush may be
// called again after an error; it classifies its errors as Handle does.
type Flusher interface {
	Handler
	Flush(ctx context.Context) error
}
