package main

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/twitter"
)

// TestReplayNewIDs checks that each loop of replayNewIDs serves the
// recording with new status IDs and nothing else changed: the bot's dedupe
// would otherwise drop every loop after the first.
func TestReplayNewIDs(t *testing.T) {
	t.Parallel()
	g := mock.NewGenerator(seed)
	rec := &recording{}
	const n = 50
	for range n {
		rec.add(append(g.Next(nil), '\r', '\n'))
	}
	rec.add([]byte("\r\n")) // a keep-alive is no status
	rec.finish()
	if rec.statuses != n || rec.matched == 0 || rec.matched == n || rec.maxLoop < 1000 {
		t.Fatalf("recording: %d statuses, %d matched, max loop %d", rec.statuses, rec.matched, rec.maxLoop)
	}

	srv := httptest.NewServer(replayNewIDs(rec))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	seen := map[string]bool{}
	orig := bytes.Split(rec.data, []byte("\r\n"))
	for loop := range 3 {
		for i := range n + 1 {
			line, err := br.ReadBytes('\n')
			if err != nil {
				t.Fatal(err)
			}
			if len(line) != len(orig[i])+2 {
				t.Fatalf("loop %d line %d: %d bytes, recorded %d", loop, i, len(line)-2, len(orig[i]))
			}
			if i == n {
				continue
			}
			ev, err := twitter.Decode(bytes.TrimRight(line, "\r\n"))
			if err != nil || ev.Kind != stream.KindStatus {
				t.Fatalf("loop %d line %d: %v, kind %v", loop, i, err, ev.Kind)
			}
			if seen[ev.Status.ID] {
				t.Fatalf("loop %d line %d: ID %s served before", loop, i, ev.Status.ID)
			}
			seen[ev.Status.ID] = true
			want, _ := twitter.Decode(orig[i])
			if ev.Status.Text != want.Status.Text || ev.Status.Author != want.Status.Author {
				t.Fatalf("loop %d line %d: the status changed beyond its ID", loop, i)
			}
			if loop == 0 && !bytes.Equal(line[:len(line)-2], orig[i]) {
				t.Fatalf("the first loop is not the recording")
			}
		}
	}
}
