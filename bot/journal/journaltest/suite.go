// Package journaltest is the conformance suite of journal.Log: every
// implementation (the in-memory journal, the bbolt one, a distributed one)
// runs the same tests through Run.
package journaltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/bot/journal"
	"github.com/streambot/streambot/stream"
)

// Factory opens the implementation under test.
type Factory struct {
	// Durable reports whether what was committed survives Close and a new
	// Open on the same dir.
	Durable bool
	// Open opens a log in dir; a second Open of the same dir after Close is
	// a restart.
	Open func(t *testing.T, dir string, opt journal.Options) (journal.Log, *journal.Recovery, error)
}

// Run runs the suite against f.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name    string
		durable bool // needs a durable implementation
		run     func(t *testing.T, f Factory)
	}{
		{"OrderAndFanOut", false, testOrderAndFanOut},
		{"SealEndsConsumers", false, testSeal},
		{"CapDropsOldestButNotInFlight", false, testCap},
		{"AckIsIdempotent", false, testAckIdempotent},
		{"BehindTheTail", false, testBehindTheTail},
		{"OddStatusesRoundTrip", false, testOddStatuses},
		{"RestartRedeliversFromTheFloor", true, testRestart},
		{"IDsAndTombstonesSurviveRestart", true, testIDs},
		{"CursorCommittedWithRecords", true, testCursor},
		{"OrphanedConsumerKeepsItsRecords", true, testOrphan},
		{"CapSurvivesRestart", true, testCapRestart},
		{"LowerCapAtRestart", true, testLowerCap},
		{"OrphanPinsOnlyItsRecords", true, testOrphanDisjoint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.durable && !f.Durable {
				t.Skip("the implementation is not durable")
			}
			tc.run(t, f)
		})
	}
}

func open(t *testing.T, f Factory, dir string, opt journal.Options) (journal.Log, *journal.Recovery) {
	t.Helper()
	l, rec, err := f.Open(t, dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l, rec
}

func consumers(names ...string) []journal.ConsumerOptions {
	var out []journal.ConsumerOptions
	for _, n := range names {
		out = append(out, journal.ConsumerOptions{Name: n})
	}
	return out
}

// status returns a record of a status with id for the consumers to.
func status(id string, to ...int) *journal.Record {
	return &journal.Record{Status: &stream.Status{ID: id, Source: "test", Text: "text of " + id, Routes: []string{"r"}}, To: to}
}

func appendAll(t *testing.T, l journal.Log, cursor string, recs ...*journal.Record) {
	t.Helper()
	if err := l.Append(context.Background(), recs, cursor); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// drain delivers and acks everything a consumer has until Next would wait,
// returning the status IDs in order; the log must be sealed or the count
// known: it reads exactly n records.
func take(t *testing.T, c journal.Consumer, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ids []string
	for range n {
		r, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(ids), err)
		}
		ids = append(ids, idOf(r))
		c.Ack(r.Seq)
	}
	return ids
}

func idOf(r *journal.Record) string {
	switch {
	case r.Err != nil:
		return "error:" + r.Err.Error()
	case r.Status == nil:
		return "tombstone:" + r.Deleted
	}
	return r.Status.ID
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func closeLog(t *testing.T, l journal.Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func testOrderAndFanOut(t *testing.T, f Factory) {
	l, _ := open(t, f, t.TempDir(), journal.Options{Consumers: consumers("a", "b")})
	defer closeLog(t, l)
	var wantA, wantB []string
	for i := range 300 {
		id := fmt.Sprint(i)
		switch i % 3 {
		case 0:
			appendAll(t, l, "", status(id, 0))
			wantA = append(wantA, id)
		case 1:
			appendAll(t, l, "", status(id, 1))
			wantB = append(wantB, id)
		default:
			appendAll(t, l, "", status(id, 0, 1), &journal.Record{Deleted: "x" + id})
			wantA, wantB = append(wantA, id), append(wantB, id)
		}
	}
	if got := l.Consumer(0).Depth(); got != len(wantA) {
		t.Errorf("a: Depth = %d, want %d", got, len(wantA))
	}
	if got := take(t, l.Consumer(0), len(wantA)); !slices.Equal(got, wantA) {
		t.Errorf("a got %v\nwant %v", got, wantA)
	}
	if got := take(t, l.Consumer(1), len(wantB)); !slices.Equal(got, wantB) {
		t.Errorf("b got %v\nwant %v", got, wantB)
	}
	for i := range 2 {
		if d := l.Consumer(i).Depth(); d != 0 {
			t.Errorf("consumer %d: Depth = %d after taking everything", i, d)
		}
	}
}

func testSeal(t *testing.T, f Factory) {
	l, _ := open(t, f, t.TempDir(), journal.Options{Consumers: consumers("a")})
	defer closeLog(t, l)
	appendAll(t, l, "", status("1", 0), status("2", 0))
	l.Seal()
	if err := l.Append(context.Background(), []*journal.Record{status("3", 0)}, ""); err == nil {
		t.Error("Append after Seal: no error")
	}
	if got := take(t, l.Consumer(0), 2); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("got %v", got)
	}
	if _, err := l.Consumer(0).Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the sealed log's end = %v, want io.EOF", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l2, _ := open(t, f, t.TempDir(), journal.Options{Consumers: consumers("a")})
	defer closeLog(t, l2)
	if _, err := l2.Consumer(0).Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next on an empty log with a cancelled ctx = %v, want context.Canceled", err)
	}
}

func testCap(t *testing.T, f Factory) {
	opt := journal.Options{Consumers: []journal.ConsumerOptions{{Name: "a", Cap: 3}, {Name: "b"}}}
	l, _ := open(t, f, t.TempDir(), opt)
	defer closeLog(t, l)
	appendAll(t, l, "", status("0", 0, 1))
	a := l.Consumer(0)
	first, err := a.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 10; i++ {
		appendAll(t, l, "", status(fmt.Sprint(i), 0, 1))
	}
	if d, dropped := a.Depth(), a.Dropped(); d != 4 || dropped != 6 {
		t.Errorf("Depth = %d, Dropped = %d; want 4 (3 waiting + 1 in flight) and 6", d, dropped)
	}
	if got := idOf(first); got != "0" {
		t.Errorf("in flight: %s", got)
	}
	a.Ack(first.Seq)
	if got := take(t, a, 3); !slices.Equal(got, []string{"7", "8", "9"}) {
		t.Errorf("after the cap: %v, want the newest 3", got)
	}
	if got := take(t, l.Consumer(1), 10); !slices.Equal(got, ids("", 0, 10)) {
		t.Errorf("b (no cap) got %v", got)
	}
}

func testAckIdempotent(t *testing.T, f Factory) {
	dir := t.TempDir()
	opt := journal.Options{Consumers: consumers("a")}
	l, _ := open(t, f, dir, opt)
	appendAll(t, l, "", status("1", 0), status("2", 0), status("3", 0), status("4", 0))
	c := l.Consumer(0)
	ctx := context.Background()
	r1, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.Next(ctx) // before Ack: the next one, both in flight
	if err != nil || idOf(r2) != "2" {
		t.Fatalf("Next before Ack = %v, %v; want status 2", r2, err)
	}
	c.Ack(r1.Seq - 1) // below what is in flight: nothing happens
	if d := c.Depth(); d != 4 {
		t.Errorf("Depth after acking below the records in flight = %d, want 4", d)
	}
	c.Ack(r1.Seq)
	c.Ack(r1.Seq)
	if d := c.Depth(); d != 3 {
		t.Errorf("Depth after acking the first twice = %d, want 3", d)
	}
	r3, err := c.Next(ctx)
	if err != nil || idOf(r3) != "3" {
		t.Fatalf("Next = %v, %v; want status 3", r3, err)
	}
	c.Ack(r3.Seq) // acks 2 and 3 at once
	if d := c.Depth(); d != 1 {
		t.Errorf("Depth after acking up to 3 = %d, want 1", d)
	}
	r4, err := c.Next(ctx) // in flight at the restart
	if err != nil || idOf(r4) != "4" {
		t.Fatalf("Next = %v, %v; want status 4", r4, err)
	}
	closeLog(t, l)
	if !f.Durable {
		return
	}
	l, _ = open(t, f, dir, opt)
	defer closeLog(t, l)
	if got := take(t, l.Consumer(0), 1); !slices.Equal(got, []string{"4"}) {
		t.Errorf("after a restart: %v, want only the record that was in flight", got)
	}
}

func testBehindTheTail(t *testing.T, f Factory) {
	// A tail of 8 and batches of 16: a consumer that waits reads most of
	// its records back from storage (a durable log) or from memory.
	opt := journal.Options{Consumers: consumers("fast", "slow"), Tail: 8, CommitBatch: 16, CommitDelay: -1}
	l, _ := open(t, f, t.TempDir(), opt)
	defer closeLog(t, l)
	const n = 1000
	want := ids("s", 0, n)
	for i := range n {
		appendAll(t, l, "", status(want[i], 0, 1))
		if i%100 == 99 { // the fast one keeps up
			take(t, l.Consumer(0), 100)
		}
	}
	if got := take(t, l.Consumer(1), n); !slices.Equal(got, want) {
		t.Errorf("the slow consumer got %d records, first differences: %v", len(got), firstDiff(got, want))
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: %q, want %q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

// oddStatuses are statuses no sink would like: they must go through the
// log unchanged.
func oddStatuses() []*stream.Status {
	return []*stream.Status{
		{ID: "html-raw", Text: "python", Raw: []byte("<rss><item>python</item></rss>")},
		{ID: "bad-utf8", Text: "py\xff\xfethon\x00", Raw: []byte("\xff{")},
		{ID: "huge", Text: strings.Repeat("python ", 150_000)},
		{ID: "", Text: ""},
		{ID: "full", Source: "x", Author: stream.Author{ID: "1", ScreenName: "a", Name: "A"}, Text: "t", URL: "u", Lang: "en",
			CreatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999, time.FixedZone("CET", 3600)), IsRetweet: true, IsQuote: true, IsReply: true, RetweetedID: "9",
			Hashtags: []string{"h"}, Mentions: []string{"m"}, URLs: []stream.URL{{Expanded: "e", Display: "d"}},
			Matched: []string{"python", "go"}, Rules: []string{"rule"}, Routes: []string{"r1", "r2"}, Raw: []byte(`{"id":1}`)},
	}
}

func testOddStatuses(t *testing.T, f Factory) {
	dir := t.TempDir()
	opt := journal.Options{Consumers: consumers("a"), Tail: 1, CommitBatch: 1, CommitDelay: -1}
	l, _ := open(t, f, dir, opt)
	odd := oddStatuses()
	// Twice: the first copies are read back now (from memory or, past the
	// tail of 1, from storage), the second after a restart.
	for range 2 {
		for _, s := range odd {
			appendAll(t, l, "", &journal.Record{Status: s, To: []int{0}})
		}
	}
	check := func(l journal.Log, when string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, want := range odd {
			r, err := l.Consumer(0).Next(ctx)
			if err != nil {
				t.Fatalf("%s: Next: %v", when, err)
			}
			if r.Err != nil || r.Status == nil {
				t.Fatalf("%s: %q came back unreadable: %v", when, want.ID, r.Err)
			}
			if !equalStatus(r.Status, want) {
				t.Errorf("%s: status %q changed:\n got %+v\nwant %+v", when, want.ID, short(r.Status), short(want))
			}
			l.Consumer(0).Ack(r.Seq)
		}
	}
	check(l, "before a restart")
	closeLog(t, l)
	if !f.Durable {
		return
	}
	l, _ = open(t, f, dir, opt)
	defer closeLog(t, l)
	check(l, "after a restart")
}

func short(s *stream.Status) stream.Status {
	c := *s
	if len(c.Text) > 40 {
		c.Text = c.Text[:40] + "..."
	}
	return c
}

func equalStatus(a, b *stream.Status) bool {
	return a.ID == b.ID && a.Source == b.Source && a.Author == b.Author && a.Text == b.Text && a.URL == b.URL &&
		a.Lang == b.Lang && a.CreatedAt.Format(time.RFC3339Nano) == b.CreatedAt.Format(time.RFC3339Nano) && a.IsRetweet == b.IsRetweet && a.IsQuote == b.IsQuote &&
		a.IsReply == b.IsReply && a.RetweetedID == b.RetweetedID && slices.Equal(a.Hashtags, b.Hashtags) &&
		slices.Equal(a.Mentions, b.Mentions) && slices.Equal(a.URLs, b.URLs) && slices.Equal(a.Matched, b.Matched) &&
		slices.Equal(a.Rules, b.Rules) && slices.Equal(a.Routes, b.Routes) && string(a.Raw) == string(b.Raw)
}

func testRestart(t *testing.T, f Factory) {
	dir := t.TempDir()
	opt := journal.Options{Consumers: consumers("a", "b")}
	l, _ := open(t, f, dir, opt)
	for i := range 20 {
		appendAll(t, l, "", status(fmt.Sprint(i), 0, 1))
	}
	take(t, l.Consumer(0), 5)
	inflight, err := l.Consumer(0).Next(context.Background()) // 5, never acked
	if err != nil {
		t.Fatal(err)
	}
	take(t, l.Consumer(1), 20)
	closeLog(t, l)

	l, rec := open(t, f, dir, opt)
	defer closeLog(t, l)
	if rec.Queued["a"] != 15 || rec.Queued["b"] != 0 {
		t.Errorf("Recovery.Queued = %v, want a=15 b=0", rec.Queued)
	}
	got := take(t, l.Consumer(0), 15)
	if got[0] != idOf(inflight) {
		t.Errorf("first after the restart: %s, want the one in flight (%s)", got[0], idOf(inflight))
	}
	if !slices.Equal(got, ids("", 5, 20)) {
		t.Errorf("a after the restart: %v", got)
	}
	appendAll(t, l, "", status("20", 1))
	if got := take(t, l.Consumer(1), 1); !slices.Equal(got, []string{"20"}) {
		t.Errorf("b after the restart: %v, want only the new record", got)
	}
}

func testIDs(t *testing.T, f Factory) {
	dir := t.TempDir()
	opt := journal.Options{Consumers: consumers("a"), Window: 5, CommitBatch: 2, CommitDelay: -1}
	l, _ := open(t, f, dir, opt)
	for i := range 8 {
		appendAll(t, l, "", status(fmt.Sprint(i), 0), &journal.Record{Deleted: fmt.Sprint("d", i)})
	}
	take(t, l.Consumer(0), 8)
	closeLog(t, l)
	l, rec := open(t, f, dir, opt)
	defer closeLog(t, l)
	// The window is approximate by commit; it holds at least the newest 5.
	if len(rec.Seen) < 5 || !slices.Equal(rec.Seen[len(rec.Seen)-5:], ids("", 3, 8)) {
		t.Errorf("Seen = %v, want it to end with 3..7", rec.Seen)
	}
	if len(rec.Deleted) < 5 || !slices.Equal(rec.Deleted[len(rec.Deleted)-5:], ids("d", 3, 8)) {
		t.Errorf("Deleted = %v, want it to end with d3..d7", rec.Deleted)
	}
	if len(rec.Seen) > 5 || len(rec.Deleted) > 5 {
		t.Errorf("Recovery holds more than the window: %d seen, %d deleted", len(rec.Seen), len(rec.Deleted))
	}
}

func testCursor(t *testing.T, f Factory) {
	dir := t.TempDir()
	committed := make(chan string, 100)
	opt := journal.Options{Consumers: consumers("a"), Source: "jet", OnCursor: func(c string) { committed <- c }}
	l, _ := open(t, f, dir, opt)
	appendAll(t, l, "c1", status("1", 0))
	appendAll(t, l, "c2", status("2", 0))
	select {
	case c := <-committed:
		if c != "c1" && c != "c2" {
			t.Errorf("OnCursor(%q)", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no cursor committed with its records")
	}
	appendAll(t, l, "c3") // a cursor alone is written at Close at the latest
	closeLog(t, l)
	l, rec := open(t, f, dir, opt)
	defer closeLog(t, l)
	if rec.Cursor != "c3" {
		t.Errorf("Recovery.Cursor = %q, want c3", rec.Cursor)
	}
}

func testOrphan(t *testing.T, f Factory) {
	dir := t.TempDir()
	l, _ := open(t, f, dir, journal.Options{Consumers: consumers("a", "b")})
	for i := range 10 {
		appendAll(t, l, "", status(fmt.Sprint(i), 0, 1))
	}
	take(t, l.Consumer(0), 10)
	closeLog(t, l)

	l, rec := open(t, f, dir, journal.Options{Consumers: consumers("a"), CommitBatch: 4, CommitDelay: -1})
	if rec.Orphans["b"] != 10 {
		t.Errorf("Recovery.Orphans = %v, want b=10", rec.Orphans)
	}
	for i := 10; i < 50; i++ {
		appendAll(t, l, "", status(fmt.Sprint(i), 0))
	}
	take(t, l.Consumer(0), 40)
	closeLog(t, l)

	l, rec = open(t, f, dir, journal.Options{Consumers: consumers("a", "b")})
	defer closeLog(t, l)
	if rec.Queued["b"] != 10 || rec.Queued["a"] != 0 {
		t.Errorf("Recovery.Queued = %v, want a=0 b=10", rec.Queued)
	}
	if got := take(t, l.Consumer(1), 10); !slices.Equal(got, ids("", 0, 10)) {
		t.Errorf("b configured again got %v", got)
	}
}

func testCapRestart(t *testing.T, f Factory) {
	dir := t.TempDir()
	opt := journal.Options{Consumers: []journal.ConsumerOptions{{Name: "a", Cap: 5}}}
	l, _ := open(t, f, dir, opt)
	for i := range 50 {
		appendAll(t, l, "", status(fmt.Sprint(i), 0))
	}
	closeLog(t, l)
	l, rec := open(t, f, dir, opt)
	defer closeLog(t, l)
	if rec.Queued["a"] != 5 {
		t.Errorf("Queued = %d after a restart, want the cap, 5", rec.Queued["a"])
	}
	if got := take(t, l.Consumer(0), 5); !slices.Equal(got, ids("", 45, 50)) {
		t.Errorf("got %v", got)
	}
}

func testLowerCap(t *testing.T, f Factory) {
	dir := t.TempDir()
	l, _ := open(t, f, dir, journal.Options{Consumers: consumers("a")})
	for i := range 50 {
		appendAll(t, l, "", status(fmt.Sprint(i), 0))
	}
	closeLog(t, l)
	l, rec := open(t, f, dir, journal.Options{Consumers: []journal.ConsumerOptions{{Name: "a", Cap: 5}}})
	defer closeLog(t, l)
	if rec.Queued["a"] != 5 || l.Consumer(0).Depth() != 5 || l.Consumer(0).Dropped() != 45 {
		t.Errorf("Queued %d, Depth %d, Dropped %d after a restart with cap 5; want 5, 5, 45",
			rec.Queued["a"], l.Consumer(0).Depth(), l.Consumer(0).Dropped())
	}
	if got := take(t, l.Consumer(0), 5); !slices.Equal(got, ids("", 45, 50)) {
		t.Errorf("got %v", got)
	}
}

func testOrphanDisjoint(t *testing.T, f Factory) {
	dir := t.TempDir()
	l, _ := open(t, f, dir, journal.Options{Consumers: consumers("a", "b"), CommitBatch: 1, CommitDelay: -1})
	appendAll(t, l, "", status("b0", 1))
	for i := range 9 {
		appendAll(t, l, "", status(fmt.Sprint("a", i), 0))
	}
	take(t, l.Consumer(0), 9)
	closeLog(t, l)
	l, rec := open(t, f, dir, journal.Options{Consumers: consumers("a")})
	closeLog(t, l)
	if rec.Orphans["b"] != 1 {
		t.Errorf("Recovery.Orphans = %v, want b=1: only the record for b", rec.Orphans)
	}
	l, rec = open(t, f, dir, journal.Options{Consumers: consumers("a", "b")})
	defer closeLog(t, l)
	if got := take(t, l.Consumer(1), 1); !slices.Equal(got, []string{"b0"}) || rec.Queued["b"] != 1 {
		t.Errorf("b configured again got %v (queued %d)", got, rec.Queued["b"])
	}
}
