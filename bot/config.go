package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// Defaults for the zero values of Config.
const (
	DefaultQueueSize     = 1024
	DefaultDedupeWindow  = 100_000
	DefaultStatsInterval = time.Minute
	DefaultDrainTimeout  = 5 * time.Second
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
	// stream order. Its context is cancelled when the shutdown drain times out.
	Handler handlers.Handler
	// QueueSize bounds the statuses waiting for this destination; 0 means
	// Config.QueueSize.
	QueueSize int
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
	// QueueSize bounds each destination's queue; 0 means DefaultQueueSize.
	QueueSize int
	// DedupeWindow is how many recent status IDs are remembered to drop
	// re-sent statuses and to honour deletes; 0 means DefaultDedupeWindow.
	DedupeWindow int
	// StatsInterval is how often a stats line is logged; 0 means
	// DefaultStatsInterval, negative disables the periodic line.
	StatsInterval time.Duration
	// DrainTimeout bounds how long queued statuses keep being delivered after
	// the context ends; 0 means DefaultDrainTimeout.
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
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
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
