package handlers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
)

// jsonCases are statuses whose JSON must be exactly encoding/json's.
func jsonCases() []*stream.Status {
	hostile := "a<b>&c\"d\\e\n\r\t\b\f\x00\x1f\x7f é 日本 \u2028\u2029 \xff\xfe end \xe2\x82"
	return []*stream.Status{
		{},
		{ID: "1", Source: "twitter", Author: stream.Author{ScreenName: "ana", Name: "Ana"}, Text: "python", URL: "https://x.com/ana/status/1",
			Lang: "en", CreatedAt: time.Date(2026, 12, 3, 10, 0, 0, 123000000, time.UTC), IsRetweet: true,
			Matched: []string{"python", "go"}, Routes: []string{"py"}},
		{ID: hostile, Source: hostile, Author: stream.Author{ScreenName: hostile, Name: hostile}, Text: hostile, URL: hostile, Lang: hostile,
			Matched: []string{hostile, ""}, Routes: []string{hostile}},
		{ID: "tz", CreatedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.FixedZone("x", 3600)), Matched: []string{}},
		{ID: "raw-json", Raw: []byte("{\n  \"id\": 1,\n  \"text\": \"<b>\"\n}")},
		{ID: "raw-html", Raw: []byte("<rss><item>python</item></rss>\n\xff")},
	}
}

func TestRecordJSONIsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range jsonCases() {
		want, err := json.Marshal(NewRecord(s))
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRecordJSON(nil, s)
		if err != nil || string(got) != string(want) {
			t.Errorf("status %q:\n got %s (%v)\nwant %s", s.ID, got, err, want)
		}
		if strings.Contains(string(got), "\n") {
			t.Errorf("status %q: a line break inside the record", s.ID)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("a<b>&\u2028\xff\x00é")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}

func TestRecordJSONRefusesUnencodableTime(t *testing.T) {
	t.Parallel()
	s := &stream.Status{ID: "far", CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := json.Marshal(NewRecord(s)); err == nil {
		t.Fatal("encoding/json accepted year 10000: the premise changed")
	}
	if _, err := appendRecordJSON(nil, s); err == nil {
		t.Error("appendRecordJSON accepted year 10000")
	}
}

func BenchmarkRecordJSON(b *testing.B) {
	s := jsonCases()[1]
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = appendRecordJSON(buf[:0], s)
	}
}
