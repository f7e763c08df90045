package x

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// The reader splits "\r\n"- (or "\n"-) terminated lines, skips
// heartbeats, skips oversized lines in bounded memory, and hands back an
// unterminated last line with the error.
func TestLineReader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("y", 100)
	tests := []struct {
		name    string
		input   string
		max     int
		want    []string // "!N" is a *LineTooLongError of size N
		last    string   // bytes returned with the final error
		err     error
		oneByte bool // deliver the input one byte per Read
	}{
		{"crlf", "a\r\nb\r\n", 10, []string{"a", "b"}, "", io.EOF, false},
		{"bare lf", "a\nb\n", 10, []string{"a", "b"}, "", io.EOF, false},
		{"heartbeats", "\r\n\r\na\r\n \r\n\n\r\nb\r\n\r\n", 10, []string{"a", "b"}, "", io.EOF, false},
		{"exactly max", "abcd\r\n", 4, []string{"abcd"}, "", io.EOF, false},
		{"one over max", "abcde\r\nok\r\n", 4, []string{"!5", "ok"}, "", io.EOF, false},
		{"over max without cr", "abcde\nok\n", 4, []string{"!5", "ok"}, "", io.EOF, false},
		{"far over max", long + "\r\nok\r\n", 10, []string{"!100", "ok"}, "", io.EOF, false},
		{"split across reads", long + "\r\n" + "ab\r\n", 200, []string{long, "ab"}, "", io.EOF, true},
		{"giant split across reads", long + "\r\nab\r\n", 10, []string{"!100", "ab"}, "", io.EOF, true},
		{"cr before a read boundary", "abcd\r\nx\r\n", 4, []string{"abcd", "x"}, "", io.EOF, true},
		{"unterminated last line", "a\r\n{\"b\":1}", 10, []string{"a"}, `{"b":1}`, io.EOF, false},
		{"oversized unterminated tail", "a\r\n" + long, 10, []string{"a"}, "", io.EOF, false},
		{"error mid-line", "a\r\nbc", 10, []string{"a"}, "bc", io.ErrUnexpectedEOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r io.Reader = strings.NewReader(tt.input)
			if tt.err == io.ErrUnexpectedEOF {
				r = io.MultiReader(r, iotest.ErrReader(io.ErrUnexpectedEOF))
			}
			if tt.oneByte {
				r = iotest.OneByteReader(r)
			}
			lr := newLineReader(r, tt.max)
			var got []string
			for {
				line, err := lr.next()
				if tooLong, ok := errors.AsType[*LineTooLongError](err); ok {
					if tooLong.Max != tt.max {
						t.Errorf("Max = %d", tooLong.Max)
					}
					got = append(got, "!"+strconv.FormatInt(tooLong.Size, 10))
					continue
				}
				if err != nil {
					if !errors.Is(err, tt.err) || string(line) != tt.last {
						t.Errorf("end: %q, %v; want %q, %v", line, err, tt.last, tt.err)
					}
					break
				}
				got = append(got, string(line))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("lines %q, want %q", got, tt.want)
			}
		})
	}
}

// Memory stays bounded: a 16 MiB line is skipped without being held.
func TestLineReaderBoundedMemory(t *testing.T) {
	t.Parallel()
	const size = 16 << 20
	r := io.MultiReader(io.LimitReader(infinite('z'), size), strings.NewReader("\r\nok\r\n"))
	lr := newLineReader(r, 1<<20)
	_, err := lr.next()
	if tooLong, ok := errors.AsType[*LineTooLongError](err); !ok || tooLong.Size != size {
		t.Fatalf("err = %v", err)
	}
	if cap(lr.buf) > 2<<20 {
		t.Errorf("the reader kept %d bytes for a skipped line", cap(lr.buf))
	}
	if line, err := lr.next(); err != nil || string(line) != "ok" {
		t.Errorf("after the giant line: %q, %v", line, err)
	}
}

type infinite byte

func (b infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
