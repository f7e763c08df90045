package twitter

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/streambot/streambot/stream"
)

const longTweet = `{"created_at":"Wed Oct 10 20:19:24 +0000 2018","id":1050118621198921728,"id_str":"1050118621198921728",
"text":"To make room for more expression, we will now count all emojis as equal\u2014including those with gender\u200d\u200d and skin t\u2026 https://t.co/MkGjXf9aXm",
"truncated":true,"user":{"id":6253282,"id_str":"6253282","name":"Twitter API","screen_name":"TwitterAPI"},
"entities":{"hashtags":[],"urls":[{"url":"https://t.co/MkGjXf9aXm","expanded_url":"https://twitter.com/i/web/status/1050118621198921728","display_url":"twitter.com/i/web/status/1…"}],"user_mentions":[]},
"extended_tweet":{"full_text":"To make room for more expression, we will now count all emojis as equal\u2014including those with gender\u200d\u200d and skin tone modifiers \ud83d\udc4d\ud83c\udffb\ud83d\udc4d\ud83c\udffd\ud83d\udc4d\ud83c\udfff. This is now reflected in Twitter-Text, our Open Source library. &amp; #Python &lt;3 https://t.co/Nx1XZmRCXA",
 "entities":{"hashtags":[{"text":"Python","indices":[10,17]}],"urls":[{"url":"https://t.co/Nx1XZmRCXA","expanded_url":"https://twittercommunity.com/t/new-update-to-the-twitter-text-library-emoji-character-count/114607","display_url":"twittercommunity.com/t/new-update-t…"}],"user_mentions":[{"screen_name":"gvanrossum","name":"Guido","id":15804774,"id_str":"15804774"}]}},
"lang":"en","in_reply_to_status_id_str":null,"is_quote_status":false,"retweet_count":0,"timestamp_ms":"1539202764000"}`

func TestDecodeExtendedTweet(t *testing.T) {
	t.Parallel()
	ev, err := Decode([]byte(longTweet))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != stream.KindStatus {
		t.Fatalf("Kind = %v, want status", ev.Kind)
	}
	s := ev.Status
	checks := []struct{ field, got, want string }{
		{"ID", s.ID, "1050118621198921728"},
		{"Source", s.Source, "twitter"},
		{"ScreenName", s.Author.ScreenName, "TwitterAPI"},
		{"Name", s.Author.Name, "Twitter API"},
		{"Author.ID", s.Author.ID, "6253282"},
		{"URL", s.URL, "https://x.com/TwitterAPI/status/1050118621198921728"},
		{"Lang", s.Lang, "en"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	wantText := "To make room for more expression, we will now count all emojis as equal—including those with gender\u200d\u200d and skin tone modifiers 👍🏻👍🏽👍🏿. This is now reflected in Twitter-Text, our Open Source library. & #Python <3 https://t.co/Nx1XZmRCXA"
	if s.Text != wantText {
		t.Errorf("Text = %q\nwant   %q", s.Text, wantText)
	}
	if !slices.Equal(s.Hashtags, []string{"Python"}) || !slices.Equal(s.Mentions, []string{"gvanrossum"}) {
		t.Errorf("entities from extended_tweet: hashtags %q mentions %q", s.Hashtags, s.Mentions)
	}
	if len(s.URLs) != 1 || s.URLs[0].Display != "twittercommunity.com/t/new-update-t…" {
		t.Errorf("URLs = %+v, want the extended_tweet's", s.URLs)
	}
	if want := time.Date(2018, 10, 10, 20, 19, 24, 0, time.UTC); !s.CreatedAt.Equal(want) {
		t.Errorf("CreatedAt = %v, want %v", s.CreatedAt, want)
	}
	if s.IsRetweet || s.IsQuote || s.IsReply {
		t.Errorf("flags = rt %v quote %v reply %v, want none", s.IsRetweet, s.IsQuote, s.IsReply)
	}
	if string(s.Raw) != longTweet {
		t.Error("Raw is not the message as sent")
	}
}

func TestDecodeRetweetUsesOriginal(t *testing.T) {
	t.Parallel()
	line := `{"id_str":"2","text":"RT @orig: short and trunc…","user":{"id_str":"20","screen_name":"retweeter","name":"R"},
	"retweeted_status":{"id_str":"1","text":"short and truncated? no: full text about python","user":{"id_str":"10","screen_name":"orig","name":"O"},
	"entities":{"hashtags":[{"text":"golang"}],"urls":[],"user_mentions":[]}},"entities":{"hashtags":[],"urls":[],"user_mentions":[{"screen_name":"orig"}]},"retweet_count":0}`
	ev, err := Decode([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	s := ev.Status
	if !s.IsRetweet || s.RetweetedID != "1" || s.ID != "2" {
		t.Errorf("IsRetweet %v RetweetedID %q ID %q", s.IsRetweet, s.RetweetedID, s.ID)
	}
	if s.Text != "RT @orig: short and truncated? no: full text about python" {
		t.Errorf("Text = %q", s.Text)
	}
	if s.Author.ScreenName != "retweeter" || !slices.Equal(s.Hashtags, []string{"golang"}) {
		t.Errorf("author %q hashtags %q", s.Author.ScreenName, s.Hashtags)
	}
}

func TestDecodeFlagsAndFallbacks(t *testing.T) {
	t.Parallel()
	line := `{"id":1234567890123456789,"full_text":"extended mode text","text":"compat","user":{"screen_name":"u"},
	"in_reply_to_status_id_str":"99","is_quote_status":true,"created_at":"bogus","timestamp_ms":"1539202764000"}`
	ev, err := Decode([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	s := ev.Status
	if s.ID != "1234567890123456789" {
		t.Errorf("ID from numeric id = %q", s.ID)
	}
	if s.Text != "extended mode text" {
		t.Errorf("Text = %q, want full_text", s.Text)
	}
	if !s.IsReply || !s.IsQuote {
		t.Errorf("IsReply %v IsQuote %v, want both", s.IsReply, s.IsQuote)
	}
	if !s.CreatedAt.Equal(time.UnixMilli(1539202764000)) {
		t.Errorf("CreatedAt from timestamp_ms = %v", s.CreatedAt)
	}
}

func TestDecodeControlMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want stream.Event
	}{
		{`{"delete":{"status":{"id":1234,"id_str":"1234","user_id":3,"user_id_str":"3"}}}`,
			stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: "1234", UserID: "3"}}},
		{`{"delete":{"status":{"id":1234,"user_id":3}}}`,
			stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: "1234", UserID: "3"}}},
		{`{"limit":{"track":1234,"timestamp_ms":"1"}}`,
			stream.Event{Kind: stream.KindLimit, Limit: stream.Limit{Track: 1234}}},
		{`{"disconnect":{"code":7,"stream_name":"streambot-statuses","reason":"admin logout"}}`,
			stream.Event{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{Code: 7, StreamName: "streambot-statuses", Reason: "admin logout"}}},
		{`{"warning":{"code":"FALLING_BEHIND","message":"Your connection is falling behind","percent_full":60}}`,
			stream.Event{Kind: stream.KindWarning, Warning: stream.Warning{Code: "FALLING_BEHIND", Message: "Your connection is falling behind", PercentFull: 60}}},
	}
	for _, tc := range tests {
		got, err := Decode([]byte(tc.line))
		if err != nil {
			t.Errorf("Decode(%s): %v", tc.line, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Decode(%s) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want error
	}{
		{`{"scrub_geo":{"user_id":1,"up_to_status_id":2}}`, ErrIgnoredMessage},
		{`{"status_withheld":{"id":1,"user_id":2,"withheld_in_countries":["DE"]}}`, ErrIgnoredMessage},
		{`{"user_withheld":{"id":1,"withheld_in_countries":["DE"]}}`, ErrIgnoredMessage},
		{`{"something":"new"}`, ErrUnknownMessage},
		{`{"id_str":"1","text":"no user"}`, ErrUnknownMessage},
	}
	for _, tc := range tests {
		if _, err := Decode([]byte(tc.line)); !errors.Is(err, tc.want) {
			t.Errorf("Decode(%s) error = %v, want %v", tc.line, err, tc.want)
		}
	}
	for _, bad := range []string{`{"id_str":`, `not json`, ``, `[1,2]`, `{"text":"\xff"`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) succeeded, want an error", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(longTweet))
	f.Add([]byte(`{"delete":{"status":{"id":1}}}`))
	f.Add([]byte(`{"limit":{"track":-1}}`))
	f.Add([]byte(`{"id_str":"1","user":{},"text":"\ud83d\udc0d \ud800 &amp;","entities":{"hashtags":[null]}}`))
	f.Add([]byte(`{"a":[1,-2.5e3,true,null,{"b":"\u00e9"}]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := Decode(line)
		if err == nil && ev.Kind == stream.KindStatus && ev.Status == nil {
			t.Fatal("status event without a status")
		}
		// The scanner validates: what it accepts is JSON, what it rejects
		// as malformed is not (or has a field of the wrong type).
		wellFormed := err == nil || errors.Is(err, ErrUnknownMessage) || errors.Is(err, ErrIgnoredMessage)
		var typeErr *json.UnmarshalTypeError
		if valid := json.Valid(line); wellFormed != valid && !(valid && errors.As(err, &typeErr)) {
			t.Fatalf("Decode(%q): %v, but json.Valid = %v", line, err, valid)
		}
		if err == nil && ev.Kind == stream.KindStatus && !utf8.ValidString(ev.Status.Text+ev.Status.Author.Name+ev.Status.ID) {
			t.Fatalf("Decode(%q): invalid UTF-8 in the status", line)
		}
	})
}

// FuzzUnquote holds appendUnquoted to encoding/json on any string the
// scanner accepts.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`plain`, `a\"b\\c\/d\b\f\n\r\t`, `\u00e9\ud83d\udc0d\ud800\udc00x\ud800\u0041`, "bad \xff\xfe", `\u0000`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		quoted := []byte(`"` + body + `"`)
		sc := scanner{b: quoted}
		sp, err := sc.str()
		if err != nil || sc.i != len(quoted) {
			if json.Valid(quoted) {
				t.Fatalf("str rejected %q, which is valid JSON", quoted)
			}
			return
		}
		var want string
		if err := json.Unmarshal(quoted, &want); err != nil {
			t.Fatalf("str accepted %q, encoding/json: %v", quoted, err)
		}
		if got := string(appendUnquoted(nil, quoted[sp.lo:sp.hi])); got != want {
			t.Fatalf("appendUnquoted(%q) = %q, encoding/json %q", body, got, want)
		}
	})
}

// FuzzCreatedAt holds the fast created_at parser to time.Parse.
func FuzzCreatedAt(f *testing.F) {
	for _, s := range []string{"Wed Oct 10 20:19:24 +0000 2018", "Sat Feb 29 23:59:59 -0730 2020", "Sun Feb 29 12:00:00 +0000 2021",
		"Mon Jan 01 00:00:00 +2359 0000", "Tue Dec 31 23:59:60 +0000 1999", "Thu Apr 31 10:10:10 +0100 2020"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseCreatedAt([]byte(s))
		if !ok {
			return // the caller asks time.Parse
		}
		want, err := time.Parse(CreatedAtLayout, s)
		if err != nil {
			t.Fatalf("parseCreatedAt(%q) = %v, time.Parse: %v", s, got, err)
		}
		if want = want.UTC(); got != want {
			t.Fatalf("parseCreatedAt(%q) = %v, time.Parse %v", s, got, want)
		}
	})
}

func TestUnescapeHTMLIsTwittersReplacer(t *testing.T) {
	t.Parallel()
	replacer := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")
	for _, s := range []string{"", "plain", "&amp;", "&amp;lt;", "&&lt;&gt", "a &lt;b&gt; &amp; c&", "&ampx &lt &gt;&gt;", "&#39; &quot;"} {
		b := []byte(s)
		if got, want := string(b[:unescapeHTML(b)]), replacer.Replace(s); got != want {
			t.Errorf("unescapeHTML(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestDecodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop decoders")
	}
	line := []byte(longTweet)
	// The status, its Raw copy, its strings, its ID, its hashtag and
	// mention lists, its URLs: at most seven allocations.
	if n := testing.AllocsPerRun(100, func() { Decode(line) }); n > 7 {
		t.Errorf("Decode allocates %v times per status, want at most 7", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	line := []byte(longTweet)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(line); err != nil {
			b.Fatal(err)
		}
	}
}

// OmitRaw's decoder gives the same status without the payload.
func TestDecodeWithoutRaw(t *testing.T) {
	t.Parallel()
	with, err := Decode([]byte(longTweet))
	if err != nil {
		t.Fatal(err)
	}
	without, err := decodeWithoutRaw([]byte(longTweet))
	if err != nil {
		t.Fatal(err)
	}
	if without.Status.Raw != nil {
		t.Errorf("Raw = %d bytes, want nil", len(without.Status.Raw))
	}
	a, b := *with.Status, *without.Status
	a.Raw = nil
	if !reflect.DeepEqual(a, b) {
		t.Errorf("statuses differ beyond Raw:\n%+v\n%+v", a, b)
	}
	if src, err := NewSource(Config{Credentials: Credentials{"a", "b", "c", "d"}, Track: []string{"x"}, OmitRaw: true}); err != nil {
		t.Fatal(err)
	} else if ev, _ := src.decode([]byte(longTweet)); ev.Status.Raw != nil {
		t.Error("a Source with OmitRaw keeps Raw")
	}
}
