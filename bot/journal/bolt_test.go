package journal

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/streambot/streambot/stream"
)

// writeV1 writes an outbox in the first layout: two destinations' queues,
// a seen window and a cursor, as streambot up to 2026-11 left them.
func writeV1(t *testing.T, path string, queues map[string][]string, seen []string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		qs, _ := tx.CreateBucket([]byte("queues"))
		for dest, ids := range queues {
			b, _ := qs.CreateBucket([]byte(dest))
			for i, id := range ids {
				v, _ := json.Marshal(recordV1{T: int64(1e9 * (i + 1)), S: &stream.Status{ID: id, Text: "python " + id, Matched: []string{"py"}}})
				if id == "broken" {
					v = []byte("{not json")
				}
				b.Put(binary.BigEndian.AppendUint64(nil, uint64(10+i)), v)
			}
			b.SetSequence(uint64(10 + len(ids)))
		}
		sb, _ := tx.CreateBucket([]byte("seen"))
		for i, id := range seen {
			sb.Put(binary.BigEndian.AppendUint64(nil, uint64(i+1)), []byte(id))
		}
		cb, _ := tx.CreateBucket([]byte("cursors"))
		return cb.Put([]byte("jet"), []byte("1700"))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateFirstLayout opens a first-layout outbox: every queued status
// is delivered to its destination, in its queue's order; the seen window
// and the cursor are kept; an undecodable entry is dropped and counted.
func TestMigrateFirstLayout(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	writeV1(t, path, map[string][]string{"tg": {"1", "2", "broken", "3"}, "hook": {"2", "3"}}, []string{"0", "1", "2", "3"})
	st, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, rec, err := Open(st, Options{Consumers: []ConsumerOptions{{Name: "tg"}, {Name: "hook"}}, Source: "jet"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if !strings.Contains(st.migrated, "5 queued statuses of 2 destinations kept, 1 unreadable") {
		t.Errorf("migration note %q", st.migrated)
	}
	if rec.Cursor != "1700" || !slices.Equal(rec.Seen, []string{"0", "1", "2", "3"}) {
		t.Errorf("Recovery = %+v", rec)
	}
	if rec.Queued["tg"] != 3 || rec.Queued["hook"] != 2 {
		t.Errorf("Queued = %v, want tg=3 hook=2", rec.Queued)
	}
	for i, want := range [][]string{{"1", "2", "3"}, {"2", "3"}} {
		var got []string
		for range want {
			r, err := j.Consumer(i).Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.Status.ID)
			if r.Time.Before(time.Unix(1, 0)) || !slices.Equal(r.Status.Matched, []string{"py"}) {
				t.Errorf("migrated record lost its fields: %+v %+v", r, r.Status)
			}
			j.Consumer(i).Ack(r.Seq)
		}
		if !slices.Equal(got, want) {
			t.Errorf("consumer %d got %v, want %v", i, got, want)
		}
	}
}

// TestCorruptFileIsAClearError opens files that are not a log.
func TestCorruptFileIsAClearError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"garbage": []byte(strings.Repeat("not a database ", 1000)),
		"empty":   {},
	} {
		path := filepath.Join(dir, name+".db")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := OpenBolt(path)
		if name == "empty" { // bbolt initializes an empty file: a new log
			if err != nil {
				t.Errorf("empty file: %v", err)
			} else {
				st.Close()
			}
			continue
		}
		if err == nil {
			st.Close()
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move the file away") {
			t.Errorf("%s: error %q does not name the file and what to do", name, err)
		}
	}
}

// TestDamagedChunkIsCountedNotFatal corrupts a stored record: the
// consumer gets it as unreadable and goes on with the next ones.
func TestDamagedChunkIsCountedNotFatal(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	st, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Consumers: []ConsumerOptions{{Name: "a"}}}
	j, _, err := Open(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1", "2", "3"} {
		j.Append(context.Background(), []*Record{{Status: &stream.Status{ID: id, Text: "python " + id}, To: []int{0}}}, "")
	}
	j.Close()
	// Flip a byte inside the second record's text.
	err = st.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketChunks).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			b := tx.Bucket(bucketChunks).Bucket(k)
			v := b.Get(keyData)
			if i := strings.Index(string(v), "python 2"); i >= 0 {
				v = slices.Clone(v)
				v[i] ^= 0x20
				return b.Put(keyData, v)
			}
		}
		t.Fatal("no chunk holds the second record")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	j, rec, err := Open(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer j.Close()
	if rec.Queued["a"] != 3 {
		t.Errorf("Queued = %v", rec.Queued)
	}
	var got []string
	for range 3 {
		r, err := j.Consumer(0).Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Err != nil {
			got = append(got, "unreadable")
		} else {
			got = append(got, r.Status.ID)
		}
		j.Consumer(0).Ack(r.Seq)
	}
	if !slices.Equal(got, []string{"1", "unreadable", "3"}) {
		t.Errorf("got %v", got)
	}
}
