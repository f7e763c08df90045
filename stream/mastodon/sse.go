package mastodon

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/streambot/streambot/stream/internal/netstream"
)

// readBufferSize is the bufio buffer of a stream: most lines (a status is a
// few KiB) fit, so they are parsed without a copy.
const readBufferSize = 64 << 10

// DefaultMaxLineBytes bounds one line of the stream and the data of one
// event; longer events are skipped.
const DefaultMaxLineBytes = 1 << 20

// EventTooLongError reports an event whose data, or one of whose lines,
// exceeded the configured maximum. The event was skipped without being held
// in memory; the stream goes on.
type EventTooLongError struct {
	// Event is the event's name, when its "event:" line came before the
	// oversized part (truncated for logs).
	Event string
	// Size is the number of bytes of the event's lines, terminators included.
	Size int64
	// Max is the limit it exceeded.
	Max int

	comment bool // the oversized line was a comment: no event is lost
}

// Error says how long the skipped event was and what the limit is.
func (e *EventTooLongError) Error() string {
	return fmt.Sprintf("mastodon: skipped a %d-byte %q event, over the limit of %d bytes", e.Size, e.Event, e.Max)
}

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	name string // "message" when the server sent no event: field
	data []byte // data lines joined with "\n"; valid until the next call
}

// sseReader parses a text/event-stream (the WHATWG server-sent events
// format) as Mastodon writes it:
//
//	:)                  a comment (Mastodon's greeting; ":thump" is its heartbeat)
//	event: update
//	data: {"id":...}    one or more data lines, joined with "\n"
//	                    a blank line dispatches the event
//
// Lines end with "\n" or "\r\n" (a lone "\r" is not a line end here:
// Mastodon never sends one). Fields other than event and data (id, retry)
// are ignored: Mastodon sends none, and reconnection is the Source's policy.
// A UTF-8 byte order mark at the start is skipped.
//
// Memory is bounded by max plus the buffer size: a longer line or event is
// skipped and reported as an *EventTooLongError.
//
// At the end of the stream, the spec discards an event that was not
// followed by a blank line. The reader dispatches it when all of its lines
// arrived whole: Mastodon writes the event and data lines and the blank
// line separately, so a connection can end between them with a complete
// event. A partial last line (no "\n") is always discarded, so a cut id or
// JSON document is never dispatched.
type sseReader struct {
	br      *bufio.Reader
	max     int
	line    []byte // a line that spans buffer refills
	partial int64  // bytes of the unterminated line at the end of the stream
	started bool   // the first line was read (byte order mark handled)

	name    []byte // the pending event's name
	data    []byte // the pending event's data, each line followed by "\n"
	hasData bool
	size    int64 // bytes of the pending event's lines
	tooLong bool  // the pending event is being skipped
	err     error // the stream's end, returned once the pending event is out
}

func newSSEReader(r io.Reader, maxBytes int) *sseReader {
	return &sseReader{br: bufio.NewReaderSize(r, readBufferSize), max: maxBytes}
}

// next returns the next event. Errors: an *EventTooLongError for a skipped
// event (call next again); otherwise the error of the underlying reader
// (io.EOF at a clean end), sticky.
func (r *sseReader) next() (sseEvent, error) {
	if r.err != nil {
		return sseEvent{}, r.err
	}
	for {
		line, err := r.readLine()
		if err != nil {
			if tl, ok := err.(*EventTooLongError); ok {
				if tl.comment {
					continue // a comment, however long, is not part of an event
				}
				r.size += tl.Size
				r.tooLong = true
				continue
			}
			r.err = err
			if r.partial == 0 && r.hasData && !r.tooLong {
				return r.dispatch(), nil
			}
			r.reset()
			return sseEvent{}, err
		}
		r.size += int64(len(line)) + 1
		if len(line) == 0 {
			switch {
			case r.tooLong:
				tl := &EventTooLongError{Event: netstream.Truncate(r.name, 40), Size: r.size, Max: r.max}
				r.reset()
				return sseEvent{}, tl
			case r.hasData:
				return r.dispatch(), nil
			}
			r.reset()
			continue
		}
		if line[0] == ':' {
			r.size -= int64(len(line)) + 1 // comments are not part of an event
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			r.name = append(r.name[:0], value...)
		case "data":
			r.hasData = true
			if r.tooLong || len(r.data)+len(value)+1 > r.max {
				r.tooLong = true
				r.data = r.data[:0]
				continue
			}
			r.data = append(r.data, value...)
			r.data = append(r.data, '\n')
		}
	}
}

// dispatch returns the pending event and starts a new one.
func (r *sseReader) dispatch() sseEvent {
	ev := sseEvent{name: "message", data: r.data[:len(r.data)-1]}
	if len(r.name) > 0 {
		ev.name = string(r.name)
	}
	r.reset()
	return ev
}

func (r *sseReader) reset() {
	r.name = r.name[:0]
	r.data = r.data[:0]
	r.hasData, r.tooLong, r.size = false, false, 0
}

// bom is the UTF-8 byte order mark.
var bom = []byte("\xEF\xBB\xBF")

// readLine returns the next line without its "\n" or "\r\n". The common
// case, a line that fits in the buffer, returns a slice of the buffer
// without copying; it is valid until the next call.
//
// A line longer than max is skipped in chunks and reported as an
// *EventTooLongError holding its size. At the end of the stream readLine
// returns the reader's error, having recorded the length of any
// unterminated last line in r.partial.
func (r *sseReader) readLine() ([]byte, error) {
	line, err := r.readRawLine()
	if err == nil && !r.started {
		r.started = true
		line = bytes.TrimPrefix(line, bom)
	}
	return line, err
}

func (r *sseReader) readRawLine() ([]byte, error) {
	r.line = r.line[:0]
	var size int64 // bytes of this line so far, "\n" included
	discarding := false
	comment := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		n := len(chunk)
		if size == 0 && n > 0 {
			comment = chunk[0] == ':'
		}
		if err == nil && size == 0 && n-1 <= r.max+1 {
			if line := netstream.TrimCR(chunk[:n-1]); len(line) <= r.max {
				return line, nil
			}
		}
		size += int64(n)
		if !discarding && size > int64(r.max)+2 {
			discarding = true // too long whatever follows: stop keeping it
			r.line = r.line[:0]
		}
		if !discarding {
			r.line = append(r.line, chunk...)
		}
		switch {
		case err == nil:
			line := netstream.TrimCR(r.line[:max(len(r.line)-1, 0)])
			if discarding || len(line) > r.max {
				return nil, &EventTooLongError{Size: size, Max: r.max, comment: comment}
			}
			return line, nil
		case err == bufio.ErrBufferFull:
			// A line longer than the buffer: keep reading.
		default:
			r.partial = size
			return nil, err
		}
	}
}
