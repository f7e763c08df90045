package journal

import (
	"time"
)

// commitLoop is the only writer of the Storage. Each round writes, in one
// Commit, up to CommitBatch records appended since the last round (waiting
// up to CommitDelay for a full batch), the consumers' changed marks, the
// newest cursor and the chunks retention frees. It returns after Close,
// with a last round that writes everything left.
func (j *Journal) commitLoop() {
	defer close(j.stopped)
	for {
		j.mu.Lock()
		closing := j.closing
		pending := j.head > j.durable
		var flush <-chan time.Time
		var flushTimer *time.Timer
		if j.cursor != j.committed {
			flushTimer = time.NewTimer(max(0, CursorInterval-j.opt.Now().Sub(j.cursorAt)))
			flush = flushTimer.C
		}
		j.mu.Unlock()
		if closing {
			for j.round(true) {
			}
			return
		}
		if !pending {
			select {
			case <-j.kick:
			case <-flush:
			}
		}
		if flushTimer != nil {
			flushTimer.Stop()
		}
		// Records wait for a fuller batch; acks alone are written at once.
		j.mu.Lock()
		partial := j.head > j.durable && j.head-j.durable < uint64(j.opt.CommitBatch) && !j.closing
		j.mu.Unlock()
		if partial && j.opt.CommitDelay > 0 {
			t := time.NewTimer(j.opt.CommitDelay)
			select {
			case <-j.full:
			case <-t.C:
			}
			t.Stop()
		}
		for j.round(false) {
		}
	}
}

// chunksPerCommit is how many chunks of CommitBatch records one group
// commit may write: when the disk is slow, records pile up while a commit
// runs and the next one takes them all, for the same two fsyncs.
const chunksPerCommit = 8

// round makes one group commit of what is ready and reports whether more
// records wait to be committed. On a failing Storage it retries, with a
// growing delay, until it succeeds or the journal is closing.
func (j *Journal) round(final bool) bool {
	now := j.opt.Now()
	j.mu.Lock()
	first := j.durable
	next := min(j.head, first+uint64(chunksPerCommit*j.opt.CommitBatch))
	recs := j.tail[first-j.memStart : next-j.memStart]
	j.snapshotted = next
	c := &Commit{First: first, Next: next, Marks: map[string]Mark{}, DropChunks: j.dropChunks}
	acked := make([]int, len(j.cons))
	for i, cs := range j.cons {
		acked[i] = cs.acked
		if m := cs.markNow(next); m != cs.mark || !cs.stored {
			c.Marks[cs.name] = m
		}
	}
	if next == j.head && j.cursor != j.committed && (next > first || final || now.Sub(j.cursorAt) >= CursorInterval) {
		c.Cursor = &Cursor{Source: j.opt.Source, Position: j.cursor}
	}
	// The IDs entries beyond the window, counting this round's.
	idsCount, keptIDs := j.idsCount+seenIn(recs), 0
	for keptIDs < len(j.ids) && idsCount-j.ids[keptIDs].n >= j.opt.Window {
		c.DropIDs = append(c.DropIDs, j.ids[keptIDs].key)
		idsCount -= j.ids[keptIDs].n
		keptIDs++
	}
	j.mu.Unlock()

	if len(recs) == 0 && len(c.Marks) == 0 && c.Cursor == nil && len(c.DropChunks) == 0 && len(c.DropIDs) == 0 {
		return false
	}
	if len(recs) > 0 {
		ids := &IDs{Key: first}
		for _, r := range recs {
			if r.Status != nil {
				ids.Seen = append(ids.Seen, r.Status.ID)
			} else {
				ids.Deleted = append(ids.Deleted, r.Deleted)
			}
		}
		c.IDs = ids
		if j.st != nil {
			for i := 0; i < len(recs); i += j.opt.CommitBatch {
				part := recs[i:min(i+j.opt.CommitBatch, len(recs))]
				c.Chunks = append(c.Chunks, EncodedChunk{
					Span: Span{part[0].Seq, part[len(part)-1].Seq + 1}, Data: j.encodeChunk(part)})
			}
		}
	}
	if j.st != nil && !j.write(c, final) {
		return false
	}

	j.mu.Lock()
	j.durable = next
	if len(recs) > 0 {
		for _, ch := range c.Chunks {
			j.chunks = append(j.chunks, ch.Span)
		}
		j.ids = append(j.ids, idsEntry{key: first, n: len(c.IDs.Seen)})
	}
	j.ids = j.ids[keptIDs:]
	j.idsCount = idsCount
	j.dropChunks = j.dropChunks[len(c.DropChunks):]
	for i, cs := range j.cons {
		cs.acked -= acked[i]
		if m, ok := c.Marks[cs.name]; ok {
			cs.mark, cs.stored = m, true
		}
	}
	if c.Cursor != nil {
		j.committed, j.cursorAt = c.Cursor.Position, now
	}
	j.retain()
	close(j.progress)
	j.progress = make(chan struct{})
	more := j.head > j.durable
	j.mu.Unlock()

	if c.Cursor != nil && j.opt.OnCursor != nil {
		j.opt.OnCursor(c.Cursor.Position)
	}
	if j.opt.OnCommit != nil {
		j.opt.OnCommit()
	}
	return more
}

// write commits c, retrying a failing Storage with a growing delay until
// it succeeds, or once only when final. It reports whether c was written.
func (j *Journal) write(c *Commit, final bool) bool {
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		err := j.st.Commit(c)
		if err == nil {
			return true
		}
		j.mu.Lock()
		closing := j.closing
		if final || closing {
			j.err = err
		}
		j.mu.Unlock()
		if final || closing {
			j.log.Error("journal: cannot write the log at shutdown: what was not committed is lost", "err", err)
			return false
		}
		j.log.Error("journal: cannot write the log: retrying (accepting statuses is paused)", "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-j.closed: // try once more, as the last commit
		}
		t.Stop()
	}
}

// seenIn counts the status records of recs.
func seenIn(recs []*Record) int {
	n := 0
	for _, r := range recs {
		if r.Status != nil {
			n++
		}
	}
	return n
}

// encodeChunk encodes recs as one chunk.
func (j *Journal) encodeChunk(recs []*Record) []byte {
	size := 16
	for _, r := range recs {
		size += 64
		if s := r.Status; s != nil {
			size += len(s.Text) + len(s.URL) + len(s.Raw) + 128
		}
	}
	b := chunkHeader(make([]byte, 0, size), len(recs))
	for _, r := range recs {
		b = appendRecord(b, r, j.consumerIDs)
	}
	return b
}

// retain lets go of what no consumer needs: the records at the front of
// the in-memory tail (and, with Storage, committed records beyond the
// tail's size, which stay readable from Storage) and the stored chunks
// that hold no record any consumer waits for or has in flight. Call with
// j.mu held.
func (j *Journal) retain() {
	need := j.head
	for _, c := range j.cons {
		need = min(need, c.need())
	}
	n := 0
	for n < len(j.tail) && j.tail[n].Seq < j.durable &&
		(j.tail[n].Seq < need || (j.st != nil && len(j.tail)-n > j.opt.Tail)) {
		j.tail[n] = nil
		n++
	}
	if n > 0 {
		j.tail = j.tail[n:]
		j.memStart += uint64(n)
		if cap(j.tail) > 4*len(j.tail)+1024 { // let a long-gone backlog's array go
			j.tail = append([]*Record(nil), j.tail...)
		}
	}
	if j.st == nil {
		return
	}
	kept := j.chunks[:0]
	for _, sp := range j.chunks {
		if sp.End > need || j.pinned(sp.First, sp.End) {
			kept = append(kept, sp)
			continue
		}
		j.dropChunks = append(j.dropChunks, sp)
	}
	j.chunks = kept
}

// pinned reports whether an orphaned consumer waits for a record of the
// chunk [first, end). Call with j.mu held.
func (j *Journal) pinned(first, end uint64) bool {
	for _, o := range j.orphans {
		if o.chunks[first] {
			return true
		}
	}
	return false
}
