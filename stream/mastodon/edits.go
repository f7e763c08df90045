package mastodon

import "slices"

// maxTrackedEdits bounds the statuses whose edits Run remembers, and
// maxEditsPerStatus the edits remembered per status.
const (
	maxTrackedEdits   = 4096
	maxEditsPerStatus = 8
)

// editLog remembers the IDs of the edits Run emitted, by status id, so that
// a delete of the status can also name its edits. It forgets the oldest
// statuses beyond its capacity. It is used by one goroutine.
type editLog struct {
	max   int
	ids   map[string][]string
	order []string // status ids, oldest first; may hold ids already taken
}

func newEditLog(capacity int) *editLog {
	return &editLog{max: capacity, ids: map[string][]string{}}
}

// add records that edit (an ID made by editID) of status orig was emitted.
func (l *editLog) add(orig, edit string) {
	list, known := l.ids[orig]
	if slices.Contains(list, edit) {
		return
	}
	if len(list) >= maxEditsPerStatus {
		list = slices.Delete(list, 0, 1)
	}
	l.ids[orig] = append(list, edit)
	if known {
		return
	}
	l.order = append(l.order, orig)
	for len(l.ids) > l.max && len(l.order) > 0 {
		delete(l.ids, l.order[0])
		l.order = l.order[1:]
	}
	if len(l.order) > 2*l.max { // ids taken by deletes pile up: compact
		kept := make([]string, 0, len(l.ids))
		seen := make(map[string]bool, len(l.ids))
		for _, id := range l.order {
			if _, ok := l.ids[id]; ok && !seen[id] {
				seen[id] = true
				kept = append(kept, id)
			}
		}
		l.order = kept
	}
}

// take returns and forgets the edits of status orig.
func (l *editLog) take(orig string) []string {
	list := l.ids[orig]
	delete(l.ids, orig)
	return list
}
