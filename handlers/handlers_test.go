package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/track"
)

// recorder is a terminal handler that records what reached it.
type recorder struct{ got []*stream.Status }

func (r *recorder) Handle(_ context.Context, s *stream.Status) error {
	r.got = append(r.got, s)
	return nil
}

func TestChainOrder(t *testing.T) {
	t.Parallel()
	var trace []string
	mw := func(name string) Middleware {
		return func(next Handler) Handler {
			return HandlerFunc(func(ctx context.Context, s *stream.Status) error {
				trace = append(trace, name)
				return next.Handle(ctx, s)
			})
		}
	}
	rec := &recorder{}
	if err := Chain(mw("a"), mw("b"), mw("c"))(rec).Handle(context.Background(), &stream.Status{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(trace, []string{"a", "b", "c"}) || len(rec.got) != 1 {
		t.Errorf("trace %q, handled %d", trace, len(rec.got))
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	py := &stream.Status{ID: "1", Text: "I love Python", Lang: "en"}
	rt := &stream.Status{ID: "2", Text: "RT @a: python", Lang: "EN", IsRetweet: true}
	de := &stream.Status{ID: "3", Text: "Python auf Deutsch", Lang: "de"}
	other := &stream.Status{ID: "4", Text: "golang", Lang: "en"}
	reply := &stream.Status{ID: "5", Text: "@x python snake", Lang: "en", IsReply: true}
	all := []*stream.Status{py, rt, de, other, reply}
	m := track.MustCompile("python,rust")
	tests := []struct {
		name string
		mw   Middleware
		want []string
	}{
		{"match", Match(m), []string{"1", "2", "3", "5"}},
		{"drop retweets", DropRetweets(), []string{"1", "3", "4", "5"}},
		{"drop replies", DropReplies(), []string{"1", "2", "3", "4"}},
		{"exclude", Exclude(track.MustCompile("snake,golang")), []string{"1", "2", "3"}},
		{"languages", Languages("en", " DE "), []string{"1", "2", "3", "4", "5"}},
		{"language en only", Languages("en"), []string{"1", "2", "4", "5"}},
		{"no languages passes all", Languages(), []string{"1", "2", "3", "4", "5"}},
		{"chain", Chain(Match(m), DropRetweets(), Languages("de")), []string{"3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			h := tc.mw(rec)
			for _, s := range all {
				if err := h.Handle(context.Background(), s); err != nil {
					t.Fatal(err)
				}
			}
			var ids []string
			for _, s := range rec.got {
				ids = append(ids, s.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("passed %q, want %q", ids, tc.want)
			}
		})
	}
}

func TestMatchAnnotatesACopy(t *testing.T) {
	t.Parallel()
	s := &stream.Status{ID: "1", Text: "rust and python"}
	rec := &recorder{}
	if err := Match(track.MustCompile("python,rust,go"))(rec).Handle(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 || !slices.Equal(rec.got[0].Matched, []string{"python", "rust"}) {
		t.Fatalf("got %+v", rec.got)
	}
	if s.Matched != nil {
		t.Error("Match modified the shared status")
	}
	// The routes that took a status are package bot's to set: Match keeps
	// them and still sets Matched to the phrases.
	rec = &recorder{}
	routed := &stream.Status{ID: "2", Text: "python", Routes: []string{"my-route"}}
	if err := Match(track.MustCompile("python,rust"))(rec).Handle(context.Background(), routed); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 || !slices.Equal(rec.got[0].Matched, []string{"python"}) || !slices.Equal(rec.got[0].Routes, []string{"my-route"}) {
		t.Errorf("routed status: %+v", rec.got)
	}
}

func TestTaggedRoutesByServerRules(t *testing.T) {
	t.Parallel()
	all := []*stream.Status{
		{ID: "1", Text: "python", Rules: []string{"golang"}}, // the server's verdict wins over the text
		{ID: "2", Rules: []string{"python", "golang"}},
		{ID: "3"},
		{ID: "4", Rules: []string{"python"}, Matched: []string{"earlier"}},
	}
	rec := &recorder{}
	h := Tagged("python")(rec)
	for _, s := range all {
		if err := h.Handle(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, s := range rec.got {
		ids = append(ids, s.ID+"="+strings.Join(s.Matched, ","))
	}
	// Tagged leaves Matched as it was.
	if want := []string{"2=", "4=earlier"}; !slices.Equal(ids, want) {
		t.Errorf("passed %q, want %q", ids, want)
	}
}

func TestConsoleLineIsSafe(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := &stream.Status{
		Author: stream.Author{ScreenName: "evil\x1b[2J", Name: "Mallory\u202e"},
		Text:   "line one\nline two\r\n\x1b[31mred\x1b[0m\t<b>&amp;</b>\u200b",
		URL:    "https://x.com/evil/status/1",
	}
	if err := Console(&buf).Handle(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	want := "@evil[2J (Mallory): line one line two [31mred[0m <b>&amp;</b>\u200b — https://x.com/evil/status/1\n"
	if got := buf.String(); got != want {
		t.Errorf("console line\n got %q\nwant %q", got, want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestConsoleWriteError(t *testing.T) {
	t.Parallel()
	err := Console(failingWriter{}).Handle(context.Background(), &stream.Status{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error = %v, want the write error", err)
	}
}

func TestJSONLAppendsRecords(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.jsonl")
	for round := range 2 { // the second open must append, not truncate
		j, err := OpenJSONL(path)
		if err != nil {
			t.Fatal(err)
		}
		s := &stream.Status{ID: "12345678901234567890", Source: "twitter", Author: stream.Author{ScreenName: "a", Name: "A"},
			Text: "full <text> & \"quotes\"\nnewline", URL: "https://x.com/a/status/1", Matched: []string{"python", "py"},
			Routes: []string{"snakes"}}
		if round == 1 {
			s.ID = "2"
			s.Routes = nil
		}
		if err := j.Handle(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	r := recs[0]
	if r["id"] != "12345678901234567890" || r["source"] != "twitter" || r["author"] != "a" ||
		r["text"] != "full <text> & \"quotes\"\nnewline" || r["url"] != "https://x.com/a/status/1" {
		t.Errorf("record = %v", r)
	}
	if m, _ := r["matched"].([]any); len(m) != 2 || m[0] != "python" || m[1] != "py" {
		t.Errorf("matched = %v, want every phrase", r["matched"])
	}
	if rt, _ := r["routes"].([]any); len(rt) != 1 || rt[0] != "snakes" {
		t.Errorf("routes = %v", r["routes"])
	}
	if recs[1]["id"] != "2" {
		t.Errorf("second record id = %v", recs[1]["id"])
	}
	if _, ok := recs[1]["routes"]; ok {
		t.Errorf("a status without routes has routes %v, want the key omitted", recs[1]["routes"])
	}
}

func TestOpenJSONLError(t *testing.T) {
	t.Parallel()
	if _, err := OpenJSONL(filepath.Join(t.TempDir(), "missing", "dir", "x.jsonl")); err == nil {
		t.Error("OpenJSONL in a missing directory succeeded")
	}
}

func TestMatchOrFrom(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	h := MatchOrFrom(track.MustCompile("python"), []string{"42"})(rec)
	for _, s := range []*stream.Status{
		{ID: "1", Text: "python", Author: stream.Author{ID: "7"}},
		{ID: "2", Text: "lunch", Author: stream.Author{ID: "42"}},
		{ID: "3", Text: "lunch", Author: stream.Author{ID: "7"}},
		{ID: "4", Text: "python", Author: stream.Author{ID: "42"}},
	} {
		h.Handle(context.Background(), s)
	}
	var got []string
	for _, s := range rec.got {
		got = append(got, s.ID+"="+strings.Join(s.Matched, ","))
	}
	if want := []string{"1=python", "2=from:42", "4=python"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The batched JSONL sink writes nothing until Flush (or 256 KiB), then
// whole lines, the same bytes as the unbatched one.
func TestBatchedJSONL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plainPath, batchedPath := filepath.Join(dir, "plain.jsonl"), filepath.Join(dir, "batched.jsonl")
	plain, err := OpenJSONL(plainPath)
	if err != nil {
		t.Fatal(err)
	}
	bj, err := OpenJSONL(batchedPath)
	if err != nil {
		t.Fatal(err)
	}
	batched := bj.Batched()
	ctx := context.Background()
	for i := range 3 {
		s := &stream.Status{ID: fmt.Sprint(i), Text: "python <3"}
		if err := plain.Handle(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := batched.Handle(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(batchedPath); len(b) != 0 {
		t.Errorf("batched sink wrote %d bytes before Flush", len(b))
	}
	if err := batched.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(plainPath)
	got, _ := os.ReadFile(batchedPath)
	if string(got) != string(want) || strings.Count(string(got), "\n") != 3 {
		t.Errorf("batched file:\n%s\nwant:\n%s", got, want)
	}
	if err := batched.Handle(ctx, &stream.Status{ID: "far", CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); !errors.Is(err, ErrPermanent) {
		t.Errorf("an unencodable status: %v, want a permanent error", err)
	}
	if err := bj.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(batchedPath); string(got) != string(want) {
		t.Errorf("Close wrote more: %s", got)
	}
	plain.Close()
}
