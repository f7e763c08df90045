package bot

import "sync"

// idSet remembers the most recent n IDs (first in, first out). It is safe
// for concurrent use. It grows as IDs arrive rather than taking room for n
// at once: the set of deleted IDs, for one, rarely holds many.
type idSet struct {
	mu   sync.Mutex
	n    int
	ids  map[string]struct{}
	ring []string // grows to n, then wraps
	next int
}

func newIDSet(n int) *idSet {
	return &idSet{n: n, ids: map[string]struct{}{}}
}

// add remembers id and reports whether it was new.
func (s *idSet) add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return false
	}
	s.ids[id] = struct{}{}
	if len(s.ring) < s.n {
		s.ring = append(s.ring, id)
		return true
	}
	delete(s.ids, s.ring[s.next])
	s.ring[s.next] = id
	s.next = (s.next + 1) % s.n
	return true
}

// contains reports whether id is remembered.
func (s *idSet) contains(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}
