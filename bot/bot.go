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
	"github.com/streambot/streambot/handlers"
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

// accepted is one route's verdict on a status: the (possibly annotated)
// status to deliver to the route's destinations.
type accepted struct {
	route  int
	status *stream.Status
}

type job struct {
	status *stream.Status
	result chan<- []accepted
}

// slot keeps an event's place in stream order between the dispatcher and
// the collector: the verdicts of a status (result, nil for other events),
// the ID a delete event cancels, and the source's cursor after the event.
type slot struct {
	result  <-chan []accepted
	deleted string
	cursor  string
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
	var st journal.Storage
	if b.cfg.Store != nil {
		st = b.cfg.Store
	}
	j, rec, err := journal.Open(st, opt)
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

	intake := make(chan stream.Event, 4*b.cfg.Workers)
	jobs := make(chan job, b.cfg.Workers)
	order := make(chan slot, 64*b.cfg.Workers)

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

// dispatch handles control events and hands statuses to the workers,
// recording their order. Every event that carries a cursor, and every
// delete, takes a place in the order, so that the collector appends it
// after what came before.
func (b *Bot) dispatch(intake <-chan stream.Event, jobs chan<- job, order chan<- slot) {
	for ev := range intake {
		sl := slot{cursor: ev.Cursor}
		switch ev.Kind {
		case stream.KindStatus:
			if ev.Status == nil {
				b.log.Error("the source emitted a status event without a status: ignoring it", "source", b.cfg.Source.Name())
				break
			}
			if !b.seen.add(ev.Status.ID) {
				b.c.duplicates.Add(1)
				break
			}
			b.c.received.Add(1)
			r := make(chan []accepted, 1)
			sl.result = r
			order <- sl
			jobs <- job{status: ev.Status, result: r}
			continue
		case stream.KindDelete:
			b.c.deletes.Add(1)
			if b.deleted.add(ev.Delete.StatusID) {
				sl.deleted = ev.Delete.StatusID
			}
		case stream.KindLimit:
			b.c.limits.Add(1)
			b.c.withheld.Store(ev.Limit.Track)
		case stream.KindDisconnect:
			b.c.disconnects.Add(1)
		case stream.KindWarning:
			b.c.warnings.Add(1)
		}
		if sl.cursor != "" || sl.deleted != "" {
			order <- sl
		}
	}
}

// work runs the route filters of each job. Every worker builds its own
// chains around its own collecting handler, so no state is shared. A
// filter that panics is logged and counts as not taking the status.
func (b *Bot) work(ctx context.Context, jobs <-chan job) {
	var got []accepted
	chains := make([]handlers.Handler, len(b.cfg.Routes))
	for i, r := range b.cfg.Routes {
		var take handlers.Handler = handlers.HandlerFunc(func(_ context.Context, s *stream.Status) error {
			got = append(got, accepted{route: i, status: s})
			return nil
		})
		if r.Filter != nil {
			take = r.Filter(take)
		}
		chains[i] = take
	}
	for j := range jobs {
		got = nil // the previous slice now belongs to the collector
		for i, h := range chains {
			if err := callSafely(ctx, h, j.status); err != nil {
				b.log.Error("route filter failed", "route", b.cfg.Routes[i].Name, "id", j.status.ID, "err", err)
			}
		}
		j.result <- got
	}
}

// callSafely calls h, turning a panic into a permanent error: one status
// that trips a handler must not take the bot down.
func callSafely(ctx context.Context, h handlers.Handler, s *stream.Status) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = handlers.Permanent(fmt.Errorf("handler panicked: %v", p))
		}
	}()
	return h.Handle(ctx, s)
}

// appendBatch bounds how many records the collector hands the log at once.
const appendBatch = 256

// collect takes the workers' verdicts in stream order and appends one
// record per matched status, and a tombstone per delete, to the log, with
// the source's newest cursor. It appends what it holds whenever no verdict
// is waiting, so a quiet stream is not held back.
func (b *Bot) collect(ctx context.Context, order <-chan slot) {
	var batch []*journal.Record
	var cursor string
	flush := func() {
		if len(batch) == 0 && cursor == "" {
			return
		}
		if err := b.journal.Append(ctx, batch, cursor); err != nil {
			b.log.Error("cannot append to the delivery log: statuses lost", "statuses", len(batch), "err", err)
		}
		batch, cursor = nil, ""
	}
	for {
		var sl slot
		var ok bool
		select {
		case sl, ok = <-order:
		default:
			flush()
			sl, ok = <-order
		}
		if !ok {
			flush()
			return
		}
		if sl.cursor != "" {
			cursor = sl.cursor
		}
		switch {
		case sl.deleted != "":
			batch = append(batch, &journal.Record{Deleted: sl.deleted})
		case sl.result != nil:
			if r := b.record(<-sl.result); r != nil {
				b.c.matched.Add(1)
				batch = append(batch, r)
			}
		}
		if len(batch) >= appendBatch {
			flush()
		}
	}
}

// record turns the verdicts on one status into its record: the status of
// the first route that took it, with Routes naming every route that took
// it and Matched every phrase that matched, for the destinations of those
// routes. Raw is kept only when one of them asks for it. It returns nil
// when no route took the status.
func (b *Bot) record(verdicts []accepted) *journal.Record {
	if len(verdicts) == 0 {
		return nil
	}
	s := *verdicts[0].status
	s.Routes = make([]string, 0, len(verdicts))
	r := &journal.Record{Status: &s}
	raw := false
	for _, v := range verdicts {
		s.Routes = append(s.Routes, b.cfg.Routes[v.route].Name)
		if v.status != verdicts[0].status {
			for _, m := range v.status.Matched {
				if !slices.Contains(s.Matched, m) {
					s.Matched = append(s.Matched[:len(s.Matched):len(s.Matched)], m)
				}
			}
		}
		for _, di := range b.routes[v.route] {
			if !slices.Contains(r.To, di) {
				r.To = append(r.To, di)
				raw = raw || b.dests[di].Raw
			}
		}
	}
	if !raw {
		s.Raw = nil
	}
	return r
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
