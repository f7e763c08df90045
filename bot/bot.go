package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streambot/streambot/bot/journal"
	"github.com/streambot/streambot/stream"
)

// Bot runs one source through routes to destinations. Create it with New
// and start it with Run; a Bot runs once.
//
// Every status a route takes is appended once to the delivery log (a
// journal.Journal over Config.Store, group-committed), naming the
// destinations it is for; each destination is a durable consumer of that
// log, delivering in order, and a status leaves a destination's queue
// only after the destination accepted it, refused it permanently, or the
// queue's cap dropped it.
type Bot struct {
	cfg     Config
	log     *slog.Logger
	c       counters
	dests   []*destination
	byName  map[string]int
	routes  [][]int // route index -> destination indexes
	seen    *idSet  // dedupe of re-sent statuses, rebuilt from the log at start
	deleted *idSet  // statuses the stream deleted, likewise
	health  health
	metrics *metrics

	journal journal.Log // set by Run
	resumer stream.Resumer

	onCommit func() // tests: called by the journal after each commit
}

type destination struct {
	Destination
	c        destCounters
	routes   map[string]bool  // the names of the routes that lead here
	consumer journal.Consumer // set by Run before the metrics can see it
	ready    atomic.Bool      // consumer is set
}

// depth, dropped and oldest read the destination's consumer; 0 before Run.
func (d *destination) depth() int64 {
	if !d.ready.Load() {
		return 0
	}
	return int64(d.consumer.Depth())
}

func (d *destination) dropped() int64 {
	if !d.ready.Load() {
		return 0
	}
	return d.consumer.Dropped()
}

func (d *destination) oldest() time.Time {
	if !d.ready.Load() {
		return time.Time{}
	}
	return d.consumer.Oldest()
}

// New validates cfg and returns a Bot.
func New(cfg Config) (*Bot, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Bot{
		cfg:     cfg,
		log:     cfg.Logger,
		byName:  map[string]int{},
		seen:    newIDSet(cfg.DedupeWindow),
		deleted: newIDSet(cfg.DedupeWindow),
	}
	for i, d := range cfg.Destinations {
		b.dests = append(b.dests, &destination{Destination: d, routes: map[string]bool{}})
		b.byName[d.Name] = i
	}
	for _, r := range cfg.Routes {
		var idx []int
		for _, name := range r.Destinations {
			i := b.byName[name]
			if !slices.Contains(idx, i) {
				idx = append(idx, i)
			}
			b.dests[i].routes[r.Name] = true
		}
		b.routes = append(b.routes, idx)
	}
	b.health.init(cfg.Now())
	b.metrics = newMetrics(b)
	return b, nil
}

// Stats returns a snapshot of the counters. It is safe to call at any time.
func (b *Bot) Stats() Stats {
	s := Stats{
		Received:     b.c.received.Load(),
		Duplicates:   b.c.duplicates.Load(),
		Matched:      b.c.matched.Load(),
		Deletes:      b.c.deletes.Load(),
		Limits:       b.c.limits.Load(),
		Disconnects:  b.c.disconnects.Load(),
		Warnings:     b.c.warnings.Load(),
		Withheld:     b.c.withheld.Load(),
		Destinations: map[string]DestinationStats{},
	}
	for _, d := range b.dests {
		ds := DestinationStats{
			Forwarded: d.c.forwarded.Load(),
			Dropped:   d.dropped(),
			Failed:    d.c.failed.Load(),
			Cancelled: d.c.cancelled.Load(),
			Retried:   d.c.retried.Load(),
			Queued:    d.depth(),
		}
		s.Destinations[d.Name] = ds
		s.Forwarded += ds.Forwarded
		s.Dropped += ds.Dropped
		s.Failed += ds.Failed
		s.Cancelled += ds.Cancelled
		s.Retried += ds.Retried
		s.Queued += ds.Queued
	}
	return s
}

// open opens the delivery log over the Store and restores the dedupe
// window, the deletes and the source's cursor from it.
func (b *Bot) open() error {
	var cons []journal.ConsumerOptions
	for _, d := range b.dests {
		c := d.QueueCap
		if c <= 0 {
			c = b.cfg.QueueCap
		}
		cons = append(cons, journal.ConsumerOptions{Name: d.Name, Cap: c})
	}
	r, resumable := b.cfg.Source.(stream.Resumer)
	opt := journal.Options{
		Consumers:   cons,
		AckWindow:   b.cfg.AckWindow,
		CommitDelay: b.cfg.CommitDelay,
		CommitBatch: b.cfg.CommitBatch,
		Tail:        b.cfg.Tail,
		Window:      b.cfg.DedupeWindow,
		Source:      b.cfg.Source.Name(),
		OnCommit:    b.onCommit,
		Logger:      b.log,
		Now:         b.cfg.Now,
	}
	if resumable {
		opt.OnCursor = r.Committed
	}
	j, rec, err := journal.Open(b.cfg.Store, opt)
	if err != nil {
		return fmt.Errorf("bot: %w", err)
	}
	b.journal = j
	for _, id := range rec.Seen {
		b.seen.add(id)
	}
	for _, id := range rec.Deleted {
		b.deleted.add(id)
	}
	if resumable {
		b.resumer = r
		if rec.Cursor != "" {
			b.log.Info("resuming the stream from the committed cursor", "source", b.cfg.Source.Name(), "cursor", rec.Cursor)
			r.Resume(rec.Cursor)
		}
	}
	for i, d := range b.dests {
		d.consumer = j.Consumer(i)
		d.ready.Store(true)
		if n := rec.Queued[d.Name]; n > 0 {
			b.log.Info("resuming queued deliveries", "destination", d.Name, "queued", n)
		}
	}
	for name, n := range rec.Orphans {
		b.log.Warn("the store holds a queue for a destination that is no longer configured: it is kept, not delivered, "+
			"and the log keeps the space it takes until the destination is configured again",
			"destination", name, "queued", n)
	}
	return nil
}

// Run streams until ctx ends or the source stops, then drains: statuses
// already queued keep being delivered for up to DrainTimeout after ctx
// ends (without limit after the source finished on its own), and what is
// left stays in the Store for the next Run. It returns nil after a
// cancelled ctx or a finished source, and the source's error (for example a
// stream.PermanentError) otherwise, in both cases after draining. It returns
// an error at once when the Store cannot be loaded or MetricsAddr cannot be
// listened on.
func (b *Bot) Run(ctx context.Context) error {
	if err := b.open(); err != nil {
		return err
	}
	stopServer, err := b.serve()
	if err != nil {
		b.journal.Close()
		return err
	}
	defer stopServer()

	b.log.Info("bot starting", "source", b.cfg.Source.Name(), "routes", len(b.cfg.Routes),
		"destinations", len(b.dests), "workers", b.cfg.Workers)
	if o, ok := b.cfg.Source.(ObservableSource); ok {
		b.health.observed.Store(true)
		o.Observe(observer{b})
	}

	// Destinations deliver, and the collector appends, on a context that
	// outlives ctx by the drain timeout.
	deliverCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDelivery()
	var timedOut atomic.Bool
	drainTimer := make(chan *time.Timer, 1)
	stopDrainTimer := context.AfterFunc(ctx, func() {
		drainTimer <- time.AfterFunc(b.cfg.DrainTimeout, func() {
			timedOut.Store(true)
			stopDelivery()
		})
	})
	var destWG sync.WaitGroup
	for _, d := range b.dests {
		destWG.Go(func() { b.deliver(deliverCtx, d) })
	}
	b.health.ready.Store(true)
	stopReady := context.AfterFunc(ctx, func() { b.health.ready.Store(false) })
	defer stopReady()

	statsDone := make(chan struct{})
	var statsWG sync.WaitGroup
	if b.cfg.StatsInterval > 0 {
		statsWG.Go(func() { b.logStats(statsDone) })
	}

	intake := make(chan stream.Event, intakeBuffer)
	jobs := make(chan job, b.cfg.Workers)
	order := make(chan slot, 4*b.cfg.Workers)

	var pipeWG sync.WaitGroup
	var srcErr error
	pipeWG.Go(func() {
		defer close(intake)
		srcErr = b.cfg.Source.Run(ctx, func(ev stream.Event) error {
			b.health.sawData(b.cfg.Now())
			select {
			case intake <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	pipeWG.Go(func() {
		defer close(order)
		defer close(jobs)
		b.dispatch(intake, jobs, order)
	})
	var workerWG sync.WaitGroup
	for range b.cfg.Workers {
		workerWG.Go(func() { b.work(ctx, jobs) })
	}
	pipeWG.Go(func() { b.collect(deliverCtx, order) })

	pipeWG.Wait()
	workerWG.Wait()

	// Everything accepted is in the log; let the destinations finish.
	b.journal.Seal()
	destWG.Wait()
	if !stopDrainTimer() { // ctx ended: the drain timer runs
		(<-drainTimer).Stop()
	}
	if timedOut.Load() {
		b.log.Warn("drain timed out: undelivered statuses stay queued for the next start",
			"timeout", b.cfg.DrainTimeout, "queued", b.Stats().Queued)
	}
	if err := b.journal.Close(); err != nil {
		b.log.Error("the delivery log was not closed cleanly", "err", err)
	}
	close(statsDone)
	statsWG.Wait()

	b.log.Info("bot stopped", "stats", b.Stats())
	if srcErr != nil && !(ctx.Err() != nil && errors.Is(srcErr, ctx.Err())) {
		return fmt.Errorf("bot: source %s: %w", b.cfg.Source.Name(), srcErr)
	}
	return nil
}

func (b *Bot) logStats(done <-chan struct{}) {
	t := time.NewTicker(b.cfg.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			b.log.Info("stats", "stats", b.Stats())
		}
	}
}
