package bot

import (
	"context"
	"fmt"
	"slices"

	"github.com/streambot/streambot/bot/journal"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// The pipeline between the source and the log moves events in batches: the
// dispatcher takes whatever the source has emitted (up to maxBatch) and
// hands it to one worker as one job, so a fast stream costs a few channel
// operations per batch instead of several per status, while a slow one
// still moves each event on its own at once.
const (
	intakeBuffer = 1024 // events the source may emit ahead of the dispatcher
	maxBatch     = 128  // events in one job
)

// accepted is one route's verdict on a status: the (possibly annotated)
// status to deliver to the route's destinations.
type accepted struct {
	route  int
	status *stream.Status
}

// job is a batch of statuses for one worker; it sends one verdict list per
// status on result.
type job struct {
	statuses []*stream.Status
	result   chan<- [][]accepted
}

// slot keeps a batch's place in stream order between the dispatcher and
// the collector: its items in order, the verdicts of its statuses (nil
// when it has none) and the source's cursor after its last event.
type slot struct {
	items  []item
	result <-chan [][]accepted
	cursor string
}

// item is one event of a batch that the log hears of: a status (the index
// of its verdicts) or a delete.
type item struct {
	status  int // index in the job, for a status
	deleted string
}

// dispatch handles control events, drops re-sent statuses and hands the
// rest to the workers in batches, recording their order.
func (b *Bot) dispatch(intake <-chan stream.Event, jobs chan<- job, order chan<- slot) {
	for ev := range intake {
		var sl slot
		var statuses []*stream.Status
		for n := 0; ; n++ {
			if ev.Cursor != "" {
				sl.cursor = ev.Cursor
			}
			if s, id := b.classify(ev); s != nil {
				sl.items = append(sl.items, item{status: len(statuses)})
				statuses = append(statuses, s)
			} else if id != "" {
				sl.items = append(sl.items, item{deleted: id})
			}
			if n+1 == maxBatch {
				break
			}
			var ok bool
			select {
			case ev, ok = <-intake:
			default:
			}
			if !ok {
				break
			}
		}
		if len(statuses) > 0 {
			r := make(chan [][]accepted, 1)
			sl.result = r
			order <- sl
			jobs <- job{statuses: statuses, result: r}
			continue
		}
		if sl.cursor != "" || len(sl.items) > 0 {
			order <- sl
		}
	}
}

// classify counts ev and returns the status to route (new, not a
// duplicate), or the ID a delete cancels.
func (b *Bot) classify(ev stream.Event) (*stream.Status, string) {
	switch ev.Kind {
	case stream.KindStatus:
		switch {
		case ev.Status == nil:
			b.log.Error("the source emitted a status event without a status: ignoring it", "source", b.cfg.Source.Name())
		case !b.seen.add(ev.Status.ID):
			b.c.duplicates.Add(1)
		default:
			b.c.received.Add(1)
			return ev.Status, ""
		}
	case stream.KindDelete:
		b.c.deletes.Add(1)
		if b.deleted.add(ev.Delete.StatusID) {
			return nil, ev.Delete.StatusID
		}
	case stream.KindLimit:
		b.c.limits.Add(1)
		b.c.withheld.Store(ev.Limit.Track)
	case stream.KindDisconnect:
		b.c.disconnects.Add(1)
	case stream.KindWarning:
		b.c.warnings.Add(1)
	}
	return nil, ""
}

// work runs the route filters of each job's statuses. Every worker builds
// its own chains around its own collecting handler, so no state is shared.
// A filter that panics is logged and counts as not taking the status.
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
		verdicts := make([][]accepted, len(j.statuses))
		for k, s := range j.statuses {
			got = nil // the previous slice now belongs to the collector
			for i, h := range chains {
				if err := callSafely(ctx, h, s); err != nil {
					b.log.Error("route filter failed", "route", b.cfg.Routes[i].Name, "id", s.ID, "err", err)
				}
			}
			verdicts[k] = got
		}
		j.result <- verdicts
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
const appendBatch = 512

// collect takes the batches in stream order and appends one record per
// matched status, and a tombstone per delete, to the log, with the
// source's newest cursor. It appends what it holds whenever no batch is
// waiting, so a quiet stream is not held back.
func (b *Bot) collect(ctx context.Context, order <-chan slot) {
	var recs []*journal.Record
	var cursor string
	flush := func() {
		if len(recs) == 0 && cursor == "" {
			return
		}
		if err := b.journal.Append(ctx, recs, cursor); err != nil {
			b.log.Error("cannot append to the delivery log: statuses lost", "statuses", len(recs), "err", err)
		}
		recs, cursor = nil, ""
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
		var verdicts [][]accepted
		if sl.result != nil {
			verdicts = <-sl.result
		}
		for _, it := range sl.items {
			if it.deleted != "" {
				recs = append(recs, &journal.Record{Deleted: it.deleted})
			} else if r := b.record(verdicts[it.status]); r != nil {
				b.c.matched.Add(1)
				recs = append(recs, r)
			}
		}
		if sl.cursor != "" {
			cursor = sl.cursor
		}
		if len(recs) >= appendBatch {
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
