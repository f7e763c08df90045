package bot

import (
	"time"

	"github.com/streambot/streambot/stream"
)

// pending is one matched status on its way to the committer.
type pending struct {
	id     string   // the status ID, remembered for dedupe; empty for a cursor alone
	to     []target // one per destination
	cursor string   // the source's cursor after this status, if it has one
}

// cursorInterval bounds how often a cursor is committed on its own: a
// stream that rarely matches would otherwise cost an fsync per event. A
// cursor riding with statuses or acks is always written.
const cursorInterval = time.Second

type target struct {
	dest   int
	status *stream.Status // as annotated by the route that took it
}

// commitLoop is the only writer of the Store. Each round gathers what is
// ready — matched statuses from in (up to CommitBatch, waiting up to
// CommitDelay for more) and the acknowledgements the delivery goroutines
// have recorded — and writes it in one Store.Commit: one transaction, one
// fsync, however many statuses. When in is closed it marks every queue
// sealed; it returns after quit is closed, with a last commit of the acks.
func (b *Bot) commitLoop(in <-chan pending, quit <-chan struct{}) {
	for {
		var items []pending
		sealed := false
		// A cursor waiting for its interval is flushed when it is due,
		// even if the stream has gone quiet.
		var flush <-chan time.Time
		stopFlush := func() bool { return false }
		if b.cursor != b.cursorCommitted {
			t := time.NewTimer(max(0, cursorInterval-b.cfg.Now().Sub(b.cursorAt)))
			flush, stopFlush = t.C, t.Stop
		}
		select {
		case <-flush:
		case p, ok := <-in:
			if ok {
				items, sealed = b.gather(in, append(items, p))
			} else {
				sealed = true
			}
			if sealed {
				in = nil
			}
		case <-b.wake:
		case <-quit:
			stopFlush()
			b.commit(nil, nil)
			return
		}
		stopFlush()
		b.commit(items, quit)
		if sealed {
			for _, d := range b.dests {
				d.sealed.Store(true)
				poke(d.notify)
			}
		}
	}
}

// gather adds to items what in holds, up to CommitBatch, waiting at most
// CommitDelay for more. It reports whether in was closed.
func (b *Bot) gather(in <-chan pending, items []pending) ([]pending, bool) {
	var deadline <-chan time.Time
	if b.cfg.CommitDelay > 0 {
		t := time.NewTimer(b.cfg.CommitDelay)
		defer t.Stop()
		deadline = t.C
	}
	for len(items) < b.cfg.CommitBatch {
		select {
		case p, ok := <-in:
			if !ok {
				return items, true
			}
			items = append(items, p)
			continue
		default:
		}
		if deadline == nil {
			return items, false
		}
		select {
		case p, ok := <-in:
			if !ok {
				return items, true
			}
			items = append(items, p)
		case <-deadline:
			return items, false
		case <-b.wake: // acknowledgements are waiting: a delivery may be blocked on them
			return items, false
		}
	}
	return items, false
}

// destRound is one destination's part of a commit.
type destRound struct {
	appended int
	ackTo    uint64
	ack      int // index in batch.Remove[name] of the ack range, or -1
	drop     int // index of the range dropped by the cap, or -1
}

// commit writes items and the recorded acks in one Store.Commit, applies
// each queue's cap, and retries a failing Store until it succeeds or quit
// is closed. A nil quit is the last commit: it writes the newest cursor
// whatever its age and does not retry.
func (b *Bot) commit(items []pending, quit <-chan struct{}) {
	batch := &Batch{Append: map[string][]Entry{}, Remove: map[string][]SeqRange{}}
	now := b.cfg.Now()
	for _, p := range items {
		if p.cursor != "" {
			b.cursor = p.cursor
		}
		if p.id == "" {
			continue
		}
		batch.Seen = append(batch.Seen, p.id)
		for _, t := range p.to {
			d := b.dests[t.dest]
			batch.Append[d.Name] = append(batch.Append[d.Name], Entry{Seq: d.next, Time: now, Status: t.status})
			d.next++
		}
	}
	rounds := make([]destRound, len(b.dests))
	for i, d := range b.dests {
		r := destRound{appended: len(batch.Append[d.Name]), ack: -1, drop: -1}
		d.mu.Lock()
		r.ackTo = d.acked
		if r.ackTo > d.ackCommitted {
			r.ack = len(batch.Remove[d.Name])
			batch.Remove[d.Name] = append(batch.Remove[d.Name], SeqRange{From: d.ackCommitted, To: r.ackTo})
		}
		// Drop the oldest waiting entries over the cap; the entry being
		// sent is not waiting and is never dropped.
		start := max(r.ackTo, d.floor)
		if d.busy {
			start = max(start, d.sending+1)
		}
		if d.next > start && d.next-start > uint64(d.cap) {
			floor := d.next - uint64(d.cap)
			r.drop = len(batch.Remove[d.Name])
			batch.Remove[d.Name] = append(batch.Remove[d.Name], SeqRange{From: start, To: floor})
			d.floor = floor
		}
		d.mu.Unlock()
		rounds[i] = r
	}
	if b.cursor != b.cursorCommitted && (!batch.empty() || quit == nil || now.Sub(b.cursorAt) >= cursorInterval) {
		batch.Cursor = &Cursor{Source: b.cfg.Source.Name(), Position: b.cursor}
	}
	if batch.empty() {
		return
	}
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		err := b.cfg.Store.Commit(batch)
		if err == nil {
			break
		}
		if quit == nil {
			b.log.Error("cannot write the outbox at shutdown", "err", err)
			return
		}
		b.log.Error("cannot write the outbox: retrying (accepting statuses is paused)", "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-quit:
			t.Stop()
			b.log.Error("giving up writing the outbox at shutdown", "statuses", len(items))
			return
		}
	}
	for i, d := range b.dests {
		r := rounds[i]
		rs := batch.Remove[d.Name]
		removed := 0
		for _, x := range rs {
			removed += x.Removed
		}
		d.depth.Add(int64(r.appended - removed))
		if r.drop >= 0 && rs[r.drop].Removed > 0 {
			n := rs[r.drop].Removed
			if total := d.c.dropped.Add(int64(n)); crossedPowerOf10(total-int64(n), total) {
				b.log.Warn("destination queue over its cap: dropping the oldest statuses",
					"destination", d.Name, "queue_cap", d.cap, "dropped", n, "dropped_total", total)
			}
		}
		if r.ackTo > d.ackCommitted {
			d.ackCommitted = r.ackTo
			d.durable.Store(r.ackTo)
			poke(d.committed)
		}
		if r.appended > 0 {
			poke(d.notify)
		}
	}
	if batch.Cursor != nil {
		b.cursorCommitted, b.cursorAt = batch.Cursor.Position, now
		if b.resumer != nil {
			b.resumer.Committed(batch.Cursor.Position)
		}
	}
	if b.onCommit != nil {
		b.onCommit()
	}
}

// crossedPowerOf10 reports whether a count going from before to after
// reached 1, 10, 100, ...: warnings are logged that often.
func crossedPowerOf10(before, after int64) bool {
	for p := int64(1); p > 0 && p <= after; p *= 10 {
		if before < p {
			return true
		}
	}
	return false
}
