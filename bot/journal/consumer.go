package journal

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// consumer is one destination's durable position in the log: a queue of
// the sequence numbers still to deliver and the record in flight. Its
// queue and marks are guarded by the Journal's mutex.
type consumer struct {
	j      *Journal
	idx    int
	name   string
	cap    int
	mark   Mark // as last committed (Open: as loaded)
	stored bool // mark is in Storage

	queue seqQueue  // waiting, in order; the one in flight is not in it
	taken []*Record // handed out by Next and not yet acked, in order
	acked int       // acks of snapshotted records not yet committed: what a crash would redeliver

	notify  chan struct{} // records were appended, or the journal sealed
	dropped atomic.Int64
	depth   atomic.Int64
	oldest  atomic.Int64 // unix ns of the record in flight, 0 when idle

	// Owned by the reading goroutine: the decoded chunk a consumer that
	// fell behind the in-memory tail is reading.
	chunk      []*Record
	chunkFirst uint64
}

// enqueue adds seq to the queue. Call with j.mu held.
func (c *consumer) enqueue(seq uint64) {
	c.queue.push(seq)
	c.depth.Add(1)
}

// trim drops the oldest waiting records over the cap. Call with j.mu held.
func (c *consumer) trim() {
	n := c.queue.len() - c.cap
	if n <= 0 {
		return
	}
	for range n {
		c.queue.pop()
	}
	c.depth.Add(-int64(n))
	if total := c.dropped.Add(int64(n)); crossedPowerOf10(total-int64(n), total) {
		c.j.log.Warn("destination queue over its cap: dropping the oldest statuses",
			"destination", c.name, "queue_cap", c.cap, "dropped", n, "dropped_total", total)
	}
}

// Next implements Consumer.
func (c *consumer) Next(ctx context.Context) (*Record, error) {
	j := c.j
	j.mu.Lock()
	for {
		var wait <-chan struct{}
		switch {
		case j.closing:
			j.mu.Unlock()
			return nil, io.EOF // closed: nothing is delivered any more
		case c.acked >= j.opt.AckWindow:
			wait = j.progress // bound what a crash redelivers
		case c.queue.len() == 0:
			if j.sealed {
				j.mu.Unlock()
				return nil, io.EOF
			}
			wait = c.notify
		}
		if wait == nil {
			break
		}
		j.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		j.mu.Lock()
	}
	seq := c.queue.pop()
	// The record is in flight from here on, before it is read: a commit
	// meanwhile must keep the floor at it and retention its chunk.
	slot := len(c.taken)
	c.taken = append(c.taken, &Record{Seq: seq})
	r := j.record(seq)
	var first, end uint64
	var stored bool
	if r == nil {
		first, end, stored = j.chunkOf(seq)
	}
	j.mu.Unlock()

	if r == nil {
		r = c.fromStorage(seq, first, end, stored)
	}
	j.mu.Lock()
	c.taken[slot] = r                  // Next and Ack run on one goroutine: slot is still r's
	if slot == 0 && !r.Time.IsZero() { // an unreadable record has no time
		c.oldest.Store(r.Time.UnixNano())
	}
	j.mu.Unlock()
	return r, nil
}

// fromStorage returns record seq of the stored chunk [first, end), reading
// and decoding the chunk when it is not the one already held.
func (c *consumer) fromStorage(seq, first, end uint64, stored bool) *Record {
	j := c.j
	if !stored {
		return &Record{Seq: seq, To: []int{c.idx}, Err: errMissing(seq)}
	}
	if c.chunk == nil || c.chunkFirst != first {
		c.chunk, c.chunkFirst = j.readChunk(first, end), first
	}
	r := c.chunk[seq-first]
	c.chunk[seq-first] = nil // handed out: the chunk need not hold it
	if seq+1 == end {
		c.chunk = nil
	}
	if r == nil { // a seq handed out twice cannot happen; a nil must not crash
		r = j.readChunk(first, end)[seq-first]
	}
	return r
}

// Ack implements Consumer.
func (c *consumer) Ack(seq uint64) {
	j := c.j
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for n < len(c.taken) && c.taken[n].Seq <= seq {
		// The ack of a record not yet in a commit's snapshot rides with
		// that commit, which stores the record and the floor past it
		// together: a crash loses both and redelivers nothing. Only acks
		// of records already snapshotted can be lost alone, and only they
		// count toward AckWindow.
		if c.taken[n].Seq < j.snapshotted {
			c.acked++
		}
		c.taken[n] = nil
		n++
	}
	if n == 0 {
		return
	}
	c.taken = c.taken[n:]
	c.depth.Add(-int64(n))
	c.oldest.Store(0)
	if len(c.taken) > 0 && !c.taken[0].Time.IsZero() {
		c.oldest.Store(c.taken[0].Time.UnixNano())
	}
	poke(j.kick)
}

// Depth implements Consumer.
func (c *consumer) Depth() int { return int(c.depth.Load()) }

// Oldest implements Consumer.
func (c *consumer) Oldest() time.Time {
	if ns := c.oldest.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Dropped implements Consumer.
func (c *consumer) Dropped() int64 { return c.dropped.Load() }

// markNow is the consumer's mark as of a commit that stores every record
// below next. Call with j.mu held.
func (c *consumer) markNow(next uint64) Mark {
	return Mark{ID: c.mark.ID, Floor: min(next, c.need())}
}

// need is the lowest seq the consumer still needs: the first record it
// has taken and not acked, else the front of its queue. Call with j.mu
// held.
func (c *consumer) need() uint64 {
	switch {
	case len(c.taken) > 0:
		return c.taken[0].Seq
	case c.queue.len() > 0:
		return c.queue.front()
	}
	return c.j.head
}

// seqQueue is a FIFO of increasing sequence numbers, kept as runs of
// consecutive ones: a destination that takes every record holds one run
// however long its backlog, one that takes every other record a run each.
type seqQueue struct {
	runs []seqRun // a ring buffer
	head int      // index of the first run
	nr   int      // runs in use
	n    int      // sequence numbers in all
}

// seqRun is the sequence numbers first, first+1, ..., first+n-1.
type seqRun struct {
	first uint64
	n     uint64
}

func (q *seqQueue) len() int { return q.n }

func (q *seqQueue) front() uint64 { return q.runs[q.head].first }

func (q *seqQueue) push(v uint64) {
	q.n++
	if q.nr > 0 {
		last := &q.runs[(q.head+q.nr-1)%len(q.runs)]
		if last.first+last.n == v {
			last.n++
			return
		}
	}
	if q.nr == len(q.runs) {
		q.resize(max(4, 2*len(q.runs)))
	}
	q.runs[(q.head+q.nr)%len(q.runs)] = seqRun{first: v, n: 1}
	q.nr++
}

func (q *seqQueue) pop() uint64 {
	r := &q.runs[q.head]
	v := r.first
	r.first++
	r.n--
	q.n--
	if r.n == 0 {
		q.head = (q.head + 1) % len(q.runs)
		q.nr--
		if len(q.runs) > 64 && q.nr < len(q.runs)/4 {
			q.resize(len(q.runs) / 2)
		}
	}
	return v
}

func (q *seqQueue) resize(size int) {
	runs := make([]seqRun, size)
	for i := range q.nr {
		runs[i] = q.runs[(q.head+i)%len(q.runs)]
	}
	q.runs, q.head = runs, 0
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
