package journal

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/streambot/streambot/stream"
)

// The first outbox layout (streambot up to 2026-11): one bucket per
// destination under queues/, holding {"t": queued-at unix ns, "s": the
// status as JSON} by 8-byte seq, the dedupe window in seen/, cursors in
// cursors/ (kept as they are).
var (
	bucketQueuesV1 = []byte("queues")
	bucketSeenV1   = []byte("seen")
)

type recordV1 struct {
	T int64          `json:"t"`
	S *stream.Status `json:"s"`
}

// migrateV1 rewrites a first-layout file in tx: each destination's queued
// statuses become records for that destination's consumer, in its queue's
// order (destination after destination, so a status queued for two is
// stored twice), the seen window one IDs entry. It returns a line for the
// log. The buckets of the current layout exist already.
func migrateV1(tx *bolt.Tx) (string, error) {
	next := uint64(1)
	var batch []*Record
	var ids []uint64 // consumer index -> id: index i is id i+1
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b := chunkHeader(nil, len(batch))
		for _, r := range batch {
			b = appendRecord(b, r, ids)
		}
		sp := Span{batch[0].Seq, batch[len(batch)-1].Seq + 1}
		if err := putChunk(tx.Bucket(bucketChunks), sp, b); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	queued, unreadable, dests := 0, 0, 0
	err := tx.Bucket(bucketQueuesV1).ForEachBucket(func(name []byte) error {
		idx := len(ids)
		ids = append(ids, uint64(idx+1))
		dests++
		floor := next
		err := tx.Bucket(bucketQueuesV1).Bucket(name).ForEach(func(_, v []byte) error {
			var r recordV1
			if err := json.Unmarshal(v, &r); err != nil || r.S == nil {
				unreadable++
				return nil
			}
			if string(r.S.Raw) == "null" {
				r.S.Raw = nil
			}
			batch = append(batch, &Record{Seq: next, Time: time.Unix(0, r.T), Status: r.S, To: []int{idx}})
			next++
			queued++
			if len(batch) == DefaultCommitBatch {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		return tx.Bucket(bucketConsumers).Put(append([]byte(nil), name...), encodeMark(Mark{ID: uint64(idx + 1), Floor: floor}))
	})
	if err != nil {
		return "", err
	}
	if seen := tx.Bucket(bucketSeenV1); seen != nil {
		var v IDs
		if err := seen.ForEach(func(_, id []byte) error {
			v.Seen = append(v.Seen, string(id))
			return nil
		}); err != nil {
			return "", err
		}
		if len(v.Seen) > 0 {
			if err := tx.Bucket(bucketIDs).Put(key(0), encodeIDs(&v)); err != nil {
				return "", err
			}
		}
		if err := tx.DeleteBucket(bucketSeenV1); err != nil {
			return "", err
		}
	}
	if err := tx.DeleteBucket(bucketQueuesV1); err != nil {
		return "", err
	}
	if err := tx.Bucket(bucketMeta).Put(keyNext, binary.BigEndian.AppendUint64(nil, next)); err != nil {
		return "", err
	}
	return fmt.Sprintf("migrated the outbox from the first layout: %d queued statuses of %d destinations kept, %d unreadable entries dropped",
		queued, dests, unreadable), nil
}
