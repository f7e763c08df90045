package bot

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/streambot/streambot/stream"
)

// Outbox is the durable [Store]: a bbolt database file, usually
// outbox.db in the -data directory. Open it with [OpenOutbox] and close it
// after the Bot has stopped.
//
// Layout (all keys of queues and seen are 8-byte big-endian numbers, so
// bbolt's byte order is numeric order):
//
//	queues/<destination>/<seq>  → {"t": queued-at unix ns, "s": the status as JSON}
//	                              (the bucket's sequence is the last seq assigned)
//	seen/<n>                    → a status ID; the bucket keeps the newest
//	                              window IDs, the oldest are deleted on commit
//	cursors/<source name>       → the source's committed stream position
//
// Every Commit is one bbolt read-write transaction and thus one fsync.
type Outbox struct {
	db     *bolt.DB
	window int
	seenN  int // entries in seen; touched only by Load and Commit

	commits, appended, removed, reads atomic.Int64
	maxRead                           atomic.Int64
	mu                                sync.Mutex // serializes Load and Commit
}

// OutboxStats counts what an Outbox has done since it was opened.
type OutboxStats struct {
	// Commits is the number of read-write transactions (group commits).
	Commits int64
	// Appended and Removed count queue entries written and deleted.
	Appended, Removed int64
	// Reads is the number of Read calls; MaxRead the most entries one
	// returned — what a delivery goroutine holds in memory at most.
	Reads, MaxRead int64
}

var (
	bucketQueues  = []byte("queues")
	bucketSeen    = []byte("seen")
	bucketCursors = []byte("cursors")
)

// OpenOutbox opens (creating when missing) the outbox database at path.
// It fails after a second when another process holds the file.
func OpenOutbox(path string) (*Outbox, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("outbox: %s is in use by another streambot: stop it or use another -data directory", path)
		}
		return nil, fmt.Errorf("outbox: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketQueues, bucketSeen, bucketCursors} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: %s: %w", path, err)
	}
	return &Outbox{db: db}, nil
}

// Close closes the database.
func (o *Outbox) Close() error { return o.db.Close() }

// Stats returns the outbox's counters.
func (o *Outbox) Stats() OutboxStats {
	return OutboxStats{
		Commits: o.commits.Load(), Appended: o.appended.Load(), Removed: o.removed.Load(),
		Reads: o.reads.Load(), MaxRead: o.maxRead.Load(),
	}
}

func key(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// record is the stored form of an Entry.
type record struct {
	T int64          `json:"t"`
	S *stream.Status `json:"s"`
}

// Load implements Store.
func (o *Outbox) Load(window int) (*Snapshot, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.window = window
	snap := &Snapshot{Queues: map[string]QueueState{}, Cursors: map[string]string{}}
	err := o.db.View(func(tx *bolt.Tx) error {
		qs := tx.Bucket(bucketQueues)
		err := qs.ForEachBucket(func(name []byte) error {
			b := qs.Bucket(name)
			st := QueueState{Next: b.Sequence() + 1}
			st.Head = st.Next
			c := b.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				if st.Depth == 0 {
					st.Head = binary.BigEndian.Uint64(k)
				}
				st.Depth++
			}
			snap.Queues[string(name)] = st
			return nil
		})
		if err != nil {
			return err
		}
		seen := tx.Bucket(bucketSeen)
		o.seenN = seen.Stats().KeyN
		c := seen.Cursor()
		var rev []string
		for k, v := c.Last(); k != nil && len(rev) < window; k, v = c.Prev() {
			rev = append(rev, string(v))
		}
		for i := len(rev) - 1; i >= 0; i-- {
			snap.Seen = append(snap.Seen, rev[i])
		}
		return tx.Bucket(bucketCursors).ForEach(func(k, v []byte) error {
			snap.Cursors[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: load: %w", err)
	}
	return snap, nil
}

// Commit implements Store: one read-write transaction.
func (o *Outbox) Commit(batch *Batch) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var appended, removed int64
	seenN := o.seenN
	err := o.db.Update(func(tx *bolt.Tx) error {
		appended, removed, seenN = 0, 0, o.seenN
		qs := tx.Bucket(bucketQueues)
		for dest, es := range batch.Append {
			b, err := qs.CreateBucketIfNotExists([]byte(dest))
			if err != nil {
				return err
			}
			for _, e := range es {
				v, err := json.Marshal(record{T: e.Time.UnixNano(), S: e.Status})
				if err != nil {
					return fmt.Errorf("encode status %s: %w", e.Status.ID, err)
				}
				if err := b.Put(key(e.Seq), v); err != nil {
					return err
				}
				if e.Seq > b.Sequence() {
					if err := b.SetSequence(e.Seq); err != nil {
						return err
					}
				}
				appended++
			}
		}
		for dest, rs := range batch.Remove {
			b := qs.Bucket([]byte(dest))
			for i := range rs {
				rs[i].Removed = 0
				if b == nil {
					continue
				}
				var keys [][]byte
				c := b.Cursor()
				for k, _ := c.Seek(key(rs[i].From)); k != nil && binary.BigEndian.Uint64(k) < rs[i].To; k, _ = c.Next() {
					keys = append(keys, k)
				}
				for _, k := range keys {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				rs[i].Removed = len(keys)
				removed += int64(len(keys))
			}
		}
		if len(batch.Seen) > 0 {
			seen := tx.Bucket(bucketSeen)
			for _, id := range batch.Seen {
				n, err := seen.NextSequence()
				if err != nil {
					return err
				}
				if err := seen.Put(key(n), []byte(id)); err != nil {
					return err
				}
				seenN++
			}
			if o.window > 0 && seenN > o.window {
				var keys [][]byte
				c := seen.Cursor()
				for k, _ := c.First(); k != nil && len(keys) < seenN-o.window; k, _ = c.Next() {
					keys = append(keys, k)
				}
				for _, k := range keys {
					if err := seen.Delete(k); err != nil {
						return err
					}
				}
				seenN -= len(keys)
			}
		}
		if c := batch.Cursor; c != nil {
			return tx.Bucket(bucketCursors).Put([]byte(c.Source), []byte(c.Position))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: commit: %w", err)
	}
	o.seenN = seenN
	o.commits.Add(1)
	o.appended.Add(appended)
	o.removed.Add(removed)
	return nil
}

// Read implements Store. An entry that does not decode is returned with a
// nil Status, so that the Bot can count it failed and remove it.
func (o *Outbox) Read(dest string, from uint64, n int) ([]Entry, error) {
	var out []Entry
	err := o.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQueues).Bucket([]byte(dest))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(key(from)); k != nil && len(out) < n; k, v = c.Next() {
			var r record
			if err := json.Unmarshal(v, &r); err != nil || r.S == nil {
				// A corrupt entry must not block the queue: the caller
				// sees a nil Status, counts it failed and removes it.
				out = append(out, Entry{Seq: binary.BigEndian.Uint64(k)})
				continue
			}
			if string(r.S.Raw) == "null" {
				r.S.Raw = nil
			}
			out = append(out, Entry{Seq: binary.BigEndian.Uint64(k), Time: time.Unix(0, r.T), Status: r.S})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: read: %w", err)
	}
	o.reads.Add(1)
	for {
		m := o.maxRead.Load()
		if int64(len(out)) <= m || o.maxRead.CompareAndSwap(m, int64(len(out))) {
			break
		}
	}
	return out, nil
}
