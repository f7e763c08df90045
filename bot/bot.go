package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// Bot runs one source through routes to destinations. Create it with New
// and start it with Run; a Bot runs once.
//
// Every status a route takes is written to each of its destinations'
// queues in the Store (group-committed) before it counts as accepted; a
// destination's delivery goroutine reads its queue in order and removes an
// entry only after the destination accepted it, failed it permanently, or
// the queue's cap dropped it.
type Bot struct {
	cfg     Config
	log     *slog.Logger
	c       counters
	dests   []*destination
	byName  map[string]int
	routes  [][]int // route index -> destination indexes
	seen    *idSet  // dedupe of re-sent statuses, persisted through the Store
	deleted *idSet  // statuses the stream deleted
	wake    chan struct{}
	health  health
	metrics *metrics

	// A resumable source and its cursor, owned by the committer: the newest
	// cursor received, the last one written, and when.
	resumer         stream.Resumer
	cursor          string
	cursorCommitted string
	cursorAt        time.Time

	onCommit func() // tests: called by the committer after each commit
}

type destination struct {
	Destination
	cap int
	c   destCounters

	mu      sync.Mutex // guards floor, sending, busy and acked
	floor   uint64     // entries below floor were dropped by the cap (but the one being sent)
	sending uint64     // the entry being delivered, when busy
	busy    bool
	acked   uint64 // every entry below acked is done

	// Owned by the committer.
	next         uint64 // the seq of the next entry
	ackCommitted uint64 // acked, as last committed

	start     uint64        // where delivery starts reading (the head at Load)
	durable   atomic.Uint64 // ackCommitted, for the delivery goroutine
	depth     atomic.Int64  // entries in the store
	oldest    atomic.Int64  // queued-at of the entry at the head (unix ns), 0 when empty
	sealed    atomic.Bool   // no more entries will be appended
	notify    chan struct{} // entries were appended
	committed chan struct{} // acks were committed
}

// poke signals c without blocking (c has a buffer of one).
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
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
		wake:    make(chan struct{}, 1),
	}
	for i, d := range cfg.Destinations {
		c := d.QueueCap
		if c <= 0 {
			c = cfg.QueueCap
		}
		dest := &destination{
			Destination: d, cap: c, next: 1, floor: 1, acked: 1, ackCommitted: 1, start: 1,
			notify: make(chan struct{}, 1), committed: make(chan struct{}, 1),
		}
		dest.durable.Store(1)
		b.dests = append(b.dests, dest)
		b.byName[d.Name] = i
	}
	for _, r := range cfg.Routes {
		var idx []int
		for _, name := range r.Destinations {
			idx = append(idx, b.byName[name])
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
			Dropped:   d.c.dropped.Load(),
			Failed:    d.c.failed.Load(),
			Cancelled: d.c.cancelled.Load(),
			Retried:   d.c.retried.Load(),
			Queued:    d.depth.Load(),
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
// the collector: the verdicts of a status (result, nil for other events)
// and the source's cursor after the event.
type slot struct {
	result <-chan []accepted
	cursor string
}

// load reads the Store's snapshot into the dedupe window and the queues.
func (b *Bot) load() error {
	snap, err := b.cfg.Store.Load(b.cfg.DedupeWindow)
	if err != nil {
		return fmt.Errorf("bot: %w", err)
	}
	for _, id := range snap.Seen {
		b.seen.add(id)
	}
	if r, ok := b.cfg.Source.(stream.Resumer); ok {
		b.resumer = r
		if c := snap.Cursors[b.cfg.Source.Name()]; c != "" {
			b.log.Info("resuming the stream from the committed cursor", "source", b.cfg.Source.Name(), "cursor", c)
			r.Resume(c)
		}
	}
	for _, d := range b.dests {
		q, ok := snap.Queues[d.Name]
		if !ok {
			continue
		}
		next := max(q.Next, 1)
		head := min(max(q.Head, 1), next)
		d.next, d.floor, d.acked, d.ackCommitted, d.start = next, head, head, head, head
		d.durable.Store(head)
		d.depth.Store(int64(q.Depth))
		if q.Depth > 0 {
			b.log.Info("resuming queued deliveries", "destination", d.Name, "queued", q.Depth)
		}
	}
	for name, q := range snap.Queues {
		if _, ok := b.byName[name]; !ok && q.Depth > 0 {
			b.log.Warn("the store holds a queue for a destination that is no longer configured: it is kept, not delivered",
				"destination", name, "queued", q.Depth)
		}
	}
	return nil
}

// Run streams until ctx ends or the source stops, then drains: statuses
// already queued keep being delivered for up to DrainTimeout, and what is
// left stays in the Store for the next Run. It returns nil after a
// cancelled ctx or a finished source, and the source's error (for example a
// stream.PermanentError) otherwise, in both cases after draining. It returns
// an error at once when the Store cannot be loaded or MetricsAddr cannot be
// listened on.
func (b *Bot) Run(ctx context.Context) error {
	if err := b.load(); err != nil {
		return err
	}
	stopServer, err := b.serve()
	if err != nil {
		return err
	}
	defer stopServer()

	b.log.Info("bot starting", "source", b.cfg.Source.Name(), "routes", len(b.cfg.Routes),
		"destinations", len(b.dests), "workers", b.cfg.Workers)
	if o, ok := b.cfg.Source.(ObservableSource); ok {
		b.health.observed.Store(true)
		o.Observe(observer{b})
	}

	// The committer writes accepted statuses and acknowledgements.
	pendingCh := make(chan pending, b.cfg.CommitBatch)
	quitCommitter := make(chan struct{})
	var commitWG sync.WaitGroup
	commitWG.Go(func() { b.commitLoop(pendingCh, quitCommitter) })

	// Destinations deliver on a context that survives ctx by the drain timeout.
	deliverCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDelivery()
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
	pipeWG.Go(func() {
		defer close(pendingCh)
		b.collect(order, pendingCh)
	})

	pipeWG.Wait()
	workerWG.Wait()

	// Everything accepted is in the store; let the destinations finish.
	delivered := make(chan struct{})
	go func() { destWG.Wait(); close(delivered) }()
	select {
	case <-delivered:
	case <-ctx.Done():
		t := time.NewTimer(b.cfg.DrainTimeout)
		select {
		case <-delivered:
		case <-t.C:
			stopDelivery()
			<-delivered
			b.log.Warn("drain timed out: undelivered statuses stay queued for the next start",
				"timeout", b.cfg.DrainTimeout, "queued", b.Stats().Queued)
		}
		t.Stop()
	}
	close(quitCommitter)
	commitWG.Wait()
	close(statsDone)
	statsWG.Wait()

	b.log.Info("bot stopped", "stats", b.Stats())
	if srcErr != nil && !(ctx.Err() != nil && errors.Is(srcErr, ctx.Err())) {
		return fmt.Errorf("bot: source %s: %w", b.cfg.Source.Name(), srcErr)
	}
	return nil
}

// dispatch handles control events and hands statuses to the workers,
// recording their order. Every event that carries a cursor takes a place in
// the order, so that the cursor is committed only after what came before.
func (b *Bot) dispatch(intake <-chan stream.Event, jobs chan<- job, order chan<- slot) {
	for ev := range intake {
		switch ev.Kind {
		case stream.KindStatus:
			if !b.seen.add(ev.Status.ID) {
				b.c.duplicates.Add(1)
				break
			}
			b.c.received.Add(1)
			r := make(chan []accepted, 1)
			order <- slot{result: r, cursor: ev.Cursor}
			jobs <- job{status: ev.Status, result: r}
			continue
		case stream.KindDelete:
			b.c.deletes.Add(1)
			b.deleted.add(ev.Delete.StatusID)
		case stream.KindLimit:
			b.c.limits.Add(1)
			b.c.withheld.Store(ev.Limit.Track)
		case stream.KindDisconnect:
			b.c.disconnects.Add(1)
		case stream.KindWarning:
			b.c.warnings.Add(1)
		}
		if ev.Cursor != "" {
			order <- slot{cursor: ev.Cursor}
		}
	}
}

// work runs the route filters of each job. Every worker builds its own
// chains around its own collecting handler, so no state is shared.
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
			if err := h.Handle(ctx, j.status); err != nil {
				b.log.Error("route filter failed", "route", b.cfg.Routes[i].Name, "id", j.status.ID, "err", err)
			}
		}
		j.result <- got
	}
}

// collect takes the workers' verdicts in stream order and hands each
// matched status, with the destinations it goes to, to the committer.
// A source's cursor rides with the next matched status; when no verdict is
// waiting it goes to the committer on its own, so a stream whose statuses
// rarely match still advances its cursor.
func (b *Bot) collect(order <-chan slot, out chan<- pending) {
	queued := make([]bool, len(b.dests))
	var cursor string // the newest cursor not yet handed on
	for {
		var sl slot
		var ok bool
		select {
		case sl, ok = <-order:
		default:
			if cursor != "" {
				out <- pending{cursor: cursor}
				cursor = ""
			}
			sl, ok = <-order
		}
		if !ok {
			if cursor != "" {
				out <- pending{cursor: cursor}
			}
			return
		}
		if sl.cursor != "" {
			cursor = sl.cursor
		}
		if sl.result == nil {
			continue
		}
		verdicts := <-sl.result
		if len(verdicts) == 0 {
			continue
		}
		b.c.matched.Add(1)
		clear(queued)
		p := pending{cursor: cursor}
		cursor = ""
		for _, v := range verdicts {
			s := v.status
			if len(s.Matched) == 0 {
				c := *s
				c.Matched = []string{b.cfg.Routes[v.route].Name}
				s = &c
			}
			p.id = s.ID
			for _, di := range b.routes[v.route] {
				if !queued[di] {
					queued[di] = true
					p.to = append(p.to, target{dest: di, status: s})
				}
			}
		}
		out <- p
	}
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
