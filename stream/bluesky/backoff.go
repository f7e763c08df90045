package bluesky

import (
	"fmt"
	"time"
)

// Reason classifies why a Jetstream connection ended. Its String is the
// reason reported to a stream.ConnectionObserver (a metric label) and logged.
type Reason uint8

// The reasons a connection ends.
const (
	// ReasonDropped: a connection that delivered messages was closed by the
	// server or the network.
	ReasonDropped Reason = iota
	// ReasonNetwork: dialing, the TLS or WebSocket handshake, or reading
	// failed before the connection delivered anything.
	ReasonNetwork
	// ReasonStalled: no message arrived for Config.StallTimeout.
	ReasonStalled
	// ReasonTooBig: a message exceeded Config.MaxMessageBytes; the WebSocket
	// library closed the connection and the source skips that message.
	ReasonTooBig
	// ReasonHTTP: the server answered the WebSocket upgrade with an HTTP
	// error (4xx other than 429, or 5xx).
	ReasonHTTP
	// ReasonRateLimited: the server answered the upgrade with HTTP 429.
	ReasonRateLimited
)

// String returns the reason's name: "dropped", "network", "stalled",
// "too-big", "http" or "rate-limited".
func (r Reason) String() string {
	switch r {
	case ReasonDropped:
		return "dropped"
	case ReasonNetwork:
		return "network"
	case ReasonStalled:
		return "stalled"
	case ReasonTooBig:
		return "too-big"
	case ReasonHTTP:
		return "http"
	case ReasonRateLimited:
		return "rate-limited"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// The default reconnect schedule.
const (
	// DefaultBackoffInitial is the wait before the first reconnect after a
	// connection that delivered messages, and after the first failure.
	DefaultBackoffInitial = time.Second
	// DefaultBackoffMax caps the wait between reconnects.
	DefaultBackoffMax = time.Minute
	// MaxRetryAfter caps the wait an HTTP 429's Retry-After header may ask for.
	MaxRetryAfter = 10 * time.Minute
)

// Backoff is the reconnect schedule: Initial, doubling with every
// consecutive connection that ended without delivering a message, up to
// Max. A connection that delivers a message resets it, so after a healthy
// stream drops the source waits Initial: never zero, so a server that
// accepts and closes at once cannot make it spin. It never gives up; Run's
// context bounds it. An HTTP 429 waits at least what its Retry-After header
// asks, up to MaxRetryAfter.
//
// A zero field takes its Default. A Backoff is not safe for concurrent use;
// the Source copies the configured value at the start of every Run.
type Backoff struct {
	// Initial is the first wait; 0 means DefaultBackoffInitial.
	Initial time.Duration
	// Max caps the wait; 0 means DefaultBackoffMax.
	Max time.Duration

	failures int // consecutive connections that delivered nothing
}

// Next records a connection that ended and returns how long to wait before
// the next one.
func (b *Backoff) Next() time.Duration {
	b.failures++
	d := orDefault(b.Initial, DefaultBackoffInitial)
	limit := max(orDefault(b.Max, DefaultBackoffMax), d)
	for i := 1; i < b.failures; i++ {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// Reset forgets the failures; the Source calls it when a connection
// delivers its first well-formed message.
func (b *Backoff) Reset() { b.failures = 0 }

// Failures returns the number of consecutive connections that ended since
// the last Reset.
func (b *Backoff) Failures() int { return b.failures }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
