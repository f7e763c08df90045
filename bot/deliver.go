package bot

import (
	"context"
	"time"

	"github.com/streambot/streambot/bot/journal"
	"github.com/streambot/streambot/stream"
)

// deliver hands d's records to its handler, one at a time, in log order.
// It returns when ctx ends (the record in flight stays queued and is the
// first delivered at the next start) or when the sealed log has nothing
// more for d.
func (b *Bot) deliver(ctx context.Context, d *destination) {
	for {
		r, err := d.consumer.Next(ctx)
		if err != nil {
			return // io.EOF (drained) or ctx ended
		}
		if !b.handle(ctx, d, r) {
			return
		}
		d.consumer.Ack(r.Seq)
	}
}

// handle delivers one record; the delivery loop is the only place that
// retries: a sink makes one attempt per call and classifies its failure.
// It reports whether the record is done (delivered, failed for good,
// unreadable or cancelled by a delete); false means ctx ended first.
func (b *Bot) handle(ctx context.Context, d *destination, r *journal.Record) bool {
	if r.Err != nil || r.Status == nil {
		d.c.failed.Add(1)
		b.log.Error("delivery failed: the queued record is unreadable: skipping it", "destination", d.Name, "seq", r.Seq, "err", r.Err)
		return true
	}
	if b.deleted.contains(r.Status.ID) {
		d.c.cancelled.Add(1)
		return true
	}
	s := d.view(r.Status)
	policy := b.cfg.Retry
	policy.OnRetry = func(err error, attempt int, delay time.Duration) {
		d.c.retried.Add(1)
		b.log.Warn("delivery failed: retrying", "destination", d.Name, "id", s.ID,
			"attempt", attempt, "delay", delay, "err", err)
	}
	err := policy.Do(ctx, func(ctx context.Context) error {
		start := time.Now()
		err := callSafely(ctx, d.Handler, s)
		b.metrics.observeSend(d.Name, time.Since(start), err)
		return err
	})
	switch {
	case err == nil:
		d.c.forwarded.Add(1)
	case ctx.Err() != nil:
		return false
	default:
		d.c.failed.Add(1)
		b.log.Error("delivery failed for good: removing the status from the queue", "destination", d.Name, "id", s.ID, "err", err)
	}
	return true
}

// view is the status as d sees it: Routes names only the routes that lead
// to d, and Raw is there only when d asked for it.
func (d *destination) view(s *stream.Status) *stream.Status {
	mine := 0
	for _, r := range s.Routes {
		if d.routes[r] {
			mine++
		}
	}
	stripRaw := !d.Raw && s.Raw != nil
	if mine == len(s.Routes) && !stripRaw {
		return s
	}
	c := *s
	if mine != len(s.Routes) {
		c.Routes = make([]string, 0, mine)
		for _, r := range s.Routes {
			if d.routes[r] {
				c.Routes = append(c.Routes, r)
			}
		}
	}
	if stripRaw {
		c.Raw = nil
	}
	return &c
}
