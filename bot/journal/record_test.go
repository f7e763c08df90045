package journal

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
)

func sampleStatus() *stream.Status {
	return &stream.Status{
		ID: "1503732764107793684", Source: "twitter",
		Author: stream.Author{ID: "42", ScreenName: "maya_codes", Name: "Maya Okafor"},
		Text:   "Finally migrated our ETL jobs from Python 2 to Python 3.10 & it was < painful than expected",
		URL:    "https://x.com/maya_codes/status/1503732764107793684", Lang: "en",
		CreatedAt: time.Date(2022, 3, 15, 14, 1, 2, 0, time.FixedZone("", -5*3600)), IsReply: true,
		Hashtags: []string{"python"}, Mentions: []string{"ben"},
		URLs:    []stream.URL{{Expanded: "https://python.org/downloads", Display: "python.org/downloads"}},
		Matched: []string{"python"}, Routes: []string{"python"},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	ids := []uint64{7, 9}
	byID := map[uint64]int{7: 0, 9: 1}
	for name, r := range map[string]*Record{
		"status":    {Time: time.Unix(1700000000, 123), Status: sampleStatus(), To: []int{1, 0}},
		"tombstone": {Time: time.Unix(1700000000, 0), Deleted: "123"},
		"raw":       {Time: time.Unix(0, 0), Status: &stream.Status{ID: "r", Raw: []byte("<html>not json</html>")}, To: []int{0}},
	} {
		t.Run(name, func(t *testing.T) {
			b := appendRecord(nil, r, ids)
			payload, rest, err := nextRecord(b)
			if err != nil || len(rest) != 0 {
				t.Fatalf("nextRecord: %v, %d bytes left", err, len(rest))
			}
			got, err := decodeRecord(payload, byID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(r.Time) || !slices.Equal(got.To, r.To) || got.Deleted != r.Deleted || (got.Status == nil) != (r.Status == nil) {
				t.Fatalf("got %+v, want %+v", got, r)
			}
			if r.Status != nil {
				g, w := *got.Status, *r.Status
				if g.CreatedAt.Format(time.RFC3339Nano) != w.CreatedAt.Format(time.RFC3339Nano) {
					t.Errorf("CreatedAt %v, want %v: the clock reading and its zone offset survive", g.CreatedAt, w.CreatedAt)
				}
				if g.ID != w.ID || g.Text != w.Text || g.Author != w.Author || !g.CreatedAt.Equal(w.CreatedAt) ||
					g.IsReply != w.IsReply || !slices.Equal(g.URLs, w.URLs) || !slices.Equal(g.Routes, w.Routes) ||
					string(g.Raw) != string(w.Raw) || !slices.Equal(g.Hashtags, w.Hashtags) {
					t.Errorf("status changed:\n got %+v\nwant %+v", g, w)
				}
			}
			stored, tomb, err := peekIDs(payload, nil)
			var want []uint64
			for _, c := range r.To {
				want = append(want, ids[c])
			}
			if err != nil || tomb != (r.Status == nil) || !slices.Equal(stored, want) {
				t.Errorf("peekIDs = %v, %v, %v; want %v", stored, tomb, err, want)
			}
		})
	}
}

// TestCorruptRecordsAreErrors flips every byte and cuts the record at every
// length: each must decode to an error or to a record, never panic, and a
// flipped byte must be caught by the checksum.
func TestCorruptRecordsAreErrors(t *testing.T) {
	t.Parallel()
	good := appendRecord(nil, &Record{Time: time.Unix(1, 0), Status: sampleStatus(), To: []int{0}}, []uint64{1})
	byID := map[uint64]int{1: 0}
	for i := range good {
		b := slices.Clone(good)
		b[i] ^= 0x41
		payload, _, err := nextRecord(b)
		if err == nil {
			if _, err = decodeRecord(payload, byID); err == nil {
				t.Errorf("flipping byte %d went unnoticed", i)
			}
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("byte %d: %v does not match ErrCorrupt", i, err)
		}
	}
	for n := range len(good) {
		if _, _, err := nextRecord(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Errorf("cut at %d: err = %v, want ErrCorrupt", n, err)
		}
	}
}

// FuzzDecodeRecord feeds arbitrary payloads past the checksum: decoding
// may fail but must not panic (lengths and counts are checked against the
// bytes left, so nothing is allocated beyond the input's size).
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, &Record{Time: time.Unix(1, 0), Status: sampleStatus(), To: []int{0}}, []uint64{1}))
	f.Add(appendRecord(nil, &Record{Deleted: "x"}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		byID := map[uint64]int{1: 0}
		if payload, _, err := nextRecord(b); err == nil {
			decodeRecord(payload, byID)
		}
		if len(b) > 0 {
			decodeRecord(b[1:], byID)
			peekIDs(b, nil)
		}
	})
}

func BenchmarkRecordEncode(b *testing.B) {
	r := &Record{Time: time.Unix(1, 0), Status: sampleStatus(), To: []int{0}}
	ids := []uint64{1}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRecord(buf[:0], r, ids)
	}
	b.ReportMetric(float64(len(buf)), "bytes/record")
}

func BenchmarkRecordDecode(b *testing.B) {
	enc := appendRecord(nil, &Record{Time: time.Unix(1, 0), Status: sampleStatus(), To: []int{0}}, []uint64{1})
	byID := map[uint64]int{1: 0}
	b.ReportAllocs()
	for b.Loop() {
		payload, _, err := nextRecord(enc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodeRecord(payload, byID); err != nil {
			b.Fatal(err)
		}
	}
}

func TestChunkHeader(t *testing.T) {
	t.Parallel()
	n, body, err := splitChunk(append(chunkHeader(nil, 3), "abc"...))
	if err != nil || n != 3 || string(body) != "abc" {
		t.Errorf("splitChunk = %d, %q, %v", n, body, err)
	}
	for _, bad := range []string{"", "\x02\x01", "\x01", "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"} {
		if _, _, err := splitChunk([]byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("splitChunk(%q) = %v, want ErrCorrupt", bad, err)
		}
	}
}
