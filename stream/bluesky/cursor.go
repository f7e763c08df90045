package bluesky

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync/atomic"
	"time"
)

// A Jetstream cursor is a time_us: unix microseconds. The server serves
// the events with time_us >= cursor; without a cursor it serves the live
// stream.

// parseCursor parses a cursor as the Source formats it (decimal unix
// microseconds); ok is false for anything else, including 0 and negatives.
func parseCursor(c string) (us int64, ok bool) {
	us, err := strconv.ParseInt(c, 10, 64)
	if err != nil || us <= 0 {
		return 0, false
	}
	return us, true
}

// formatCursor formats a time_us as a cursor.
func formatCursor(us int64) string { return strconv.FormatInt(us, 10) }

// cursorTime renders a cursor for a log line.
func cursorTime(us int64) string {
	return time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
}

// positions holds the cursors handed to the Source by its consumer: the
// one to resume from and the newest committed one. Committed may be called
// from any goroutine, hence the atomics.
type positions struct {
	resume    atomic.Int64 // 0: none
	committed atomic.Int64 // 0: none; only grows
}

// commit records c if it is newer than what is recorded.
func (p *positions) commit(c int64) {
	for {
		old := p.committed.Load()
		if c <= old || p.committed.CompareAndSwap(old, c) {
			return
		}
	}
}

// base returns the committed cursor, else the resume cursor, else 0.
func (p *positions) base() int64 {
	if c := p.committed.Load(); c > 0 {
		return c
	}
	return p.resume.Load()
}

// runCursor is the cursor state of one Run, owned by its goroutine.
type runCursor struct {
	// newest is the largest time_us read so far: the Cursor of every
	// emitted event.
	newest int64
	// floor, after a message too big to read, is where the next
	// connections start at the earliest: just past that message, so it is
	// never served again.
	floor int64
	// unknownSkip: the last connection ended on a message too big to read
	// whose time_us was not found, and nothing was read since.
	unknownSkip bool
	// live: connect without a cursor once, to get past a message too big to
	// read whose time_us could not be found twice in a row; floor is then
	// raised to the first time_us read.
	live bool
}

// next returns the cursor for the next connection: base minus rewind (at
// least 1), raised to the floor; 0 means the live stream.
func (r *runCursor) next(base int64, rewind time.Duration) int64 {
	if r.live {
		return 0
	}
	c := int64(0)
	if base > 0 {
		c = max(base-rewind.Microseconds(), 1)
	}
	if r.floor > c {
		c = r.floor
	}
	return c
}

// read records a message's time.
func (r *runCursor) read(us int64) {
	if us <= 0 {
		return
	}
	r.newest = max(r.newest, us)
	r.unknownSkip = false
	if r.live {
		r.live = false
		r.floor = max(r.floor, us)
	}
}

// maxPrefixScan bounds how much of a too-big message is searched for its
// time_us. Jetstream writes time_us second, right after the did.
const maxPrefixScan = 64 << 10

// prefixTimeUS finds the top-level "time_us" in the first bytes of a JSON
// object that was cut short, walking the tokens so that a "time_us" inside
// a string or a nested object does not count.
func prefixTimeUS(prefix []byte) (int64, bool) {
	if len(prefix) > maxPrefixScan {
		prefix = prefix[:maxPrefixScan]
	}
	dec := json.NewDecoder(bytes.NewReader(prefix))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, false
	}
	for {
		key, err := dec.Token()
		if err != nil {
			return 0, false
		}
		name, ok := key.(string)
		if !ok {
			return 0, false // the closing '}' or garbage
		}
		if name == "time_us" {
			v, err := dec.Token()
			if err != nil {
				return 0, false
			}
			n, ok := v.(json.Number)
			if !ok || dec.InputOffset() >= int64(len(prefix)) {
				return 0, false // not a number, or one that may have been cut short
			}
			us, err := n.Int64()
			if err != nil || us <= 0 {
				return 0, false
			}
			return us, true
		}
		if err := skipValue(dec); err != nil {
			return 0, false
		}
	}
}

// skipValue consumes one value (scalar, object or array) from dec.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth <= 0 {
			return nil
		}
	}
}
