package bot

import (
	"hash/maphash"
	"sync"
)

// idSet remembers the most recent n IDs (first in, first out). It is safe
// for concurrent use. It keeps 64-bit hashes, not the IDs: about 20 bytes
// an ID whatever its length, and a false "seen" once in 2^64/n lookups. It
// grows as IDs arrive rather than taking room for n at once: the set of
// deleted IDs, for one, rarely holds many.
type idSet struct {
	mu   sync.Mutex
	n    int
	seed maphash.Seed
	ids  map[uint64]struct{}
	ring []uint64 // grows to n, then wraps
	next int
}

func newIDSet(n int) *idSet {
	return &idSet{n: n, seed: maphash.MakeSeed(), ids: map[uint64]struct{}{}}
}

// add remembers id and reports whether it was new.
func (s *idSet) add(id string) bool {
	h := maphash.String(s.seed, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[h]; ok {
		return false
	}
	s.ids[h] = struct{}{}
	if len(s.ring) < s.n {
		s.ring = append(s.ring, h)
		return true
	}
	delete(s.ids, s.ring[s.next])
	s.ring[s.next] = h
	s.next = (s.next + 1) % s.n
	return true
}

// contains reports whether id is remembered.
func (s *idSet) contains(id string) bool {
	h := maphash.String(s.seed, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[h]
	return ok
}
