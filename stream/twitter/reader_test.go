package twitter

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/streambot/streambot/stream/internal/netstream"
)

// collect reads fr to its end and describes every result.
func collect(fr *frameReader) []string {
	var out []string
	for range 10_000 {
		msg, err := fr.next()
		var tooLong *LineTooLongError
		switch {
		case err == nil:
			out = append(out, string(msg))
			continue
		case errors.As(err, &tooLong):
			out = append(out, fmt.Sprintf("<too long %d>", tooLong.Size))
			continue
		case errors.Is(err, errFraming):
			return append(out, "<framing>")
		}
		if !netstream.IsBlank(msg) {
			out = append(out, "<partial "+string(msg)+">")
		}
		return append(out, "<"+err.Error()+">")
	}
	panic("collect: no end")
}

var readerWrappers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data+err", iotest.DataErrReader},
}

func TestFrameReader(t *testing.T) {
	t.Parallel()
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name      string
		in        string
		max       int
		delimited bool
		want      []string
	}{
		{"lines", "a\r\nb\r\n", 10, false, []string{"a", "b", "<EOF>"}},
		{"keep-alives are skipped", "\r\n\r\na\r\n\r\n  \r\n", 10, false, []string{"a", "<EOF>"}},
		{"a message may contain \\n", "{\"t\":\n1}\r\nb\r\n", 20, false, []string{"{\"t\":\n1}", "b", "<EOF>"}},
		{"a lone \\r is content", "a\rb\r\n", 10, false, []string{"a\rb", "<EOF>"}},
		{"\\r\\r\\n is a keep-alive", "\r\r\nok\r\n", 10, false, []string{"ok", "<EOF>"}},
		{"longer than the buffer, within max", x(40) + "\r\nok\r\n", 40, false, []string{x(40), "ok", "<EOF>"}},
		{"terminator straddles the buffer", x(15) + "\r\n" + x(14) + "\r\n", 20, false, []string{x(15), x(14), "<EOF>"}},
		{"exactly max", x(10) + "\r\n", 10, false, []string{x(10), "<EOF>"}},
		{"max+1 is skipped", x(11) + "\r\nok\r\n", 10, false, []string{"<too long 11>", "ok", "<EOF>"}},
		{"max+2 is skipped", x(12) + "\r\nok\r\n", 10, false, []string{"<too long 12>", "ok", "<EOF>"}},
		{"giant is skipped with its size", x(1000) + "\r\nok\r\n", 10, false, []string{"<too long 1000>", "ok", "<EOF>"}},
		{"giant with \\n inside", x(20) + "\n" + x(20) + "\r\nok\r\n", 10, false, []string{"<too long 41>", "ok", "<EOF>"}},
		{"unterminated last message is handed back", "a\r\n{\"x\":1}", 10, false, []string{"a", "<partial {\"x\":1}>", "<EOF>"}},
		{"unterminated oversized fragment is not", "a\r\n" + x(100), 10, false, []string{"a", "<EOF>"}},
		{"empty", "", 10, false, []string{"<EOF>"}},

		{"delimited, length counts \\r\\n", "5\r\nabc\r\n7\r\nde\nfg\r\n", 10, true, []string{"abc", "de\nfg", "<EOF>"}},
		{"delimited, length without \\r\\n", "3\r\nabc\r\n2\r\nde\r\n", 10, true, []string{"abc", "de", "<EOF>"}},
		{"delimited, keep-alives", "\r\n\r\n5\r\nabc\r\n\r\n", 10, true, []string{"abc", "<EOF>"}},
		{"delimited, message contains \\r\\n", "9\r\na\r\nb\r\nc\r\n", 10, true, []string{"a\r\nb\r\nc", "<EOF>"}},
		{"delimited, oversized is skipped unread", "20\r\n" + x(18) + "\r\n4\r\nok\r\n", 10, true, []string{"<too long 20>", "ok", "<EOF>"}},
		{"delimited, max+1 is skipped", "13\r\n" + x(11) + "\r\n4\r\nok\r\n", 10, true, []string{"<too long 13>", "ok", "<EOF>"}},
		{"delimited, max+1 without \\r\\n", "12\r\n" + x(12) + "4\r\nok\r\n", 10, true, []string{"<too long 12>", "ok", "<EOF>"}},
		{"delimited, bad length", "abc\r\n", 10, true, []string{"<framing>"}},
		{"delimited, negative length", "-1\r\n", 10, true, []string{"<framing>"}},
		{"delimited, runaway length line", strings.Repeat("9", 100) + "\r\n", 1000, true, []string{"<framing>"}},
		{"delimited, truncated message", "10\r\nabc", 10, true, []string{"<unexpected EOF>"}},
		{"delimited, truncated skip", "100\r\nabc", 10, true, []string{"<unexpected EOF>"}},
	}
	for _, tt := range tests {
		for _, w := range readerWrappers {
			t.Run(tt.name+"/"+w.name, func(t *testing.T) {
				t.Parallel()
				// A 16-byte buffer (bufio's minimum) exercises every refill path.
				fr := &frameReader{br: bufio.NewReaderSize(w.wrap(strings.NewReader(tt.in)), 16), max: tt.max, delimited: tt.delimited}
				if got := collect(fr); !slices.Equal(got, tt.want) {
					t.Errorf("got  %q\nwant %q", got, tt.want)
				}
				// The production buffer size gives the same messages.
				fr = newFrameReader(w.wrap(strings.NewReader(tt.in)), tt.max, tt.delimited)
				if got := collect(fr); !slices.Equal(got, tt.want) {
					t.Errorf("64 KiB buffer: got  %q\nwant %q", got, tt.want)
				}
			})
		}
	}
}

// giantReader yields n bytes of 'x', then tail, without holding them.
type giantReader struct {
	n    int64
	tail *strings.Reader
}

func (g *giantReader) Read(p []byte) (int, error) {
	if g.n == 0 {
		return g.tail.Read(p)
	}
	k := min(int64(len(p)), g.n)
	for i := range k {
		p[i] = 'x'
	}
	g.n -= k
	return int(k), nil
}

func TestFrameReaderSkipsGiantLineInBoundedMemory(t *testing.T) {
	t.Parallel()
	const size = 32 << 20
	for _, delimited := range []bool{false, true} {
		t.Run(fmt.Sprint("delimited=", delimited), func(t *testing.T) {
			t.Parallel()
			var src io.Reader = &giantReader{n: size, tail: strings.NewReader("\r\nok\r\n")}
			if delimited {
				src = io.MultiReader(strings.NewReader(fmt.Sprintf("%d\r\n", size+2)), &giantReader{n: size, tail: strings.NewReader("\r\n4\r\nok\r\n")})
			}
			fr := newFrameReader(src, DefaultMaxLineBytes, delimited)
			_, err := fr.next()
			var tooLong *LineTooLongError
			if !errors.As(err, &tooLong) {
				t.Fatalf("next() error = %v, want *LineTooLongError", err)
			}
			want := int64(size)
			if delimited {
				want = size + 2 // the length line counts the "\r\n"
			}
			if tooLong.Size != want || tooLong.Max != DefaultMaxLineBytes {
				t.Errorf("LineTooLongError = %+v, want Size %d", tooLong, want)
			}
			if c := cap(fr.buf); c > DefaultMaxLineBytes+readBufferSize {
				t.Errorf("the reader kept %d bytes for a %d-byte line; want at most max+buffer", c, size)
			}
			if msg, err := fr.next(); err != nil || string(msg) != "ok" {
				t.Errorf("after the giant line: %q, %v; want \"ok\"", msg, err)
			}
		})
	}
}

// loopReader repeats data forever.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

// A message that fits the buffer reaches the decoder without a copy.
func TestFrameReaderDoesNotAllocatePerLine(t *testing.T) {
	line := []byte(statusLine("1") + "\r\n\r\n")
	fr := newFrameReader(&loopReader{data: line}, DefaultMaxLineBytes, false)
	allocs := testing.AllocsPerRun(1000, func() {
		if msg, err := fr.next(); err != nil || len(msg) == 0 {
			t.Fatalf("next: %q %v", msg, err)
		}
	})
	if allocs != 0 {
		t.Errorf("next allocates %v times per message, want 0", allocs)
	}
}

// referenceFrames is the framing rule written the obvious way.
func referenceFrames(data []byte, limit int) []string {
	parts := bytes.Split(data, []byte("\r\n"))
	var out []string
	for _, p := range parts[:len(parts)-1] {
		switch {
		case len(p) > limit: // even a blank one: it is not buffered to find out
			out = append(out, fmt.Sprintf("<too long %d>", len(p)))
		case netstream.IsBlank(p):
		default:
			out = append(out, string(p))
		}
	}
	if last := parts[len(parts)-1]; !netstream.IsBlank(last) && len(last) <= limit {
		out = append(out, "<partial "+string(last)+">")
	}
	return append(out, "<EOF>")
}

func FuzzFrameReader(f *testing.F) {
	for _, seed := range []string{"a\r\nb\r\n", "\r\n\r\n", "a\nb\r\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nok", "\r\r\n\n\r\n", "a\r"} {
		f.Add([]byte(seed), uint8(8))
	}
	f.Add([]byte(" \r\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, limit uint8) {
		want := referenceFrames(data, int(limit))
		for _, w := range readerWrappers[:2] {
			fr := &frameReader{br: bufio.NewReaderSize(w.wrap(bytes.NewReader(data)), 16), max: int(limit)}
			if got := collect(fr); !slices.Equal(got, want) {
				t.Fatalf("%s: %q\n got %q\nwant %q", w.name, data, got, want)
			}
		}
	})
}

// BenchmarkFrameReader measures framing alone on a stream of typical
// status-sized lines with keep-alives.
func BenchmarkFrameReader(b *testing.B) {
	line := []byte(strings.Repeat(statusLine("1")+"\r\n", 3) + "\r\n")
	fr := newFrameReader(&loopReader{data: line}, DefaultMaxLineBytes, false)
	b.SetBytes(int64(len(statusLine("1")) + 2))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fr.next(); err != nil {
			b.Fatal(err)
		}
	}
}
