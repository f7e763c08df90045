package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// Bot runs one source through routes to destinations. Create it with New
// and start it with Run; a Bot runs once.
type Bot struct {
	cfg     Config
	log     *slog.Logger
	c       counters
	dests   []*destination
	byName  map[string]int
	routes  [][]int // route index -> destination indexes
	seen    *idSet  // dedupe of re-sent statuses
	deleted *idSet  // statuses the stream deleted
}

type destination struct {
	Destination
	queue chan *stream.Status
	c     destCounters
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
		size := d.QueueSize
		if size <= 0 {
			size = cfg.QueueSize
		}
		b.dests = append(b.dests, &destination{Destination: d, queue: make(chan *stream.Status, size)})
		b.byName[d.Name] = i
	}
	for _, r := range cfg.Routes {
		var idx []int
		for _, name := range r.Destinations {
			idx = append(idx, b.byName[name])
		}
		b.routes = append(b.routes, idx)
	}
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
		}
		s.Destinations[d.Name] = ds
		s.Forwarded += ds.Forwarded
		s.Dropped += ds.Dropped
		s.Failed += ds.Failed
		s.Cancelled += ds.Cancelled
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

// Run streams until ctx ends or the source stops, then drains: statuses
// already queued keep being delivered for up to DrainTimeout. It returns nil
// after a cancelled ctx or a finished source, and the source's error (for
// example a stream.PermanentError) otherwise, in both cases after draining.
func (b *Bot) Run(ctx context.Context) error {
	b.log.Info("bot starting", "source", b.cfg.Source.Name(), "routes", len(b.cfg.Routes),
		"destinations", len(b.dests), "workers", b.cfg.Workers)

	// Destinations deliver on a context that survives ctx by the drain timeout.
	deliverCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDelivery()
	var destWG sync.WaitGroup
	for _, d := range b.dests {
		destWG.Go(func() { b.deliver(deliverCtx, d) })
	}

	statsDone := make(chan struct{})
	var statsWG sync.WaitGroup
	if b.cfg.StatsInterval > 0 {
		statsWG.Go(func() { b.logStats(statsDone) })
	}

	intake := make(chan stream.Event, 4*b.cfg.Workers)
	jobs := make(chan job, b.cfg.Workers)
	order := make(chan chan []accepted, 4*b.cfg.Workers)

	var pipeWG sync.WaitGroup
	var srcErr error
	pipeWG.Go(func() {
		defer close(intake)
		srcErr = b.cfg.Source.Run(ctx, func(ev stream.Event) error {
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
		b.collect(order)
		for _, d := range b.dests {
			close(d.queue)
		}
	})

	pipeWG.Wait()
	workerWG.Wait()

	// Everything accepted is queued; let the destinations finish.
	delivered := make(chan struct{})
	go func() { destWG.Wait(); close(delivered) }()
	select {
	case <-delivered:
	case <-ctx.Done():
		t := time.NewTimer(b.cfg.DrainTimeout)
		select {
		case <-delivered:
		case <-t.C:
			b.log.Warn("drain timed out: dropping undelivered statuses", "timeout", b.cfg.DrainTimeout)
			stopDelivery()
			<-delivered
		}
		t.Stop()
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
// recording their order.
func (b *Bot) dispatch(intake <-chan stream.Event, jobs chan<- job, order chan<- chan []accepted) {
	for ev := range intake {
		switch ev.Kind {
		case stream.KindStatus:
			if !b.seen.add(ev.Status.ID) {
				b.c.duplicates.Add(1)
				continue
			}
			b.c.received.Add(1)
			r := make(chan []accepted, 1)
			order <- r
			jobs <- job{status: ev.Status, result: r}
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

// collect takes the workers' verdicts in stream order and queues each status
// once per destination.
func (b *Bot) collect(order <-chan chan []accepted) {
	queued := make([]bool, len(b.dests))
	for r := range order {
		verdicts := <-r
		if len(verdicts) == 0 {
			continue
		}
		b.c.matched.Add(1)
		clear(queued)
		for _, v := range verdicts {
			s := v.status
			if len(s.Matched) == 0 {
				c := *s
				c.Matched = []string{b.cfg.Routes[v.route].Name}
				s = &c
			}
			for _, di := range b.routes[v.route] {
				if !queued[di] {
					queued[di] = true
					b.enqueue(b.dests[di], s)
				}
			}
		}
	}
}

// enqueue queues s for d without waiting: a full queue drops s for d only.
func (b *Bot) enqueue(d *destination, s *stream.Status) {
	select {
	case d.queue <- s:
	default:
		if n := d.c.dropped.Add(1); isPowerOf10(n) {
			b.log.Warn("destination queue full: dropping newest status",
				"destination", d.Name, "queue_size", cap(d.queue), "id", s.ID, "dropped_total", n)
		}
	}
}

// deliver hands d's queued statuses to its handler, one at a time, in order.
func (b *Bot) deliver(ctx context.Context, d *destination) {
	for s := range d.queue {
		switch {
		case ctx.Err() != nil:
			d.c.dropped.Add(1)
		case b.deleted.contains(s.ID):
			d.c.cancelled.Add(1)
		default:
			if err := d.Handler.Handle(ctx, s); err != nil {
				d.c.failed.Add(1)
				b.log.Error("delivery failed", "destination", d.Name, "id", s.ID, "err", err)
				continue
			}
			d.c.forwarded.Add(1)
		}
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

func isPowerOf10(n int64) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}
