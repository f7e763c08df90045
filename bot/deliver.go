package bot

import (
	"context"
	"time"

	"github.com/streambot/streambot/handlers"
)

// deliver hands d's queued statuses to its handler, one at a time, in
// queue order, holding at most ReadAhead of them in memory. It returns
// when ctx ends (what is left stays queued) or when the queue is empty and
// sealed.
func (b *Bot) deliver(ctx context.Context, d *destination) {
	var window []Entry
	cursor := d.start
	backoff := 50 * time.Millisecond
	for {
		if ctx.Err() != nil {
			return
		}
		if len(window) == 0 {
			d.mu.Lock()
			cursor = max(cursor, d.floor)
			d.mu.Unlock()
			sealed := d.sealed.Load()
			var err error
			window, err = b.cfg.Store.Read(d.Name, cursor, b.cfg.ReadAhead)
			if err != nil {
				b.log.Error("cannot read the outbox: retrying", "destination", d.Name, "err", err, "retry_in", backoff)
				if handlers.SleepContext(ctx, backoff) != nil {
					return
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			backoff = 50 * time.Millisecond
			if len(window) == 0 {
				d.oldest.Store(0)
				if sealed {
					return
				}
				select {
				case <-d.notify:
				case <-ctx.Done():
					return
				}
				continue
			}
			cursor = window[len(window)-1].Seq + 1
		}
		e := window[0]
		window[0] = Entry{} // let the status go once handled
		window = window[1:]

		d.mu.Lock()
		if e.Seq < d.floor { // dropped by the cap (and counted) meanwhile
			d.acked = max(d.acked, e.Seq+1)
			d.mu.Unlock()
			continue
		}
		d.sending, d.busy = e.Seq, true
		d.mu.Unlock()
		d.oldest.Store(e.Time.UnixNano())

		if !b.handle(ctx, d, e) {
			d.mu.Lock()
			d.busy = false
			d.mu.Unlock()
			return // stopped: the entry stays queued
		}
		d.mu.Lock()
		d.busy = false
		d.acked = max(d.acked, e.Seq+1)
		d.mu.Unlock()
		poke(b.wake)
		// Do not run more than AckWindow entries ahead of what is durably
		// acknowledged: that bounds the re-deliveries after a crash.
		for e.Seq+1-d.durable.Load() > uint64(b.cfg.AckWindow) {
			select {
			case <-d.committed:
			case <-ctx.Done():
				return
			}
		}
	}
}

// handle delivers one entry, retrying retryable failures. It reports
// whether the entry is done (delivered, failed for good or cancelled by a
// delete); false means ctx ended first. The entry being handled is never
// dropped by the cap.
func (b *Bot) handle(ctx context.Context, d *destination, e Entry) bool {
	if e.Status == nil {
		d.c.failed.Add(1)
		b.log.Error("delivery failed: the queued entry is unreadable: removing it", "destination", d.Name, "seq", e.Seq)
		return true
	}
	if b.deleted.contains(e.Status.ID) {
		d.c.cancelled.Add(1)
		return true
	}
	policy := b.cfg.Retry
	policy.OnRetry = func(err error, attempt int, delay time.Duration) {
		d.c.retried.Add(1)
		b.log.Warn("delivery failed: retrying", "destination", d.Name, "id", e.Status.ID,
			"attempt", attempt, "delay", delay, "err", err)
	}
	err := policy.Do(ctx, func(ctx context.Context) error {
		start := time.Now()
		err := d.Handler.Handle(ctx, e.Status)
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
		b.log.Error("delivery failed for good: removing the status from the queue", "destination", d.Name, "id", e.Status.ID, "err", err)
	}
	return true
}
