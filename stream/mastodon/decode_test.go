package mastodon

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
)

const alice = `"account":{"id":"42","username":"alice","acct":"alice","display_name":"Alice <3","url":"https://social.example/@alice"}`

func TestDecodeStatus(t *testing.T) {
	t.Parallel()
	created := time.Date(2024, 11, 5, 10, 1, 2, 839_000_000, time.UTC)
	tests := []struct {
		name string
		data string
		want stream.Status // Raw is checked separately
	}{
		{
			name: "plain",
			data: `{"id":"1","created_at":"2024-11-05T10:01:02.839Z","in_reply_to_id":null,"spoiler_text":"","language":"en",` +
				`"uri":"https://social.example/users/alice/statuses/1","url":"https://social.example/@alice/1",` +
				`"content":"<p>Hello &amp; welcome</p>","reblog":null,` + alice + `,"mentions":[],"tags":[],"card":null,"edited_at":null}`,
			want: stream.Status{ID: "1", Source: "mastodon", Author: stream.Author{ID: "42", ScreenName: "alice", Name: "Alice <3"},
				Text: "Hello & welcome", URL: "https://social.example/@alice/1", Lang: "en", CreatedAt: created},
		},
		{
			name: "url null falls back to uri; numeric ids",
			data: `{"id":7,"uri":"https://remote.example/objects/7","url":null,"content":"x","account":{"id":9,"username":"bob","acct":"bob@remote.example","display_name":""}}`,
			want: stream.Status{ID: "7", Source: "mastodon", Author: stream.Author{ID: "9", ScreenName: "bob@remote.example"},
				Text: "x", URL: "https://remote.example/objects/7"},
		},
		{
			name: "acct missing falls back to username",
			data: `{"id":"8","content":"x","account":{"id":"9","username":"bob"}}`,
			want: stream.Status{ID: "8", Source: "mastodon", Author: stream.Author{ID: "9", ScreenName: "bob"}, Text: "x"},
		},
		{
			name: "reply with mentions, tags, links and card",
			data: `{"id":"2","in_reply_to_id":"1","language":"en","url":"https://social.example/@alice/2",` +
				`"content":"<p><span class=\"h-card\"><a href=\"https://r.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span> read <a href=\"https://blog.example/a\"><span class=\"invisible\">https://</span><span>blog.example/a</span></a> <a href=\"https://social.example/tags/Python\" class=\"mention hashtag\" rel=\"tag\">#<span>Python</span></a></p>",` +
				alice + `,"mentions":[{"id":"5","username":"bob","acct":"bob@r.example","url":"https://r.example/@bob"}],` +
				`"tags":[{"name":"python","url":"https://social.example/tags/python"}],"card":{"url":"https://cards.example/c","title":"t"}}`,
			want: stream.Status{ID: "2", Source: "mastodon", Author: stream.Author{ID: "42", ScreenName: "alice", Name: "Alice <3"},
				Text: "@bob read https://blog.example/a #Python", URL: "https://social.example/@alice/2", Lang: "en", IsReply: true,
				Hashtags: []string{"python"}, Mentions: []string{"bob@r.example"},
				URLs: []stream.URL{{Expanded: "https://blog.example/a", Display: "blog.example/a"}, {Expanded: "https://cards.example/c", Display: "cards.example/c"}}},
		},
		{
			name: "card duplicating a link",
			data: `{"id":"3","content":"<a href=\"https://blog.example/a\">x</a>",` + alice + `,"card":{"url":"https://blog.example/a"}}`,
			want: stream.Status{ID: "3", Source: "mastodon", Author: stream.Author{ID: "42", ScreenName: "alice", Name: "Alice <3"},
				Text: "x", URLs: []stream.URL{{Expanded: "https://blog.example/a", Display: "blog.example/a"}}},
		},
		{
			name: "content warning",
			data: `{"id":"4","spoiler_text":"  python rant ","content":"<p>packaging!</p>",` + alice + `}`,
			want: stream.Status{ID: "4", Source: "mastodon", Author: stream.Author{ID: "42", ScreenName: "alice", Name: "Alice <3"},
				Text: "CW: python rant\npackaging!"},
		},
		{
			name: "boost",
			data: `{"id":"10","created_at":"2024-11-05T10:01:02.839Z","uri":"https://social.example/users/erin/statuses/10/activity","url":null,"content":"","language":null,` +
				`"account":{"id":"77","username":"erin","acct":"erin","display_name":"Erin"},"tags":[],"mentions":[],` +
				`"reblog":{"id":"1","in_reply_to_id":"0","language":"de","url":"https://r.example/@frank/1","spoiler_text":"cw","content":"<p>Python macht Spaß</p>",` +
				`"account":{"id":"5","username":"frank","acct":"frank@r.example","display_name":"Frank"},"tags":[{"name":"python"}],"mentions":[{"acct":"x@y.example"}],"card":{"url":"https://c.example/"}}}`,
			want: stream.Status{ID: "10", Source: "mastodon", Author: stream.Author{ID: "77", ScreenName: "erin", Name: "Erin"},
				Text: "RT @frank@r.example: CW: cw\nPython macht Spaß", URL: "https://r.example/@frank/1", Lang: "de", CreatedAt: created,
				IsRetweet: true, RetweetedID: "1", Hashtags: []string{"python"}, Mentions: []string{"x@y.example"},
				URLs: []stream.URL{{Expanded: "https://c.example/", Display: "c.example/"}}},
		},
		{
			name: "no account",
			data: `{"id":"5","content":"orphan"}`,
			want: stream.Status{ID: "5", Source: "mastodon", Text: "orphan"},
		},
		{
			name: "unparseable time and unknown fields",
			data: `{"id":"6","created_at":"yesterday","content":"x","poll":{"options":[]},"emojis":[{"shortcode":"blob"}],"filtered":[]}`,
			want: stream.Status{ID: "6", Source: "mastodon", Text: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode(EventUpdate, []byte(tt.data))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.Kind != stream.KindStatus || ev.Status == nil {
				t.Fatalf("event %+v", ev)
			}
			got := *ev.Status
			if string(got.Raw) != tt.data {
				t.Errorf("Raw = %s", got.Raw)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("status\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRawIsACopy(t *testing.T) {
	t.Parallel()
	data := []byte(`{"id":"1","content":"x"}`)
	ev, err := Decode(EventUpdate, data)
	if err != nil {
		t.Fatal(err)
	}
	data[2] = 'X'
	if string(ev.Status.Raw) != `{"id":"1","content":"x"}` {
		t.Errorf("Raw shares the caller's buffer: %s", ev.Status.Raw)
	}
}

func TestDecodeEdit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, wantID string
	}{
		{"edited_at", `{"id":"11","edited_at":"2024-11-05T10:07:29.023Z","content":"<p>now about python</p>"}`, "11@2024-11-05T10:07:29.023Z"},
		{"edited_at null: hash of the edit", `{"id":"11","edited_at":null,"content":"<p>now about python</p>"}`, "11@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Decode(EventStatusUpdate, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			s := ev.Status
			if !strings.HasPrefix(s.ID, tt.wantID) || s.Text != "(edited) now about python" {
				t.Errorf("ID %q, Text %q", s.ID, s.Text)
			}
			if orig, ok := originalID(s.ID); !ok || orig != "11" {
				t.Errorf("originalID(%q) = %q, %v", s.ID, orig, ok)
			}
			again, _ := Decode(EventStatusUpdate, []byte(tt.data))
			if again.Status.ID != s.ID {
				t.Errorf("the same edit got two IDs: %q, %q", s.ID, again.Status.ID)
			}
		})
	}
	a, _ := Decode(EventStatusUpdate, []byte(`{"id":"11","content":"one"}`))
	b, _ := Decode(EventStatusUpdate, []byte(`{"id":"11","content":"two"}`))
	if a.Status.ID == b.Status.ID {
		t.Errorf("two edits without edited_at share the ID %q", a.Status.ID)
	}
	if _, ok := originalID("113500000000000001"); ok {
		t.Error("a plain id looks like an edit")
	}
}

func TestDecodeOtherEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event, data string
		want        stream.Event
		wantErr     error
	}{
		{"delete", "113500000000000005", stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: "113500000000000005"}}, nil},
		{"delete", "  108914398911648589 \n", stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: "108914398911648589"}}, nil},
		{"delete", `"AbC123xyz"`, stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: "AbC123xyz"}}, nil},
		{"delete", "", stream.Event{}, ErrMalformed},
		{"delete", "1 2", stream.Event{}, ErrMalformed},
		{"delete", `"unterminated`, stream.Event{}, ErrMalformed},
		{"delete", strings.Repeat("9", 200), stream.Event{}, ErrMalformed},
		{"delete", "1@edit", stream.Event{}, ErrMalformed},
		{"update", `{"id":"1",`, stream.Event{}, ErrMalformed},
		{"update", `{"content":"no id"}`, stream.Event{}, ErrMalformed},
		{"update", `{"id":"has space"}`, stream.Event{}, ErrMalformed},
		{"update", `{"id":{"nested":1}}`, stream.Event{}, ErrMalformed},
		{"update", `[]`, stream.Event{}, ErrMalformed},
		{"update", `undefined`, stream.Event{}, ErrMalformed},
		{"status.update", `<html>`, stream.Event{}, ErrMalformed},
		{"notification", `{"id":"1","type":"mention"}`, stream.Event{}, ErrIgnoredEvent},
		{"filters_changed", "undefined", stream.Event{}, ErrIgnoredEvent},
		{"announcement.reaction", `{"name":"🤔","count":1,"announcement_id":"1"}`, stream.Event{}, ErrIgnoredEvent},
		{"message", "hello", stream.Event{}, ErrUnknownEvent},
		{"", "x", stream.Event{}, ErrUnknownEvent},
	}
	for _, tt := range tests {
		t.Run(tt.event+"/"+netstream.Truncate([]byte(tt.data), 20), func(t *testing.T) {
			got, err := Decode(tt.event, []byte(tt.data))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("event %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEditLog(t *testing.T) {
	t.Parallel()
	l := newEditLog(3)
	l.add("1", "1@a")
	l.add("1", "1@a") // the same edit from a second stream
	l.add("1", "1@b")
	if got := l.take("1"); !reflect.DeepEqual(got, []string{"1@a", "1@b"}) {
		t.Errorf("take(1) = %q", got)
	}
	if got := l.take("1"); got != nil {
		t.Errorf("second take(1) = %q", got)
	}
	for i := range maxEditsPerStatus + 2 {
		l.add("2", "2@"+string(rune('a'+i)))
	}
	if got := l.take("2"); len(got) != maxEditsPerStatus || got[0] != "2@c" {
		t.Errorf("edits per status not capped to the latest: %q", got)
	}
	for _, id := range []string{"3", "4", "5", "6"} {
		l.add(id, id+"@x")
	}
	if got := l.take("3"); got != nil {
		t.Errorf("the oldest status was not forgotten: %q", got)
	}
	if got := l.take("6"); !reflect.DeepEqual(got, []string{"6@x"}) {
		t.Errorf("take(6) = %q", got)
	}
	// Adding and taking many times keeps the bookkeeping bounded.
	for i := range 10_000 {
		id := string(rune('A' + i%50))
		l.add(id, id+"@1")
		l.take(id)
	}
	if len(l.order) > 2*l.max+1 || len(l.ids) > l.max {
		t.Errorf("order %d, ids %d: unbounded", len(l.order), len(l.ids))
	}
}
