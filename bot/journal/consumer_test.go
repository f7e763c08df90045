package journal

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/streambot/streambot/stream"
)

// TestSeqQueueIsAFIFO checks the run-length queue against a slice.
func TestSeqQueueIsAFIFO(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var q seqQueue
	var want []uint64
	next := uint64(1)
	for i := range 100_000 {
		if rng.IntN(3) > 0 || len(want) == 0 {
			next += uint64(rng.IntN(3)) // runs of all lengths, and gaps
			q.push(next)
			want = append(want, next)
			next++
		} else {
			if got := q.pop(); got != want[0] {
				t.Fatalf("step %d: pop = %d, want %d", i, got, want[0])
			}
			want = want[1:]
		}
		if q.len() != len(want) || (len(want) > 0 && q.front() != want[0]) {
			t.Fatalf("step %d: len %d front %d, want %d %v", i, q.len(), q.front(), len(want), want[:min(1, len(want))])
		}
	}
	var one seqQueue
	for v := range uint64(1000) {
		one.push(v + 1)
	}
	if one.nr != 1 {
		t.Errorf("1000 consecutive seqs take %d runs, want 1", one.nr)
	}
}

// After Close a consumer gets io.EOF, records queued or not: nothing would
// commit its acks any more (a consumer waiting for its ack window would
// otherwise wait forever).
func TestNextAfterCloseDoesNotHang(t *testing.T) {
	t.Parallel()
	j, _, err := Open(nil, Options{Consumers: []ConsumerOptions{{Name: "a"}}, AckWindow: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	j.Append(ctx, []*Record{{Status: &stream.Status{ID: "1"}, To: []int{0}}}, "")
	c := j.Consumer(0)
	r, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j.Append(ctx, []*Record{{Status: &stream.Status{ID: "2"}, To: []int{0}}}, "")
	c.Ack(r.Seq)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("Next after Close = %v, want io.EOF", err)
	}
}
