package mock

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambot/streambot/stream"
)

func collect(t *testing.T, src *Source, max int) []stream.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var evs []stream.Event
	err := src.Run(ctx, func(ev stream.Event) error {
		evs = append(evs, ev)
		if len(evs) == max {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return evs
}

func TestEmbeddedCorpusReplaysEveryKind(t *testing.T) {
	t.Parallel()
	evs := collect(t, New(Config{Once: true}), -1)
	if len(evs) != len(Corpus()) {
		t.Errorf("%d events from %d corpus lines: every line must decode", len(evs), len(Corpus()))
	}
	kinds := map[stream.Kind]int{}
	for _, ev := range evs {
		kinds[ev.Kind]++
	}
	for _, k := range []stream.Kind{stream.KindStatus, stream.KindDelete, stream.KindLimit, stream.KindWarning} {
		if kinds[k] == 0 {
			t.Errorf("the corpus has no %v message", k)
		}
	}
}

func TestLoopingShiftsIDsSoStatusesStayNew(t *testing.T) {
	t.Parallel()
	lines := [][]byte{
		[]byte(`{"id_str":"100","text":"a","user":{"screen_name":"u"}}`),
		[]byte(`{"delete":{"status":{"id_str":"100","user_id_str":"1"}}}`),
		[]byte(`{"id_str":"105","text":"b","user":{"screen_name":"u"}}`),
	}
	evs := collect(t, New(Config{Lines: lines}), 9)
	var ids []string
	for _, ev := range evs {
		switch ev.Kind {
		case stream.KindStatus:
			ids = append(ids, ev.Status.ID)
			if !strings.HasSuffix(ev.Status.URL, "/status/"+ev.Status.ID) {
				t.Errorf("URL %q does not follow the shifted ID %s", ev.Status.URL, ev.Status.ID)
			}
		case stream.KindDelete:
			ids = append(ids, "del:"+ev.Delete.StatusID)
		}
	}
	want := "100 del:100 105 106 del:106 111 112 del:112 117"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("ids over three loops = %q, want %q", got, want)
	}
}

func TestMalformedLinesAreLoggedAndSkipped(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	lines := [][]byte{
		[]byte(`{"id_str":"1","text":"ok","user":{"screen_name":"u"}}`),
		[]byte(`{"id_str":`),
		[]byte(`{"unknown":true}`),
		[]byte(`{"id_str":"2","text":"ok","user":{"screen_name":"u"}}`),
	}
	evs := collect(t, New(Config{Lines: lines, Once: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))}), -1)
	if len(evs) != 2 || evs[0].Status.ID != "1" || evs[1].Status.ID != "2" {
		t.Errorf("events = %+v, want statuses 1 and 2", evs)
	}
	if n := strings.Count(logs.String(), "skipping line"); n != 2 {
		t.Errorf("%d skip logs, want 2:\n%s", n, logs.String())
	}
}

func TestEmitErrorStopsRun(t *testing.T) {
	t.Parallel()
	boom := errors.New("consumer gone")
	err := New(Config{}).Run(context.Background(), func(stream.Event) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("Run = %v, want the emit error", err)
	}
}

func TestRateWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	// One message per hour: the second wait can only end through ctx.
	err := New(Config{Rate: 1.0 / 3600}).Run(ctx, func(stream.Event) error {
		n++
		cancel()
		return nil
	})
	if err != nil || n != 1 {
		t.Errorf("Run = %v after %d events, want nil after 1", err, n)
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	os.WriteFile(good, []byte("\n{\"a\":1}\r\n\n{\"b\":2}\n"), 0o644)
	lines, err := LoadFile(good)
	if err != nil || len(lines) != 2 || string(lines[1]) != `{"b":2}` {
		t.Errorf("LoadFile = %q, %v", lines, err)
	}
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, []byte("\n\n"), 0o644)
	if _, err := LoadFile(empty); err == nil {
		t.Error("an empty file loaded without error")
	}
	giant := filepath.Join(dir, "giant.jsonl")
	os.WriteFile(giant, bytes.Repeat([]byte("x"), MaxLineBytes+1), 0o644)
	if _, err := LoadFile(giant); err == nil {
		t.Error("a line over MaxLineBytes loaded without error")
	}
	if _, err := LoadFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file loaded without error")
	}
}

func TestNoDecodableLineIsAPermanentError(t *testing.T) {
	t.Parallel()
	src := New(Config{Lines: [][]byte{[]byte(`{"bad"`), []byte(`not json`)}})
	err := src.Run(context.Background(), func(stream.Event) error { return nil })
	if !errors.Is(err, stream.ErrPermanent) {
		t.Errorf("Run = %v, want a permanent error instead of looping forever", err)
	}
}
