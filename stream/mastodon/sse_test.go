package mastodon

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll parses a stream to its end and renders what came out, one
// "name=data" per event and "TOO LONG(name)" per skipped event.
func readAll(t *testing.T, r io.Reader, maxBytes int) ([]string, error) {
	t.Helper()
	sr := newSSEReader(r, maxBytes)
	var out []string
	for range 10_000 {
		ev, err := sr.next()
		var tl *EventTooLongError
		switch {
		case err == nil:
			out = append(out, ev.name+"="+string(ev.data))
		case errors.As(err, &tl):
			out = append(out, "TOO LONG("+tl.Event+")")
		default:
			if _, again := sr.next(); again != err {
				t.Errorf("error not sticky: %v then %v", err, again)
			}
			return out, err
		}
	}
	t.Fatal("the reader never ended")
	return nil, nil
}

func TestSSEReader(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 100)
	tests := []struct {
		name, in string
		max      int
		want     []string
	}{
		{"mastodon framing", ":)\nevent: update\ndata: {\"id\":\"1\"}\n\n:thump\nevent: delete\ndata: 1\n\n", 0,
			[]string{`update={"id":"1"}`, "delete=1"}},
		{"CRLF", ":)\r\nevent: update\r\ndata: a\r\n\r\n", 0, []string{"update=a"}},
		{"multi-line data joined", "event: update\ndata: {\ndata:  \"id\": \"1\"\ndata: }\n\n", 0, []string{"update={\n \"id\": \"1\"\n}"}},
		{"no space after colon, only one space removed", "event:update\ndata:a\ndata:  b\n\n", 0, []string{"update=a\n b"}},
		{"no event name is message", "data: hi\n\n", 0, []string{"message=hi"}},
		{"name resets after dispatch", "event: update\ndata: a\n\ndata: b\n\n", 0, []string{"update=a", "message=b"}},
		{"empty data line dispatches empty data", "event: filters_changed\ndata:\n\n", 0, []string{"filters_changed="}},
		{"event without data is not dispatched", "event: update\n\nevent: delete\ndata: 2\n\n", 0, []string{"delete=2"}},
		{"field without colon", "data\nevent: e\n\n", 0, []string{"e="}},
		{"id, retry and unknown fields ignored", "id: 5\nretry: 10\nfoo: bar\nevent: e\ndata: d\n\n", 0, []string{"e=d"}},
		{"comments between lines", "event: e\n: hello\ndata: d\n:thump\n\n", 0, []string{"e=d"}},
		{"blank lines between events", "\n\n\nevent: e\ndata: d\n\n\n\n", 0, []string{"e=d"}},
		{"byte order mark", "\xEF\xBB\xBFevent: e\ndata: d\n\n", 0, []string{"e=d"}},
		{"byte order mark only at the start", "data: a\n\n\xEF\xBB\xBFdata: b\n\n", 0, []string{"message=a"}},
		{"missing final blank line, complete lines", "event: update\ndata: {\"id\":\"1\"}\n", 0, []string{`update={"id":"1"}`}},
		{"missing final blank line, CRLF", "event: update\r\ndata: x\r\n", 0, []string{"update=x"}},
		{"cut last line is dropped", "event: delete\ndata: 12345", 0, nil},
		{"cut after a complete event", "event: e\ndata: d\n\nevent: delete\ndata: 12", 0, []string{"e=d"}},
		{"cut continuation line drops the event", "event: update\ndata: {\ndata: \"id\"", 0, nil},
		{"giant line skipped", "event: update\ndata: " + big + "\n\nevent: delete\ndata: 1\n\n", 50, []string{"TOO LONG(update)", "delete=1"}},
		{"giant event over several lines skipped", "event: update\ndata: " + big[:40] + "\ndata: " + big[:40] + "\n\nevent: e\ndata: ok\n\n", 50,
			[]string{"TOO LONG(update)", "e=ok"}},
		{"giant comment skipped quietly", ":" + big + "\nevent: e\ndata: d\n\n", 50, []string{"e=d"}},
		{"giant line at the end", "event: update\ndata: " + big, 50, nil},
		{"line exactly at the limit", "data: " + big[:44] + "\n\n", 50, []string{"message=" + big[:44]}},
		{"lone CR is not a line end", "data: a\rb\n\n", 0, []string{"message=a\rb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxBytes := tt.max
			if maxBytes == 0 {
				maxBytes = DefaultMaxLineBytes
			}
			// One byte at a time too: lines spanning reads must not matter.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := readAll(t, r, maxBytes)
				if err != io.EOF {
					t.Errorf("ended with %v, want io.EOF", err)
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Errorf("events\n got %q\nwant %q", got, tt.want)
				}
			}
		})
	}
}

// Lines longer than the bufio buffer (64 KiB) but under the limit arrive
// whole; longer ones are skipped without being held in memory.
func TestSSEReaderLongLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 3*readBufferSize)
	in := "event: update\ndata: " + long + "\n\nevent: update\ndata: " + long + long + "\n\nevent: e\ndata: after\n\n"
	got, err := readAll(t, strings.NewReader(in), 4*readBufferSize)
	if err != io.EOF {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "update="+long || got[1] != "TOO LONG(update)" || got[2] != "e=after" {
		t.Errorf("got %d events: %.60q", len(got), got)
	}
}

// A read error ends the stream with that error after a complete pending
// event, like EOF.
func TestSSEReaderReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("event: e\ndata: d\n"), iotest.ErrReader(boom))
	got, err := readAll(t, r, DefaultMaxLineBytes)
	if err != boom || len(got) != 1 || got[0] != "e=d" {
		t.Errorf("got %q, %v", got, err)
	}
}

func TestEventTooLongErrorMessage(t *testing.T) {
	t.Parallel()
	err := (&EventTooLongError{Event: "update", Size: 2 << 20, Max: 1 << 20}).Error()
	if !strings.HasPrefix(err, "mastodon: ") || !strings.Contains(err, "2097152") || !strings.Contains(err, "1048576") {
		t.Errorf("%q", err)
	}
}

func BenchmarkSSEReader(b *testing.B) {
	var buf bytes.Buffer
	status := `{"id":"113500000000000001","content":"<p>` + strings.Repeat("python ", 60) + `</p>","account":{"id":"1","acct":"alice"}}`
	for range 1000 {
		buf.WriteString("event: update\ndata: " + status + "\n\n:thump\n")
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r := newSSEReader(bytes.NewReader(in), DefaultMaxLineBytes)
		for {
			if _, err := r.next(); err != nil {
				break
			}
		}
	}
}
