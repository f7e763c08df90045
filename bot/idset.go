package bot

import (
	"hash/maphash"
	"sync"
)

// idSet remembers the most recent n IDs (first in, first out). It is safe
// for concurrent use.
//
// It keeps 64-bit hashes, not the IDs (a false "seen" once in 2^64/n
// lookups), in a ring in arrival order, and an open-addressing index of
// 4-byte ring positions over them: about 13 bytes an ID whatever its
// length, where a map[uint64] and a ring took 30. Both grow as IDs arrive
// rather than taking room for n at once: the set of deleted IDs, for one,
// rarely holds many.
type idSet struct {
	mu    sync.Mutex
	n     int
	seed  maphash.Seed
	ring  []uint64 // hashes, oldest at next once full
	next  int      // where the next hash goes once the ring is full
	index []uint32 // ring position + 1 by hash, linear probing; 0 is empty
}

func newIDSet(n int) *idSet {
	return &idSet{n: max(n, 1), seed: maphash.MakeSeed()}
}

// add remembers id and reports whether it was new.
func (s *idSet) add(id string) bool {
	h := maphash.String(s.seed, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(h) >= 0 {
		return false
	}
	if len(s.ring) < s.n {
		if 4*(len(s.ring)+1) > 3*len(s.index) { // keep the load at most 3/4
			s.rehash(max(16, 2*len(s.index)))
		}
		s.ring = append(s.ring, h)
		s.insert(h, len(s.ring)-1)
		return true
	}
	s.remove(s.find(s.ring[s.next]))
	s.ring[s.next] = h
	s.insert(h, s.next)
	s.next = (s.next + 1) % s.n
	return true
}

// contains reports whether id is remembered.
func (s *idSet) contains(id string) bool {
	h := maphash.String(s.seed, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.find(h) >= 0
}

func (s *idSet) slot(h uint64) int { return int(h & uint64(len(s.index)-1)) }

// find returns the index slot holding h, or -1.
func (s *idSet) find(h uint64) int {
	if len(s.index) == 0 {
		return -1
	}
	for i := s.slot(h); ; i = (i + 1) & (len(s.index) - 1) {
		p := s.index[i]
		if p == 0 {
			return -1
		}
		if s.ring[p-1] == h {
			return i
		}
	}
}

func (s *idSet) insert(h uint64, pos int) {
	i := s.slot(h)
	for s.index[i] != 0 {
		i = (i + 1) & (len(s.index) - 1)
	}
	s.index[i] = uint32(pos + 1)
}

// remove empties slot i and shifts back the entries after it that probing
// would no longer reach (deletion without tombstones).
func (s *idSet) remove(i int) {
	mask := len(s.index) - 1
	s.index[i] = 0
	for j := (i + 1) & mask; s.index[j] != 0; j = (j + 1) & mask {
		home := s.slot(s.ring[s.index[j]-1])
		// The entry at j may move to i unless its home lies in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.index[i], s.index[j] = s.index[j], 0
			i = j
		}
	}
}

func (s *idSet) rehash(size int) {
	s.index = make([]uint32, size)
	for pos, h := range s.ring {
		s.insert(h, pos)
	}
}
