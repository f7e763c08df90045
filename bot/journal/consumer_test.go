package journal

import (
	"math/rand/v2"
	"testing"
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
