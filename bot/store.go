package bot

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/streambot/streambot/stream"
)

// Store keeps what must survive a restart: one FIFO queue of statuses per
// destination (the outbox) and the window of recently accepted status IDs
// used to drop re-sent statuses. [OpenOutbox] returns the durable store;
// a nil Config.Store means an in-memory store with the same semantics.
//
// A Bot calls Load once, when Run starts and before any other method. After
// that, Commit is called from a single goroutine (the committer) while each
// destination's delivery goroutine calls Read for its own queue, so Read
// may run concurrently with Commit and with other Reads. A Store may be
// used by one running Bot at a time.
//
// Sequence numbers are assigned by the Bot, per destination, strictly
// increasing. The entries of a queue are always read and removed in
// sequence order.
type Store interface {
	// Load returns the remembered IDs (oldest first, at most window of
	// them) and the state of every queue that holds entries or a sequence.
	// An error means the store cannot be used: Run returns it.
	Load(window int) (*Snapshot, error)
	// Commit applies b atomically: after it returns nil the appended
	// entries, the removals and the remembered IDs are durable (for a
	// durable store) and visible to Read. It sets Removed on each of
	// b.Remove's ranges to the number of entries actually removed, and
	// trims the remembered IDs to the window given to Load. An error means
	// none of b was applied; the Bot retries.
	Commit(b *Batch) error
	// Read returns up to n entries of dest's queue with Seq >= from, in
	// Seq order. Statuses are decoded copies that the caller owns.
	Read(dest string, from uint64, n int) ([]Entry, error)
}

// Snapshot is what a Store holds when a Bot starts.
type Snapshot struct {
	// Seen are the remembered status IDs, oldest first.
	Seen []string
	// Queues holds the state of each destination's queue, by name.
	Queues map[string]QueueState
	// Cursors holds each resumable source's committed position (see
	// stream.Resumer), by source name.
	Cursors map[string]string
}

// QueueState describes one destination's queue.
type QueueState struct {
	// Head is the lowest sequence number present (Next when empty).
	Head uint64
	// Next is the sequence number the next entry gets.
	Next uint64
	// Depth is the number of entries present.
	Depth int
}

// Entry is one queued status.
type Entry struct {
	// Seq orders the entries of one queue.
	Seq uint64
	// Time is when the entry was queued.
	Time time.Time
	// Status is the status to deliver.
	Status *stream.Status
}

// Batch is one group commit.
type Batch struct {
	// Append holds new entries by destination, in Seq order.
	Append map[string][]Entry
	// Remove holds ranges of entries to delete, by destination: acknowledged
	// deliveries and entries dropped by the queue cap.
	Remove map[string][]SeqRange
	// Seen are status IDs to remember, oldest first.
	Seen []string
	// Cursor, when set, replaces the source's stored position.
	Cursor *Cursor
}

// Cursor is a resumable source's position in its stream (stream.Resumer).
type Cursor struct {
	// Source is the source's name.
	Source string
	// Position is the source's opaque cursor.
	Position string
}

// SeqRange is the sequence numbers [From, To).
type SeqRange struct {
	// From is the first sequence number of the range, To the one after its last.
	From, To uint64
	// Removed is set by Commit: how many entries of the range were present.
	Removed int
}

func (b *Batch) empty() bool {
	return len(b.Append) == 0 && len(b.Remove) == 0 && len(b.Seen) == 0 && b.Cursor == nil
}

// memStore is the in-memory Store used when Config.Store is nil.
type memStore struct {
	mu      sync.Mutex
	window  int
	seen    []string
	queues  map[string]*memQueue
	cursors map[string]string
	commits int
}

type memQueue struct {
	entries []Entry // Seq order
	next    uint64
}

func newMemStore() *memStore {
	return &memStore{queues: map[string]*memQueue{}, cursors: map[string]string{}}
}

func (m *memStore) Load(window int) (*Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.window = window
	m.trimSeen()
	snap := &Snapshot{Seen: slices.Clone(m.seen), Queues: map[string]QueueState{}, Cursors: maps.Clone(m.cursors)}
	for name, q := range m.queues {
		st := QueueState{Head: q.next, Next: q.next, Depth: len(q.entries)}
		if len(q.entries) > 0 {
			st.Head = q.entries[0].Seq
		}
		snap.Queues[name] = st
	}
	return snap, nil
}

func (m *memStore) trimSeen() {
	if m.window > 0 && len(m.seen) > m.window {
		m.seen = slices.Delete(m.seen, 0, len(m.seen)-m.window)
	}
}

func (m *memStore) Commit(b *Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commits++
	for dest, es := range b.Append {
		q := m.queue(dest)
		for _, e := range es {
			q.entries = append(q.entries, e)
			q.next = max(q.next, e.Seq+1)
		}
	}
	for dest, rs := range b.Remove {
		q := m.queue(dest)
		for i := range rs {
			r := &rs[i]
			n := len(q.entries)
			q.entries = slices.DeleteFunc(q.entries, func(e Entry) bool { return e.Seq >= r.From && e.Seq < r.To })
			r.Removed = n - len(q.entries)
		}
		if len(q.entries) == 0 {
			q.entries = nil // let the backing array go
		}
	}
	m.seen = append(m.seen, b.Seen...)
	m.trimSeen()
	if b.Cursor != nil {
		m.cursors[b.Cursor.Source] = b.Cursor.Position
	}
	return nil
}

func (m *memStore) queue(dest string) *memQueue {
	q := m.queues[dest]
	if q == nil {
		q = &memQueue{next: 1}
		m.queues[dest] = q
	}
	return q
}

func (m *memStore) Read(dest string, from uint64, n int) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queues[dest]
	if q == nil {
		return nil, nil
	}
	i, _ := slices.BinarySearchFunc(q.entries, from, func(e Entry, seq uint64) int {
		switch {
		case e.Seq < seq:
			return -1
		case e.Seq > seq:
			return 1
		}
		return 0
	})
	end := min(i+n, len(q.entries))
	return slices.Clone(q.entries[i:end]), nil
}
