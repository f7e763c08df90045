package bluesky

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/bluesky/jetstreamtest"
)

// The DIDs of the embedded corpus.
const (
	didAlice   = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	didBob     = "did:plc:z72i7hdynmk6r22z27h6tvur"
	didCarla   = "did:plc:vwzwgnygau7ed7b7wt5ux7y2"
	didDan     = "did:plc:4xslqjuzr6eyyxbnkgr5ae2c"
	didMallory = "did:plc:mallory5xk2ahq7w4x3n6zzzz"
)

func newDecoder() *decoder { return &decoder{handles: newHandleCache(DefaultMaxHandles)} }

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// corpusTime returns the time_us of corpus line i.
func corpusTime(t *testing.T, lines [][]byte, i int) int64 {
	t.Helper()
	var m struct {
		TimeUS int64 `json:"time_us"`
	}
	if err := json.Unmarshal(lines[i], &m); err != nil || m.TimeUS == 0 {
		t.Fatalf("corpus line %d: %v", i, err)
	}
	return m.TimeUS
}

// TestDecodeCorpus decodes the whole corpus in order, as the Source does,
// and checks every line: what is emitted, and every field of every status.
func TestDecodeCorpus(t *testing.T) {
	t.Parallel()
	lines := jetstreamtest.Corpus()
	if len(lines) != 23 {
		t.Fatalf("corpus has %d lines, the table below describes 23", len(lines))
	}
	post := func(did, who, rkey, text, lang, created string) *stream.Status {
		s := &stream.Status{
			ID: "at://" + did + "/app.bsky.feed.post/" + rkey, Source: "bluesky",
			Author: stream.Author{ID: did, ScreenName: who},
			Text:   text, URL: "https://bsky.app/profile/" + who + "/post/" + rkey, Lang: lang,
		}
		if created != "" {
			s.CreatedAt = mustTime(t, created)
		}
		return s
	}
	with := func(s *stream.Status, f func(*stream.Status)) *stream.Status { f(s); return s }
	hostile := "python <b>bold</b> &amp; <a href=\"javascript:alert(1)\">x</a> \u202etxt.exe \u200b\u200d 🐍🐍"

	tests := []struct {
		line    int
		ignored string         // a well-formed line that emits nothing
		status  *stream.Status // a KindStatus (Raw is checked apart)
		del     *stream.Delete // a KindDelete
	}{
		{line: 0, ignored: "identity"},
		{line: 1, ignored: "identity"},
		{line: 2, status: with(post(didAlice, "alice.bsky.social", "3l3qo2vutsw2b", "Python 3.13 is out! Release notes: python.org/downloads #python", "en", "2024-09-09T19:46:05.103Z"), func(s *stream.Status) {
			s.Hashtags = []string{"python"}
			s.URLs = []stream.URL{{Expanded: "https://www.python.org/downloads/", Display: "python.org/downloads"}}
		})},
		{line: 3, ignored: "collection app.bsky.feed.like"},
		{line: 4, status: post(didBob, "bob.example.com", "3l3qo2x5bnm2c", "Tomatoes are ripening 🍅 in the garden", "en", "2024-09-09T19:46:07.105Z")},
		{line: 5, status: with(post(didCarla, didCarla, "3l3qo33pkdf2d", "Aprendiendo Python con @alice.bsky.social 🐍", "es", "2024-09-09T19:46:08.106Z"), func(s *stream.Status) {
			s.Mentions = []string{"alice.bsky.social"}
		})},
		{line: 6, ignored: "account"},
		{line: 7, status: with(post(didBob, "bob.example.com", "3l3qo3a7hxk2e", "@alice.bsky.social does python 3.13 remove the GIL?", "en", "2024-09-09T19:46:10.108Z"), func(s *stream.Status) {
			s.IsReply = true
			s.Mentions = []string{"alice.bsky.social"}
		})},
		// No createdAt: the message's time_us.
		{line: 8, status: with(post(didDan, didDan, "3l3qo3hm4ln2f", "Great thread about golang generics", "", ""), func(s *stream.Status) {
			s.IsQuote = true
			s.CreatedAt = time.UnixMicro(corpusTime(t, lines, 8)).UTC()
		})},
		{line: 9, status: with(post(didAlice, "alice.bsky.social", "3l3qo3oz5sb2g", "python tip: enumerate() beats range(len()) — see this 👇", "en", "2024-09-09T19:46:12.110Z"), func(s *stream.Status) {
			s.IsQuote = true
		})},
		{line: 10, ignored: "collection app.bsky.feed.repost"},
		{line: 11, ignored: "identity"}, // a hostile handle: forgotten, not shown
		// Out-of-range, negative, reversed and rune-splitting offsets, a
		// javascript: link and an empty tag are all skipped; the link whose
		// range splits the last emoji keeps its URL with a display of its own.
		{line: 12, status: with(post(didMallory, didMallory, "3l3qo4c2rrd2i", hostile, "en", "2024-09-09T19:46:15.113Z"), func(s *stream.Status) {
			s.Hashtags = []string{"snake"}
			s.URLs = []stream.URL{{Expanded: "https://evil.example/x", Display: "evil.example/x"}}
		})},
		{line: 13, status: post(didDan, didDan, "3l3qo4jnqvk2j", "Python packaging is hard", "en", "2024-09-09T19:46:16.114Z")},
		{line: 14, del: &stream.Delete{StatusID: "at://" + didDan + "/app.bsky.feed.post/3l3qo4jnqvk2j", UserID: didDan}},
		{line: 15, ignored: "post update"},
		{line: 16, status: with(post(didBob, "bob.example.com", "3l3qo56ahsn2m", "Weekly newsletter is out, no snakes this time", "en", "2024-09-09T19:46:19.117Z"), func(s *stream.Status) {
			s.URLs = []stream.URL{{Expanded: "https://example.com/newsletter/42", Display: "example.com/newsletter/42"}}
		})},
		{line: 17, ignored: "collection app.bsky.graph.follow"},
		{line: 18, ignored: "identity"}, // alice is now alice.dev
		{line: 19, status: with(post(didAlice, "alice.dev", "3l3qo5sfcjo2o", "Shipping a #Python release today", "en", "2024-09-09T19:46:22.120Z"), func(s *stream.Status) {
			s.Hashtags = []string{"Python", "release"} // the facet's, then the record's tags
		})},
		{line: 20, status: post(didCarla, didCarla, "3l3qo5zsg6l2p", "パイソンの勉強中です", "ja", "2024-09-09T19:46:23.121Z")},
		{line: 21, ignored: "collection app.bsky.feed.like"},
		{line: 22, status: post(didBob, "bob.example.com", "3l3qo6ekl3b2r", "last python post of the corpus 🐍", "en", "2024-09-09T19:46:25.123Z")},
	}
	d := newDecoder()
	for _, tt := range tests {
		got, err := d.decode(lines[tt.line])
		if err != nil {
			t.Errorf("line %d: %v", tt.line, err)
			continue
		}
		if want := corpusTime(t, lines, tt.line); got.timeUS != want {
			t.Errorf("line %d: time_us %d, want %d", tt.line, got.timeUS, want)
		}
		switch {
		case tt.ignored != "":
			if got.ev.Kind != 0 || got.ignored != tt.ignored {
				t.Errorf("line %d: kind %v, ignored %q; want nothing emitted, ignored %q", tt.line, got.ev.Kind, got.ignored, tt.ignored)
			}
		case tt.del != nil:
			if got.ev.Kind != stream.KindDelete || got.ev.Delete != *tt.del {
				t.Errorf("line %d: %v %+v, want delete %+v", tt.line, got.ev.Kind, got.ev.Delete, *tt.del)
			}
		default:
			if got.ev.Kind != stream.KindStatus {
				t.Errorf("line %d: kind %v, want status", tt.line, got.ev.Kind)
				continue
			}
			s := *got.ev.Status
			var env struct {
				Commit struct {
					Record json.RawMessage `json:"record"`
				} `json:"commit"`
			}
			if err := json.Unmarshal(lines[tt.line], &env); err != nil {
				t.Fatal(err)
			}
			if string(s.Raw) != string(env.Commit.Record) {
				t.Errorf("line %d: Raw is not the commit's record:\n%s", tt.line, s.Raw)
			}
			s.Raw = nil
			if !reflect.DeepEqual(&s, tt.status) {
				t.Errorf("line %d:\n got %+v\nwant %+v", tt.line, s, *tt.status)
			}
		}
	}
}

// TestFacetsAreNotTrusted feeds posts whose facets and optional parts are
// hostile or malformed: each bad part is skipped, the post survives.
func TestFacetsAreNotTrusted(t *testing.T) {
	t.Parallel()
	const text = "héllo @bob.test #go 🐍 https://x.test"
	// Byte offsets: "h"0 "é"1-2 "llo"3-5 " "6 "@bob.test"7-15 " "16 "#go"17-19 " "20 "🐍"21-24 " "25 "https://x.test"26-39.
	facet := func(start, end any, features ...string) string {
		b, _ := json.Marshal(start)
		e, _ := json.Marshal(end)
		return `{"index":{"byteStart":` + string(b) + `,"byteEnd":` + string(e) + `},"features":[` + strings.Join(features, ",") + `]}`
	}
	mention := `{"$type":"app.bsky.richtext.facet#mention","did":"did:plc:bob"}`
	link := func(uri string) string { return `{"$type":"app.bsky.richtext.facet#link","uri":` + quote(uri) + `}` }
	tag := func(tg string) string { return `{"$type":"app.bsky.richtext.facet#tag","tag":` + quote(tg) + `}` }
	tests := []struct {
		name     string
		record   string // the record's fields after "text"
		mentions []string
		tags     []string
		urls     []stream.URL
		lang     string
		reply    bool
		quote    bool
	}{
		{name: "valid mention", record: `"facets":[` + facet(7, 16, mention) + `]`, mentions: []string{"bob.test"}},
		{name: "end past the text", record: `"facets":[` + facet(7, 9999, mention) + `]`},
		{name: "negative start", record: `"facets":[` + facet(-1, 16, mention) + `]`},
		{name: "reversed", record: `"facets":[` + facet(16, 7, mention) + `]`},
		{name: "empty range", record: `"facets":[` + facet(7, 7, mention) + `]`},
		{name: "start inside é", record: `"facets":[` + facet(2, 16, mention) + `]`},
		{name: "end inside 🐍", record: `"facets":[` + facet(21, 23, link("https://snake.test")) + `]`,
			urls: []stream.URL{{Expanded: "https://snake.test", Display: "snake.test"}}},
		{name: "offsets as strings", record: `"facets":[` + facet("7", "16", mention) + `]`},
		{name: "offsets as floats", record: `"facets":[` + facet(7.5, 16, mention) + `]`},
		{name: "huge offsets", record: `"facets":[` + facet(int64(1)<<62, int64(1)<<62+9, mention) + `]`},
		{name: "mention text is not a handle", record: `"facets":[` + facet(17, 20, mention) + `]`},
		{name: "facets not an array", record: `"facets":{"a":1}`},
		{name: "a bad facet among good ones", record: `"facets":[7,` + facet(17, 20, tag("go")) + `,{"index":"x"},` + facet(7, 16, mention) + `]`,
			tags: []string{"go"}, mentions: []string{"bob.test"}},
		{name: "bad features", record: `"facets":[` + facet(17, 20, `"x"`, `{"$type":7}`, tag("#go")) + `]`, tags: []string{"go"}},
		{name: "tags deduplicated, empty ones dropped", record: `"facets":[` + facet(17, 20, tag("go"), tag("Go"), tag(" "), tag("#")) + `],"tags":["GO","release",""]`,
			tags: []string{"go", "release"}},
		{name: "overlong tag", record: `"facets":[` + facet(17, 20, tag(strings.Repeat("a", 641))) + `]`},
		{name: "links: http kept, others dropped, duplicates once", record: `"facets":[` + facet(26, 40, link("https://x.test"), link("javascript:alert(1)"), link("data:text/html,x"), link("https://x.test"), link("//nohost"), link("http://")) + `]`,
			urls: []stream.URL{{Expanded: "https://x.test", Display: "https://x.test"}}},
		{name: "link display from the text", record: `"facets":[` + facet(7, 16, link("https://www.bob.test/")) + `]`,
			urls: []stream.URL{{Expanded: "https://www.bob.test/", Display: "@bob.test"}}},
		{name: "external embed", record: `"embed":{"$type":"app.bsky.embed.external","external":{"uri":"https://www.news.test/a"}}`,
			urls: []stream.URL{{Expanded: "https://www.news.test/a", Display: "news.test/a"}}},
		{name: "external embed with a javascript uri", record: `"embed":{"$type":"app.bsky.embed.external","external":{"uri":"javascript:x"}}`},
		{name: "quote", record: `"embed":{"$type":"app.bsky.embed.record#main","record":{"uri":"at://x","cid":"y"}}`, quote: true},
		{name: "quote with external media", record: `"embed":{"$type":"app.bsky.embed.recordWithMedia","record":{},"media":{"$type":"app.bsky.embed.external","external":{"uri":"https://m.test"}}}`,
			quote: true, urls: []stream.URL{{Expanded: "https://m.test", Display: "m.test"}}},
		{name: "images are not a quote", record: `"embed":{"$type":"app.bsky.embed.images","images":[]}`},
		{name: "embed not an object", record: `"embed":"app.bsky.embed.record"`},
		{name: "reply", record: `"reply":{"root":{},"parent":{}}`, reply: true},
		{name: "null reply", record: `"reply":null`},
		{name: "langs: the first usable one", record: `"langs":["", "pt-BR", "en"]`, lang: "pt-BR"},
		{name: "langs not an array", record: `"langs":"en"`},
		{name: "overlong lang", record: `"langs":["` + strings.Repeat("x", 65) + `"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := json.RawMessage(`{"$type":"app.bsky.feed.post","text":` + quote(text) + `,` + tt.record + `}`)
			if !json.Valid(raw) {
				t.Fatalf("test record is not JSON: %s", raw)
			}
			s, err := newDecoder().status(didBob, "3kabc", 1725911162329308, raw)
			if err != nil {
				t.Fatal(err)
			}
			if s.Text != text || !slicesEqual(s.Mentions, tt.mentions) || !slicesEqual(s.Hashtags, tt.tags) ||
				!reflect.DeepEqual(s.URLs, tt.urls) || s.Lang != tt.lang || s.IsReply != tt.reply || s.IsQuote != tt.quote {
				t.Errorf("got mentions %q tags %q urls %+v lang %q reply %v quote %v\nwant mentions %q tags %q urls %+v lang %q reply %v quote %v",
					s.Mentions, s.Hashtags, s.URLs, s.Lang, s.IsReply, s.IsQuote, tt.mentions, tt.tags, tt.urls, tt.lang, tt.reply, tt.quote)
			}
			if !s.CreatedAt.Equal(time.UnixMicro(1725911162329308)) {
				t.Errorf("CreatedAt %v: without createdAt, want the message time", s.CreatedAt)
			}
		})
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func slicesEqual(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// TestDecodeMalformed: every malformed message is an errMalformed, never a
// panic, and keeps its time_us when it has a readable one.
func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	const did = `"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz"`
	post := func(rkey, record string) string {
		return `{` + did + `,"time_us":42,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":` + rkey + `,"record":` + record + `}}`
	}
	tests := []struct {
		name   string
		msg    string
		timeUS int64
	}{
		{"not JSON", `hello`, 0},
		{"truncated", `{` + did + `,"time_us":42,"kind":"comm`, 0},
		{"empty object", `{}`, 0},
		{"an array", `[1,2]`, 0},
		{"time_us a string", `{` + did + `,"time_us":"42","kind":"commit"}`, 0},
		{"time_us negative", `{` + did + `,"time_us":-5,"kind":"commit"}`, 0},
		{"no kind", `{` + did + `,"time_us":42}`, 42},
		{"commit without commit", `{` + did + `,"time_us":42,"kind":"commit"}`, 42},
		{"commit of the wrong type", `{` + did + `,"time_us":42,"kind":"commit","commit":"x"}`, 42},
		{"rkey a number", post(`7`, `{"text":"x"}`), 42},
		{"rkey with a slash", post(`"../x"`, `{"text":"x"}`), 42},
		{"rkey dot", post(`"."`, `{"text":"x"}`), 42},
		{"record missing", post(`"3k"`, `null`), 42},
		{"record not an object", post(`"3k"`, `"text"`), 42},
		{"record without text", post(`"3k"`, `{"langs":["en"]}`), 42},
		{"text a number", post(`"3k"`, `{"text":5}`), 42},
		{"invalid did", `{"did":"did:plc:<script>","time_us":42,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3k","record":{"text":"x"}}}`, 42},
		{"did not a did", `{"did":"alice","time_us":42,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post","rkey":"3k"}}`, 42},
		{"identity with an invalid did", `{"did":"x","time_us":42,"kind":"identity","identity":{"did":"x","handle":"a.test"}}`, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := newDecoder().decode([]byte(tt.msg))
			if !errors.Is(err, errMalformed) {
				t.Fatalf("err = %v, want errMalformed", err)
			}
			if got.timeUS != tt.timeUS || got.ev.Kind != 0 {
				t.Errorf("time_us %d kind %v, want %d and nothing emitted", got.timeUS, got.ev.Kind, tt.timeUS)
			}
			if strings.Contains(err.Error(), "<script>") {
				t.Errorf("the error repeats hostile input: %v", err)
			}
		})
	}
}

// TestHandles: identity messages set and clear handles; hostile and invalid
// handles are not shown; the cache is bounded.
func TestHandles(t *testing.T) {
	t.Parallel()
	d := &decoder{handles: newHandleCache(3)}
	ident := func(did, handle string) {
		t.Helper()
		msg := `{"did":"` + did + `","time_us":1,"kind":"identity","identity":{"did":"` + did + `","handle":` + quote(handle) + `}}`
		if _, err := d.decode([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	screen := func(did string) string {
		t.Helper()
		got, err := d.decode([]byte(`{"did":"` + did + `","time_us":2,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3k","record":{"text":"hi"}}}`))
		if err != nil {
			t.Fatal(err)
		}
		return got.ev.Status.Author.ScreenName
	}
	ident("did:plc:a", "Alice.Example.COM")
	if got := screen("did:plc:a"); got != "alice.example.com" {
		t.Errorf("ScreenName %q, want the lowercased handle", got)
	}
	for _, h := range []string{"<b>x</b>.test", "handle.invalid", "nodot", "-x.test", "x.123", "a..b", "", strings.Repeat("a", 64) + ".test"} {
		ident("did:plc:a", h)
		if got := screen("did:plc:a"); got != "did:plc:a" {
			t.Errorf("after handle %q: ScreenName %q, want the DID", h, got)
		}
		ident("did:plc:a", "alice.test")
	}
	for _, did := range []string{"did:plc:b", "did:plc:c", "did:plc:d", "did:plc:e"} {
		ident(did, strings.TrimPrefix(did, "did:plc:")+".test")
	}
	if n := d.handles.len(); n != 3 {
		t.Errorf("%d handles remembered, want the bound 3", n)
	}
	if got := screen("did:plc:e"); got != "e.test" {
		t.Errorf("the newest handle was evicted: %q", got)
	}
}

func TestSlice(t *testing.T) {
	t.Parallel()
	const s = "a🐍b"
	tests := []struct {
		start, end int64
		want       string
		ok         bool
	}{
		{0, 1, "a", true}, {1, 5, "🐍", true}, {0, 6, s, true}, {5, 6, "b", true},
		{2, 5, "", false}, {1, 4, "", false}, {0, 7, "", false}, {-1, 1, "", false}, {3, 3, "", false}, {4, 2, "", false},
	}
	for _, tt := range tests {
		if got, ok := slice(s, tt.start, tt.end); got != tt.want || ok != tt.ok {
			t.Errorf("slice(%d, %d) = %q, %v; want %q, %v", tt.start, tt.end, got, ok, tt.want, tt.ok)
		}
	}
}
