package bot

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/streambot/streambot/bot/journal"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// maxHeld bounds the statuses a buffering destination (handlers.Flusher)
// holds before they are flushed and acknowledged.
const maxHeld = 256

// deliver hands d's records to its handler, one at a time, in log order.
// It returns when ctx ends (the records in flight stay queued and are the
// first delivered at the next start) or when the sealed log has nothing
// more for d.
//
// A destination whose handler buffers (handlers.Flusher) is flushed, and
// what it handled acknowledged, when nothing more waits for it or after
// maxHeld statuses: one write for many statuses, and nothing acknowledged
// before it reached the destination.
func (b *Bot) deliver(ctx context.Context, d *destination) {
	flusher, _ := d.Handler.(handlers.Flusher)
	var last uint64 // the last record held
	held, delivered := 0, 0
	release := func() bool {
		if held == 0 {
			return true
		}
		if !b.flush(ctx, d, flusher, delivered) {
			return false
		}
		d.consumer.Ack(last)
		held, delivered = 0, 0
		return true
	}
	for {
		if held > 0 && (held >= maxHeld || d.consumer.Depth() <= held) && !release() {
			return
		}
		r, err := d.consumer.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				release() // drained: write out what is held
			}
			return
		}
		switch b.handle(ctx, d, r) {
		case stopped:
			return
		case sent:
			if flusher != nil {
				delivered++
				break
			}
			d.c.forwarded.Add(1)
		}
		if flusher == nil {
			d.consumer.Ack(r.Seq)
			continue
		}
		last = r.Seq
		held++
	}
}

// outcome is what became of one record.
type outcome int

const (
	sent    outcome = iota // the destination accepted it
	done                   // failed for good, unreadable or cancelled: counted, skip it
	stopped                // ctx ended first: it stays in flight
)

// handle delivers one record; the delivery loop is the only place that
// retries: a sink makes one attempt per call and classifies its failure.
func (b *Bot) handle(ctx context.Context, d *destination, r *journal.Record) outcome {
	if r.Err != nil || r.Status == nil {
		d.c.failed.Add(1)
		b.log.Error("delivery failed: the queued record is unreadable: skipping it", "destination", d.Name, "seq", r.Seq, "err", r.Err)
		return done
	}
	if b.deleted.contains(r.Status.ID) {
		d.c.cancelled.Add(1)
		return done
	}
	s := d.view(r.Status)
	err := b.retry(ctx, d, s.ID, func(ctx context.Context) error { return callSafely(ctx, d.Handler, s) })
	switch {
	case err == nil:
		return sent
	case ctx.Err() != nil:
		return stopped
	}
	d.c.failed.Add(1)
	b.log.Error("delivery failed for good: removing the status from the queue", "destination", d.Name, "id", s.ID, "err", err)
	return done
}

// flush writes out what a buffering destination holds, retrying as a
// delivery does; n statuses it accepted are counted forwarded then, or
// failed if the flush fails for good. It reports false when ctx ended
// first.
func (b *Bot) flush(ctx context.Context, d *destination, f handlers.Flusher, n int) bool {
	err := b.retry(ctx, d, "(flush)", f.Flush)
	switch {
	case err == nil:
		d.c.forwarded.Add(int64(n))
		return true
	case ctx.Err() != nil:
		return false
	}
	d.c.failed.Add(int64(n))
	b.log.Error("delivery failed for good: the destination could not write out what it held", "destination", d.Name, "statuses", n, "err", err)
	return true
}

// retry runs one attempt after another as Config.Retry says, counting
// every retry and timing every attempt.
func (b *Bot) retry(ctx context.Context, d *destination, id string, attempt func(context.Context) error) error {
	policy := b.cfg.Retry
	policy.OnRetry = func(err error, n int, delay time.Duration) {
		d.c.retried.Add(1)
		b.log.Warn("delivery failed: retrying", "destination", d.Name, "id", id, "attempt", n, "delay", delay, "err", err)
	}
	return policy.Do(ctx, func(ctx context.Context) error {
		start := time.Now()
		err := attempt(ctx)
		b.metrics.observeSend(d.Name, time.Since(start), err)
		return err
	})
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
