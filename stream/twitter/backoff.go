package twitter

import (
	"fmt"
	"time"
)

// Reason classifies why a stream connection ended, for the reconnect policy.
type Reason uint8

// The reasons a connection ends, each with its own reconnect rule.
const (
	// ReasonDropped: an established stream (HTTP 200 that delivered at least
	// one message) ended. Twitter's rule: reconnect immediately.
	ReasonDropped Reason = iota
	// ReasonNetwork: a TCP/IP-level failure (dial, TLS, read error, stall,
	// or a 200 response that ended before delivering anything). Back off
	// linearly.
	ReasonNetwork
	// ReasonHTTP: a retryable HTTP error (5xx and other unexpected codes).
	// Back off exponentially.
	ReasonHTTP
	// ReasonRateLimited: HTTP 420 or 429. Back off exponentially from a
	// minute.
	ReasonRateLimited
)

// String returns the reason's name, as used in logs.
func (r Reason) String() string {
	switch r {
	case ReasonDropped:
		return "dropped"
	case ReasonNetwork:
		return "network"
	case ReasonHTTP:
		return "http"
	case ReasonRateLimited:
		return "rate-limited"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Twitter's documented reconnect schedule. The documentation gives no cap
// for 420/429; DefaultRateLimitMax is ours.
const (
	// DefaultNetworkStep is the linear step for TCP/IP errors: 250 ms, 500 ms, ...
	DefaultNetworkStep = 250 * time.Millisecond
	// DefaultNetworkMax caps the TCP/IP back-off.
	DefaultNetworkMax = 16 * time.Second
	// DefaultHTTPInitial is the first wait after an HTTP error; it doubles.
	DefaultHTTPInitial = 5 * time.Second
	// DefaultHTTPMax caps the HTTP-error back-off.
	DefaultHTTPMax = 320 * time.Second
	// DefaultRateLimitInitial is the first wait after HTTP 420/429; it doubles.
	DefaultRateLimitInitial = time.Minute
	// DefaultRateLimitMax caps the 420/429 back-off: 1, 2, 4, 8, 16, 16, ... minutes.
	DefaultRateLimitMax = 16 * time.Minute
)

// Backoff is the reconnect policy of Twitter's streaming documentation. It
// keeps one counter per Reason; all counters reset when a connection
// delivers data. It never gives up: retrying forever is the caller's choice,
// bounded only by its context.
//
// The duration fields configure the schedule; a zero field takes its
// Default. A Backoff is not safe for concurrent use; the Source copies the
// configured value at the start of every Run.
type Backoff struct {
	// NetworkStep is the linear step after TCP/IP errors; 0 means DefaultNetworkStep.
	NetworkStep time.Duration
	// NetworkMax caps the TCP/IP back-off; 0 means DefaultNetworkMax.
	NetworkMax time.Duration
	// HTTPInitial is the first wait after an HTTP error; 0 means DefaultHTTPInitial.
	HTTPInitial time.Duration
	// HTTPMax caps the HTTP-error back-off; 0 means DefaultHTTPMax.
	HTTPMax time.Duration
	// RateLimitInitial is the first wait after HTTP 420/429; 0 means DefaultRateLimitInitial.
	RateLimitInitial time.Duration
	// RateLimitMax caps the 420/429 back-off; 0 means DefaultRateLimitMax.
	RateLimitMax time.Duration

	network, http, rateLimited int // consecutive failures of each kind
}

// Next records a connection that ended for reason r and returns how long to
// wait before reconnecting.
//
//   - ReasonDropped: 0, and every counter resets.
//   - ReasonNetwork: NetworkStep times the consecutive network failures, up to NetworkMax.
//   - ReasonHTTP: HTTPInitial doubling per consecutive HTTP failure, up to HTTPMax.
//   - ReasonRateLimited: RateLimitInitial doubling, up to RateLimitMax.
func (b *Backoff) Next(r Reason) time.Duration {
	switch r {
	case ReasonNetwork:
		b.network++
		step := orDefault(b.NetworkStep, DefaultNetworkStep)
		limit := orDefault(b.NetworkMax, DefaultNetworkMax)
		if int64(b.network) > int64(limit/step) {
			return limit
		}
		return time.Duration(b.network) * step
	case ReasonHTTP:
		b.http++
		return exponential(orDefault(b.HTTPInitial, DefaultHTTPInitial), orDefault(b.HTTPMax, DefaultHTTPMax), b.http)
	case ReasonRateLimited:
		b.rateLimited++
		return exponential(orDefault(b.RateLimitInitial, DefaultRateLimitInitial), orDefault(b.RateLimitMax, DefaultRateLimitMax), b.rateLimited)
	default: // ReasonDropped and anything unknown: the stream was fine.
		b.Reset()
		return 0
	}
}

// Reset forgets all failures; the Source calls it as soon as a connection
// delivers its first message.
func (b *Backoff) Reset() { b.network, b.http, b.rateLimited = 0, 0, 0 }

// exponential returns initial·2^(n-1), capped at limit, without overflowing.
func exponential(initial, limit time.Duration, n int) time.Duration {
	d := initial
	for i := 1; i < n; i++ {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
