package bot

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestIDSetMatchesAModel checks the set against a map and a FIFO under a
// random mix of new IDs, repeats and lookups, across evictions.
func TestIDSetMatchesAModel(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3, 100, 1000} {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		s := newIDSet(n)
		in := map[string]bool{}
		var fifo []string
		for i := range 20_000 {
			id := strconv.Itoa(rng.IntN(3 * n))
			if rng.IntN(4) == 0 {
				if got := s.contains(id); got != in[id] {
					t.Fatalf("n=%d step %d: contains(%s) = %v, want %v", n, i, id, got, in[id])
				}
				continue
			}
			if got := s.add(id); got != !in[id] {
				t.Fatalf("n=%d step %d: add(%s) = %v, want %v", n, i, id, got, !in[id])
			}
			if !in[id] {
				in[id] = true
				fifo = append(fifo, id)
				if len(fifo) > n {
					delete(in, fifo[0])
					fifo = fifo[1:]
				}
			}
		}
	}
}
