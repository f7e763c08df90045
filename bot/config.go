package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/streambot/streambot/bot/journal"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// Defaults for the zero values of Config.
const (
	DefaultQueueCap      = journal.DefaultQueueCap
	DefaultDedupeWindow  = journal.DefaultWindow
	DefaultStatsInterval = time.Minute
	DefaultDrainTimeout  = 5 * time.Second
	DefaultAckWindow     = journal.DefaultAckWindow
	DefaultCommitDelay   = journal.DefaultCommitDelay
	DefaultCommitBatch   = journal.DefaultCommitBatch
	DefaultStaleAfter    = 5 * time.Minute
	DefaultStuckAfter    = 10 * time.Minute
)

// Route selects statuses for a set of destinations.
type Route struct {
	// Name identifies the route in logs and in Status.Matched.
	Name string
	// Filter decides which statuses the route takes, e.g.
	// handlers.Chain(handlers.Match(...), handlers.DropRetweets()). A status
	// is taken when the filter calls its next handler; nil takes everything.
	// Filters run concurrently on the worker pool and must not block.
	Filter handlers.Middleware
	// Destinations names the destinations that receive the route's statuses.
	Destinations []string
}

// Destination is where statuses end up.
type Destination struct {
	// Name identifies the destination in routes, logs and stats.
	Name string
	// Handler delivers one status. It is called from a single goroutine, in
	// stream order, and makes one attempt: the bot owns retries. Its context
	// is cancelled when the shutdown drain times out. A nil error
	// acknowledges the status: it leaves the queue. A retryable error
	// (handlers.IsRetryable) keeps it at the head of the queue and it is
	// handed again after Config.Retry's backoff (or exactly the wait a
	// handlers.RetryAfter error asks for); any other error
	// (handlers.ErrPermanent, handlers.ErrDestinationGone) counts it failed
	// and removes it, and so does a panic, so a poison status cannot block
	// the queue. The status's Routes names the routes that led it here.
	Handler handlers.Handler
	// QueueCap bounds the statuses waiting for this destination (the one
	// being sent is not counted); when it is exceeded the oldest waiting
	// ones are dropped. 0 means Config.QueueCap.
	QueueCap int
	// Raw asks for Status.Raw, the payload as the network sent it (for
	// example a JSONL archive of original payloads, or a handler that reads
	// fields streambot does not normalize). Without it Raw is nil: the log
	// does not store payloads no destination reads, which makes it about
	// three times smaller.
	Raw bool
}

// Config configures a Bot.
type Config struct {
	// Source produces the events. Required.
	Source stream.Source
	// Routes select statuses for destinations. At least one is required.
	Routes []Route
	// Destinations deliver statuses. Every destination a route names must be here.
	Destinations []Destination
	// Workers is the size of the route-filter pool; 0 means GOMAXPROCS.
	Workers int
	// Store holds the delivery log: every accepted status once, the
	// destinations' positions, the dedupe window and the deletes. Use an
	// [Outbox] for statuses that survive a crash or a restart; nil means the
	// same log in memory (nothing survives the process). The caller opens
	// and closes it; one Bot at a time.
	Store Store
	// QueueCap bounds each destination's queue (drop-oldest, see
	// Destination.QueueCap); 0 means DefaultQueueCap.
	QueueCap int
	// DedupeWindow is how many recent status IDs are remembered to drop
	// re-sent statuses and to honour deletes; 0 means DefaultDedupeWindow.
	// The IDs of queued statuses are kept in the Store, so the window
	// survives restarts.
	DedupeWindow int
	// Retry paces the retries of a destination's retryable failures. Its
	// MaxAttempts is ignored: a status is retried until it is delivered,
	// fails permanently, is dropped by the cap or the bot stops.
	Retry handlers.RetryPolicy
	// AckWindow bounds, per destination, the statuses delivered whose
	// acknowledgement is not yet committed: after a crash at most
	// AckWindow+1 statuses per destination are delivered again. 0 means
	// DefaultAckWindow.
	AckWindow int
	// Tail is how many of the newest statuses the log keeps in memory as
	// live values, so that destinations that keep up never read the Store;
	// a destination further behind reads its statuses back from it. 0 means
	// journal.DefaultTail. Without a Store everything queued stays in
	// memory.
	Tail int
	// CommitDelay is how long the log waits for more statuses before a
	// group commit, and CommitBatch the most statuses in one; 0 means
	// DefaultCommitDelay and DefaultCommitBatch, a negative CommitDelay
	// commits what is ready without waiting.
	CommitDelay time.Duration
	CommitBatch int
	// MetricsAddr, when set, is the address Run serves /metrics, /healthz
	// and /readyz on (see Bot.Handler).
	MetricsAddr string
	// StaleAfter is how long /healthz tolerates a stream without data; 0
	// means DefaultStaleAfter.
	StaleAfter time.Duration
	// StuckAfter is how old the head of a destination's queue may get
	// before /healthz reports the destination stuck; 0 means
	// DefaultStuckAfter.
	StuckAfter time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// StatsInterval is how often a stats line is logged; 0 means
	// DefaultStatsInterval, negative disables the periodic line.
	StatsInterval time.Duration
	// DrainTimeout bounds how long queued statuses keep being delivered after
	// the context ends; what is not delivered by then stays in the Store.
	// 0 means DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Logger receives the bot's logs; nil discards them.
	Logger *slog.Logger
}

// withDefaults validates cfg and fills its zero values.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Source == nil {
		return cfg, errors.New("bot: no source configured")
	}
	if len(cfg.Routes) == 0 {
		return cfg, errors.New("bot: no routes configured")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.QueueCap <= 0 {
		cfg.QueueCap = DefaultQueueCap
	}
	cfg.Retry.MaxAttempts = 0
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = DefaultStuckAfter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DedupeWindow <= 0 {
		cfg.DedupeWindow = DefaultDedupeWindow
	}
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = DefaultStatsInterval
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	names := map[string]bool{}
	for _, d := range cfg.Destinations {
		switch {
		case d.Name == "":
			return cfg, errors.New("bot: a destination has no name")
		case d.Handler == nil:
			return cfg, fmt.Errorf("bot: destination %q has no handler", d.Name)
		case names[d.Name]:
			return cfg, fmt.Errorf("bot: destination %q is defined twice", d.Name)
		}
		names[d.Name] = true
	}
	for _, r := range cfg.Routes {
		if len(r.Destinations) == 0 {
			return cfg, fmt.Errorf("bot: route %q has no destinations", r.Name)
		}
		for _, d := range r.Destinations {
			if !names[d] {
				return cfg, fmt.Errorf("bot: route %q names unknown destination %q", r.Name, d)
			}
		}
	}
	return cfg, nil
}
