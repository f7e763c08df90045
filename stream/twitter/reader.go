package twitter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/streambot/streambot/stream/internal/netstream"
)

// readBufferSize is the bufio buffer of a stream: most messages (a few KiB)
// fit, so they are handed to the decoder without a copy.
const readBufferSize = 64 << 10

// DefaultMaxLineBytes bounds one message; longer ones are skipped.
const DefaultMaxLineBytes = 1 << 20

// LineTooLongError reports a message longer than the configured maximum. The
// message was skipped without being held in memory; the stream goes on.
type LineTooLongError struct {
	// Size is the message's length in bytes: without its "\r\n" for line
	// framing, the declared length for delimited=length.
	Size int64
	// Max is the limit it exceeded.
	Max int
}

// Error says how long the skipped message was and what the limit is.
func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("twitter: skipped a %d-byte message, over the limit of %d bytes", e.Size, e.Max)
}

// errFraming reports a stream that does not follow the framing it was asked
// for (a length line that is not a number): the connection is unusable.
var errFraming = errors.New("twitter: malformed stream framing")

// frameReader splits a v1.1 stream into messages.
//
// Messages end with "\r\n" and may contain a bare "\n". Blank lines are
// keep-alives and are skipped. With delimited=length, each message is
// preceded by a line holding its length in bytes; the reader accepts both a
// length that counts the message's trailing "\r\n" (Twitter's) and one that
// does not (the "\r\n" is then read as a keep-alive).
//
// Memory stays bounded by max plus the buffer size: a longer message is
// skipped in chunks and reported as a *LineTooLongError.
type frameReader struct {
	br        *bufio.Reader
	max       int
	delimited bool
	buf       []byte // messages that span buffer refills
}

func newFrameReader(r io.Reader, maxLine int, delimited bool) *frameReader {
	return &frameReader{br: bufio.NewReaderSize(r, readBufferSize), max: maxLine, delimited: delimited}
}

// hasMessage reports whether a whole message (a non-blank line ended by
// "\r\n") is already buffered, so that the next call to next will not wait
// for the network. Keep-alives do not count: next skips them and reads on.
func (r *frameReader) hasMessage() bool {
	b, _ := r.br.Peek(r.br.Buffered())
	for {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return false
		}
		if !netstream.IsBlank(b[:i]) {
			return true
		}
		b = b[i+2:]
	}
}

// next returns the next message without its terminator. The slice is valid
// until the following call.
//
// Errors: a *LineTooLongError for a skipped message (call next again);
// errFraming; otherwise the error of the underlying reader (io.EOF at a
// clean end). Together with an underlying error, next returns whatever bytes
// of an unterminated last message it had read, so the caller can still use
// a message that arrived complete but without its "\r\n".
func (r *frameReader) next() ([]byte, error) {
	for {
		var msg []byte
		var err error
		if r.delimited {
			msg, err = r.readDelimited()
		} else {
			msg, err = r.readLine()
		}
		if err == nil && netstream.IsBlank(msg) {
			continue // keep-alive
		}
		return msg, err
	}
}

// readLine reads up to the next "\r\n". The common case, a line that fits in
// the buffer, returns a slice of the buffer without copying.
func (r *frameReader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	var size int64 // bytes of this line so far, terminator included
	var last byte  // last byte of the previous chunk, to find a "\r" | "\n" split
	discarding := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		n := len(chunk)
		ended := err == nil && (n >= 2 && chunk[n-2] == '\r' || n == 1 && last == '\r')
		if ended && size == 0 && n-2 <= r.max {
			return chunk[:n-2], nil
		}
		size += int64(n)
		if n > 0 {
			last = chunk[n-1]
		}
		if !discarding && size > int64(r.max)+2 {
			discarding = true // too long whatever follows: stop keeping it
			r.buf = r.buf[:0]
		}
		if !discarding {
			r.buf = append(r.buf, chunk...)
		}
		switch {
		case ended:
			if discarding || size-2 > int64(r.max) {
				return nil, &LineTooLongError{Size: size - 2, Max: r.max}
			}
			return r.buf[:len(r.buf)-2], nil
		case err == nil || err == bufio.ErrBufferFull:
			// A bare "\n" inside the message, or a message longer than the buffer.
		case discarding || len(r.buf) > r.max:
			return nil, err // an oversized fragment is no message
		default:
			return r.buf, err
		}
	}
}

// maxLengthLine bounds a delimited=length length line (digits and spaces).
const maxLengthLine = 64

// readDelimited reads one length-prefixed message.
func (r *frameReader) readDelimited() ([]byte, error) {
	limit := r.max
	r.max = maxLengthLine
	line, err := r.readLine()
	r.max = limit
	var tooLong *LineTooLongError
	if errors.As(err, &tooLong) {
		return nil, fmt.Errorf("%w: a %d-byte length line", errFraming, tooLong.Size)
	}
	if err != nil {
		return nil, err // a partial length line is useless
	}
	digits := bytes.TrimSpace(line)
	if len(digits) == 0 {
		return line[:0], nil // keep-alive
	}
	n, perr := strconv.ParseInt(string(digits), 10, 64)
	if perr != nil || n < 0 {
		return nil, fmt.Errorf("%w: length line %q", errFraming, netstream.Truncate(digits, 20))
	}
	if n > int64(r.max)+2 {
		if _, err := io.CopyN(io.Discard, r.br, n); err != nil {
			return nil, noEOF(err)
		}
		return nil, &LineTooLongError{Size: n, Max: r.max}
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.br, r.buf); err != nil {
		return nil, noEOF(err) // a truncated message is never valid JSON: drop it
	}
	msg := r.buf
	if len(msg) >= 2 && msg[len(msg)-2] == '\r' && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-2]
	}
	if len(msg) > r.max {
		return nil, &LineTooLongError{Size: n, Max: r.max}
	}
	return msg, nil
}

// noEOF turns an EOF in the middle of a message into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
