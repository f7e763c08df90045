package x

import (
	"bufio"
	"fmt"
	"io"

	"github.com/streambot/streambot/stream/internal/netstream"
)

// readBufferSize is the bufio buffer of a stream: most messages (a few KiB)
// fit, so they are handed to the decoder without a copy.
const readBufferSize = 64 << 10

// LineTooLongError reports a message longer than Config.MaxLineBytes. It
// was skipped without being held in memory; the stream goes on.
type LineTooLongError struct {
	// Size is the message's length in bytes, without its line break.
	Size int64
	// Max is the limit it exceeded.
	Max int
}

// Error says how long the skipped message was and what the limit is.
func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("x: skipped a %d-byte message, over the limit of %d bytes", e.Size, e.Max)
}

// lineReader splits a filtered stream into messages. Each message is one
// JSON object on a line ending with "\r\n" (a bare "\n" is accepted too:
// JSON text never holds a raw line break). Blank lines are X's heartbeats
// and are skipped.
//
// Memory stays bounded by max plus the buffer size: a longer line is
// skipped in chunks and reported as a *LineTooLongError.
type lineReader struct {
	br  *bufio.Reader
	max int
	buf []byte // lines that span buffer refills
}

func newLineReader(r io.Reader, maxLine int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, readBufferSize), max: maxLine}
}

// next returns the next message without its line break. The slice is valid
// until the following call.
//
// Errors: a *LineTooLongError for a skipped line (call next again);
// otherwise the error of the underlying reader (io.EOF at a clean end).
// Together with an underlying error, next returns the bytes of an
// unterminated last line, so the caller can still use a message that
// arrived complete but without its line break.
func (r *lineReader) next() ([]byte, error) {
	for {
		line, err := r.readLine()
		if err == nil && netstream.IsBlank(line) {
			continue // heartbeat
		}
		return line, err
	}
}

func (r *lineReader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	var size int64 // bytes of this line so far, its "\n" included
	var last byte  // last byte of the previous chunk, to find a "\r" | "\n" split
	discarding := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err == nil && size == 0 {
			if line := netstream.TrimCR(chunk[:len(chunk)-1]); len(line) <= r.max {
				return line, nil // the common case: no copy
			}
		}
		size += int64(len(chunk))
		prev := last
		if len(chunk) > 0 {
			last = chunk[len(chunk)-1]
		}
		if !discarding && size > int64(r.max)+2 {
			discarding = true // too long whatever follows: stop keeping it
			r.buf = r.buf[:0]
		}
		if !discarding {
			r.buf = append(r.buf, chunk...)
		}
		switch {
		case err == nil:
			n := size - 1 // without the "\n"
			if len(chunk) >= 2 && chunk[len(chunk)-2] == '\r' || len(chunk) == 1 && prev == '\r' {
				n--
			}
			if n > int64(r.max) {
				return nil, &LineTooLongError{Size: n, Max: r.max}
			}
			return netstream.TrimCR(r.buf[:len(r.buf)-1]), nil
		case err == bufio.ErrBufferFull:
			// A line longer than the buffer: keep reading.
		case discarding || len(r.buf) > r.max:
			return nil, err // an oversized fragment is no message
		default:
			return r.buf, err
		}
	}
}
