package bluesky

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/stream/bluesky/jetstreamtest"
)

func TestParseCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1725911162329308", 1725911162329308, true}, {"1", 1, true},
		{"", 0, false}, {"0", 0, false}, {"-5", 0, false}, {"12.5", 0, false}, {"abc", 0, false},
		{" 12", 0, false}, {"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		if got, ok := parseCursor(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("parseCursor(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestNextCursor: the cursor of a connection is the committed one (else
// the resumed one) minus the rewind, never below the floor left by a
// skipped giant message, and none at all for the live fallback.
func TestNextCursor(t *testing.T) {
	t.Parallel()
	const c = int64(1725911162329308)
	tests := []struct {
		name              string
		resume, committed int64
		rewind            time.Duration
		floor             int64
		live              bool
		want              int64
	}{
		{name: "nothing: live", rewind: 5 * time.Second, want: 0},
		{name: "resume minus rewind", resume: c, rewind: 5 * time.Second, want: c - 5_000_000},
		{name: "committed beats resume", resume: c, committed: c + 9_000_000, rewind: 5 * time.Second, want: c + 4_000_000},
		{name: "no rewind", committed: c, want: c},
		{name: "rewind before the epoch clamps to 1", committed: 3, rewind: time.Second, want: 1},
		{name: "floor above the rewound cursor", committed: c, rewind: 5 * time.Second, floor: c + 1, want: c + 1},
		{name: "floor below it", committed: c, rewind: 5 * time.Second, floor: c - 9_000_000, want: c - 5_000_000},
		{name: "floor without any cursor", rewind: 5 * time.Second, floor: c, want: c},
		{name: "live fallback", committed: c, rewind: 5 * time.Second, floor: c, live: true, want: 0},
	}
	for _, tt := range tests {
		var p positions
		p.resume.Store(tt.resume)
		p.commit(tt.committed)
		rc := runCursor{floor: tt.floor, live: tt.live}
		if got := rc.next(p.base(), tt.rewind); got != tt.want {
			t.Errorf("%s: next = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestCommittedOnlyMovesForward, from many goroutines at once.
func TestCommittedOnlyMovesForward(t *testing.T) {
	t.Parallel()
	src, err := NewSource(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				src.Committed(formatCursor(int64(1 + (i*8+g)%5000)))
			}
		})
	}
	wg.Wait()
	src.Committed("garbage")
	src.Committed("-1")
	src.Committed("12") // older
	if got := src.pos.committed.Load(); got != 5000 {
		t.Errorf("committed = %d, want the newest, 5000", got)
	}
}

func TestRunCursorRead(t *testing.T) {
	t.Parallel()
	rc := runCursor{unknownSkip: true, live: true, floor: 5}
	rc.read(0) // unknown time: nothing changes
	if !rc.live || !rc.unknownSkip {
		t.Fatal("a message without time_us changed the state")
	}
	rc.read(100)
	rc.read(90) // a replayed message: newest stays
	if rc.newest != 100 || rc.live || rc.unknownSkip || rc.floor != 100 {
		t.Errorf("state %+v; want newest 100, live over with the floor raised to the first time read", rc)
	}
}

func TestPrefixTimeUS(t *testing.T) {
	t.Parallel()
	giant := jetstreamtest.Giant(1725911162329308, "did:plc:x", "3k", 1<<20)
	tests := []struct {
		name   string
		prefix string
		want   int64
		ok     bool
	}{
		{"jetstream order", string(giant[:200]), 1725911162329308, true},
		{"first key", `{"time_us":7,"did":"x","commit":{"record":{"text":"aaaa`, 7, true},
		{"after a nested object", `{"commit":{"time_us":5,"x":[1,{"time_us":6}]},"time_us":7,"kind":"commit","commit":{"text":"aaa`, 7, true},
		{"inside a string does not count", `{"did":"\"time_us\":5","commit":{"text":"time_us: 6 \"time_us\":7`, 0, false},
		{"cut before it", `{"did":"did:plc:x","commit":{"record":{"text":"aaaa`, 0, false},
		{"cut inside the number", `{"did":"x","time_us":17259`, 0, false},
		{"a string", `{"time_us":"7"}`, 0, false},
		{"negative", `{"time_us":-7}`, 0, false},
		{"a float", `{"time_us":7.5}`, 0, false},
		{"not an object", `[{"time_us":7}]`, 0, false},
		{"garbage", "\x00\xff", 0, false},
		{"empty", "", 0, false},
		{"past the scan limit", `{"did":"` + strings.Repeat("x", maxPrefixScan) + `","time_us":7}`, 0, false},
	}
	for _, tt := range tests {
		if got, ok := prefixTimeUS([]byte(tt.prefix)); got != tt.want || ok != tt.ok {
			t.Errorf("%s: prefixTimeUS = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
