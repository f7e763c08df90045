package bot

import (
	"log/slog"
	"sync/atomic"
)

// Stats counts what the bot has done since it started.
type Stats struct {
	// Received is the number of statuses the source emitted, duplicates excluded.
	Received int64
	// Duplicates is the number of re-sent statuses dropped by ID.
	Duplicates int64
	// Matched is the number of statuses at least one route took.
	Matched int64
	// Forwarded is the number of deliveries a destination accepted.
	Forwarded int64
	// Dropped is the number of deliveries dropped from a queue over its cap
	// (drop-oldest).
	Dropped int64
	// Failed is the number of deliveries a destination's handler refused
	// for good (a permanent error), or whose queue entry was unreadable.
	Failed int64
	// Retried is the number of retryable failures that were retried.
	Retried int64
	// Queued is the number of statuses waiting in the queues now.
	Queued int64
	// Cancelled is the number of deliveries skipped because the status was deleted.
	Cancelled int64
	// Deletes, Limits, Disconnects and Warnings count the stream's control events.
	Deletes, Limits, Disconnects, Warnings int64
	// Withheld is the latest total of statuses the stream reported withheld.
	Withheld int64
	// Destinations holds the per-destination counts, by name.
	Destinations map[string]DestinationStats
}

// DestinationStats counts one destination's deliveries.
type DestinationStats struct {
	// Forwarded, Dropped, Failed, Cancelled and Retried mean what the
	// fields of the same names in Stats mean, for this destination only.
	Forwarded, Dropped, Failed, Cancelled, Retried int64
	// Queued is the depth of the destination's queue now.
	Queued int64
}

type destCounters struct {
	forwarded, failed, cancelled, retried atomic.Int64
}

type counters struct {
	received, duplicates, matched          atomic.Int64
	deletes, limits, disconnects, warnings atomic.Int64
	withheld                               atomic.Int64
}

// LogValue renders the summary line's attributes.
func (s Stats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("received", s.Received),
		slog.Int64("matched", s.Matched),
		slog.Int64("forwarded", s.Forwarded),
		slog.Int64("dropped", s.Dropped),
		slog.Int64("failed", s.Failed),
		slog.Int64("retried", s.Retried),
		slog.Int64("queued", s.Queued),
		slog.Int64("duplicates", s.Duplicates),
		slog.Int64("cancelled", s.Cancelled),
		slog.Int64("withheld", s.Withheld),
	)
}
