package twitter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
)

func pipelineTweet(i int) string {
	return fmt.Sprintf(`{"id_str":"%d","text":"python %d","user":{"id_str":"1","screen_name":"u"}}`, i, i)
}

// Many messages, oversized ones among them, come out complete and in order.
func TestReadPipelinedKeepsOrder(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	var in bytes.Buffer
	var want []string
	for i := range 5000 {
		if i%700 == 0 {
			in.WriteString(strings.Repeat("x", 2000) + "\r\n") // over the limit below
		}
		in.WriteString(pipelineTweet(i) + "\r\n")
		want = append(want, fmt.Sprint(i))
	}
	in.WriteString(pipelineTweet(5000)) // unterminated: handed back as the tail
	var got []string
	var logs bytes.Buffer
	tail, readErr, herr := readPipelined(newFrameReader(&in, 1000, false), Decode,
		func(_ []byte, ev stream.Event, err error) error {
			if err != nil {
				return err
			}
			got = append(got, ev.Status.ID)
			return nil
		}, func() { t.Error("stop called without a handle error") }, slog.New(slog.NewTextHandler(&logs, nil)))
	if herr != nil || !errors.Is(readErr, io.EOF) {
		t.Fatalf("readPipelined = %v, %v", readErr, herr)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d statuses, want %d in order", len(got), len(want))
	}
	if string(tail) != pipelineTweet(5000) {
		t.Errorf("tail = %q", tail)
	}
	if n := strings.Count(logs.String(), "oversized"); n != 8 {
		t.Errorf("%d oversized logs, want 8", n)
	}
}

// A message is handled as soon as it arrived whole, without waiting for a
// batch to fill: the writer sends the next one only after that.
func TestReadPipelinedDoesNotWaitForABatch(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	pr, pw := io.Pipe()
	handled := make(chan string, 5) // handle never blocks, so a failure ends the test
	go func() {
		defer pw.Close()
		for i := range 5 {
			// A keep-alive right behind the message must not make the reader
			// wait for another one.
			if _, err := io.WriteString(pw, pipelineTweet(i)+"\r\n\r\n"); err != nil {
				return
			}
			select {
			case <-handled:
			case <-time.After(10 * time.Second): // a bound on a failure only
				pw.CloseWithError(errors.New("message not handled before the next was sent"))
				return
			}
		}
	}()
	n := 0
	_, readErr, herr := readPipelined(newFrameReader(pr, 1<<20, false), Decode,
		func(_ []byte, ev stream.Event, _ error) error {
			n++
			handled <- ev.Status.ID
			return nil
		}, func() {}, slog.New(slog.DiscardHandler))
	if herr != nil || !errors.Is(readErr, io.EOF) || n != 5 {
		t.Fatalf("readPipelined = %v, %v after %d messages", readErr, herr, n)
	}
}

// An error from handle stops reading: stop is called (the connection
// closes) and every goroutine ends.
func TestReadPipelinedStopsOnHandleError(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	pr, pw := io.Pipe()
	go func() {
		for i := 0; ; i++ {
			if _, err := io.WriteString(pw, pipelineTweet(i)+"\r\n"); err != nil {
				return
			}
		}
	}()
	stopErr := errors.New("enough")
	stopped := false
	n := 0
	_, _, herr := readPipelined(newFrameReader(pr, 1<<20, false), Decode,
		func([]byte, stream.Event, error) error {
			if n++; n == 100 {
				return stopErr
			}
			return nil
		}, func() {
			stopped = true
			pr.CloseWithError(io.ErrClosedPipe) // as cancelling the connection does
		}, slog.New(slog.DiscardHandler))
	if !errors.Is(herr, stopErr) || !stopped || n != 100 {
		t.Errorf("readPipelined = %v, stopped %v, handled %d; want the handle error after 100, stop called", herr, stopped, n)
	}
}
