package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bolt is the durable [Storage]: one bbolt database file, usually
// outbox.db in the -data directory. Open it with [OpenBolt] and close it
// after the Journal using it has closed.
//
// Layout (numeric keys are 8-byte big-endian, so bbolt's byte order is
// numeric order):
//
//	meta/version           → "2"
//	meta/next              → the seq the next record gets
//	chunks/<first><end>/data → the records [first, end), up to CommitBatch (see record.go)
//	ids/<first seq>        → the status IDs that commit accepted and deleted
//	consumers/<name>       → the consumer's mark: id, floor, in flight
//	cursors/<source name>  → the source's committed stream position
//
// Chunks are only ever appended at the end of their bucket and deleted once
// no consumer needs them (mostly from the front), and every Commit is one read-write transaction (one fsync).
// Each chunk is a bucket of its own: appending a chunk then rewrites only
// the small leaf of bucket headers, never the previous chunk's pages (a
// large value sharing the last leaf was copied again by every commit, and
// its pages read through the mmap stayed in the process's RSS).
// A file in the first layout (queues/<destination>/<seq> holding JSON) is
// migrated when it is opened.
type Bolt struct {
	db   *bolt.DB
	path string

	migrated string // what the migration at open did, for the log

	commits, records, bytes, reads atomic.Int64
}

// BoltStats counts what a Bolt has done since it was opened.
type BoltStats struct {
	// Commits is the number of read-write transactions (group commits).
	Commits int64
	// Records is the number of records written.
	Records int64
	// Bytes is the encoded size of the chunks written.
	Bytes int64
	// Reads is the number of chunks read back for consumers behind the
	// in-memory tail.
	Reads int64
}

var (
	bucketMeta      = []byte("meta")
	bucketChunks    = []byte("chunks")
	bucketIDs       = []byte("ids")
	bucketConsumers = []byte("consumers")
	bucketCursors   = []byte("cursors")
	keyVersion      = []byte("version")
	keyNext         = []byte("next")
	keyData         = []byte("data")
)

// releaseEvery is how many commits pass between two releaseMapped calls.
const releaseEvery = 32

// maxChunkRecords bounds the records of one stored chunk; a key claiming
// more is damage, not data.
const maxChunkRecords = 1 << 20

// layoutVersion is meta/version of this layout.
const layoutVersion = "2"

// OpenBolt opens (creating when missing) the log database at path,
// migrating a file of the first layout. It fails after a second when
// another process holds the file, and with an error naming the file when
// it is not a streambot log or is corrupt.
func OpenBolt(path string) (s *Bolt, err error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: time.Second,
		// The freelist is rebuilt at open instead of written by every
		// commit: less to write per group commit.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("outbox: %s is in use by another streambot: stop it or use another -data directory", path)
		}
		return nil, corrupt(path, err)
	}
	s = &Bolt{db: db, path: path}
	defer func() {
		if p := recover(); p != nil { // bbolt panics on some damaged pages
			err = corrupt(path, fmt.Errorf("%v", p))
		}
		if err != nil {
			db.Close()
			s = nil
		}
	}()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketChunks, bucketIDs, bucketConsumers, bucketCursors} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if tx.Bucket(bucketQueuesV1) != nil {
			m, err := migrateV1(tx)
			if err != nil {
				return fmt.Errorf("migrating the first outbox layout: %w", err)
			}
			s.migrated = m
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keyVersion); {
		case v == nil:
			return meta.Put(keyVersion, []byte(layoutVersion))
		case string(v) != layoutVersion:
			return fmt.Errorf("layout version %q is not %q: this file was written by another streambot version", v, layoutVersion)
		}
		return nil
	})
	if err != nil {
		return nil, corrupt(path, err)
	}
	return s, nil
}

// corrupt names the file in an error about its contents and says what to do.
func corrupt(path string, err error) error {
	return fmt.Errorf("outbox: %s cannot be read as a streambot log (%w): move the file away to start with empty queues", path, err)
}

// Close closes the database.
func (s *Bolt) Close() error { return s.db.Close() }

// Path returns the file's path.
func (s *Bolt) Path() string { return s.path }

// Stats returns the counters.
func (s *Bolt) Stats() BoltStats {
	return BoltStats{Commits: s.commits.Load(), Records: s.records.Load(), Bytes: s.bytes.Load(), Reads: s.reads.Load()}
}

func key(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// spanKey is a chunk's key: its first and end seqs, so that both are known
// from the keys alone.
func spanKey(s Span) []byte { return binary.BigEndian.AppendUint64(key(s.First), s.End) }

// putChunk stores one chunk in its own bucket.
func putChunk(chunks *bolt.Bucket, sp Span, data []byte) error {
	b, err := chunks.CreateBucket(spanKey(sp))
	if err != nil {
		return err
	}
	return b.Put(keyData, data)
}

func parseSpanKey(k []byte) (Span, bool) {
	if len(k) != 16 {
		return Span{}, false
	}
	s := Span{binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(k[8:])}
	return s, s.First < s.End
}

// Load implements Storage.
func (s *Bolt) Load() (st *Stored, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = corrupt(s.path, fmt.Errorf("%v", p))
		}
	}()
	st = &Stored{Next: 1, Consumers: map[string]Mark{}, Cursors: map[string]string{}, Migrated: s.migrated}
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyNext); len(v) == 8 {
			st.Next = binary.BigEndian.Uint64(v)
		}
		c := tx.Bucket(bucketChunks).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			sp, ok := parseSpanKey(k)
			if !ok || sp.End > st.Next || sp.End-sp.First > maxChunkRecords || (len(st.Chunks) > 0 && sp.First < st.Chunks[len(st.Chunks)-1].End) {
				return fmt.Errorf("%w: bad chunk key %x (next seq %d)", ErrCorrupt, k, st.Next)
			}
			st.Chunks = append(st.Chunks, sp)
		}
		err := tx.Bucket(bucketIDs).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("%w: bad ids key %x", ErrCorrupt, k)
			}
			ids, err := decodeIDs(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return err
			}
			st.IDs = append(st.IDs, ids)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketConsumers).ForEach(func(k, v []byte) error {
			m, err := decodeMark(v)
			if err != nil {
				return fmt.Errorf("consumer %q: %w", k, err)
			}
			st.Consumers[string(k)] = m
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketCursors).ForEach(func(k, v []byte) error {
			st.Cursors[string(k)] = string(v)
			return nil
		})
	})
	if err != nil {
		return nil, corrupt(s.path, err)
	}
	return st, nil
}

// Commit implements Storage: one read-write transaction.
func (s *Bolt) Commit(c *Commit) (err error) {
	defer func() {
		if p := recover(); p != nil { // bbolt panics on some damaged pages
			err = corrupt(s.path, fmt.Errorf("%v", p))
		}
	}()
	err = s.db.Update(func(tx *bolt.Tx) error {
		chunks := tx.Bucket(bucketChunks)
		chunks.FillPercent = 1 // keys only grow: fill pages completely
		for _, sp := range c.DropChunks {
			err := chunks.DeleteBucket(spanKey(sp))
			if errors.Is(err, bolt.ErrIncompatibleValue) { // a damaged file: a value where a chunk should be
				err = chunks.Delete(spanKey(sp))
			}
			if err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return err
			}
		}
		for _, ch := range c.Chunks {
			if err := putChunk(chunks, ch.Span, ch.Data); err != nil {
				return err
			}
		}
		if c.Next > c.First {
			if err := tx.Bucket(bucketMeta).Put(keyNext, key(c.Next)); err != nil {
				return err
			}
		}
		ids := tx.Bucket(bucketIDs)
		ids.FillPercent = 1
		for _, k := range c.DropIDs {
			if err := ids.Delete(key(k)); err != nil {
				return err
			}
		}
		if c.IDs != nil {
			if err := ids.Put(key(c.IDs.Key), encodeIDs(c.IDs)); err != nil {
				return err
			}
		}
		cons := tx.Bucket(bucketConsumers)
		for name, m := range c.Marks {
			if err := cons.Put([]byte(name), encodeMark(m)); err != nil {
				return err
			}
		}
		if c.Cursor != nil {
			return tx.Bucket(bucketCursors).Put([]byte(c.Cursor.Source), []byte(c.Cursor.Position))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: commit: %w", err)
	}
	if n := s.commits.Add(1); n%releaseEvery == 0 {
		s.releaseMapped()
	}
	s.records.Add(int64(c.Next - c.First))
	for _, ch := range c.Chunks {
		s.bytes.Add(int64(len(ch.Data)))
	}
	return nil
}

// Chunk implements Storage. The bytes are a copy: bbolt's are valid only
// inside the transaction.
func (s *Bolt) Chunk(sp Span) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = corrupt(s.path, fmt.Errorf("%v", p))
		}
	}()
	err = s.db.View(func(tx *bolt.Tx) error {
		var v []byte
		if b := tx.Bucket(bucketChunks).Bucket(spanKey(sp)); b != nil {
			v = b.Get(keyData)
		}
		if v == nil {
			return fmt.Errorf("%w: chunk %d-%d is missing", ErrCorrupt, sp.First, sp.End)
		}
		b = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: read: %w", err)
	}
	s.reads.Add(1)
	return b, nil
}

// FileSize returns the database file's size in bytes.
func (s *Bolt) FileSize() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
