package x

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
)

// Every mapping rule of a v2 stream line onto a stream.Status.
func TestDecodeStatus(t *testing.T) {
	t.Parallel()
	users := `"users":[{"id":"1","username":"dataeng_dana","name":"Dana &amp; Co"},{"id":"2","username":"sam_sre","name":"Sam"}]`
	original := `{"id":"100","text":"Python 2 to 3.12 &amp; done. Only took three years and a lot of coffee, and then some more","author_id":"1",` +
		`"entities":{"hashtags":[{"start":0,"end":7,"tag":"python"}],"mentions":[{"username":"ThePSF"}]}}`
	ts := time.Date(2024, 5, 14, 17, 2, 11, 0, time.UTC)
	tests := []struct {
		name string
		line string
		want stream.Status
	}{
		{"plain post",
			`{"data":{"id":"100","text":"Learning Python &lt;3 &amp; Go &gt; all","author_id":"1","created_at":"2024-05-14T17:02:11.000Z","lang":"en",` +
				`"entities":{"hashtags":[{"start":1,"end":8,"tag":"Python"}],"mentions":[{"start":0,"end":5,"username":"golang","id":"9"}],` +
				`"urls":[{"url":"https://t.co/x","expanded_url":"https://go.dev/","display_url":"go.dev"}]}},` +
				`"includes":{` + users + `},"matching_rules":[{"id":"7","tag":"python"},{"id":"8","tag":"golang"},{"id":"9"}]}`,
			stream.Status{ID: "100", Source: "x", Author: stream.Author{ID: "1", ScreenName: "dataeng_dana", Name: "Dana &amp; Co"},
				Text: "Learning Python <3 & Go > all", URL: "https://x.com/dataeng_dana/status/100", Lang: "en", CreatedAt: ts,
				Hashtags: []string{"Python"}, Mentions: []string{"golang"}, URLs: []stream.URL{{Expanded: "https://go.dev/", Display: "go.dev"}},
				Rules: []string{"python", "golang"}}},
		{"long post: note_tweet text and entities",
			`{"data":{"id":"101","text":"Thread-sized thoughts…","author_id":"2","entities":{"hashtags":[{"tag":"short"}]},` +
				`"note_tweet":{"text":"Thread-sized thoughts on types &amp; more. #python","entities":{"hashtags":[{"tag":"python"}]}}},` +
				`"includes":{` + users + `}}`,
			stream.Status{ID: "101", Source: "x", Author: stream.Author{ID: "2", ScreenName: "sam_sre", Name: "Sam"},
				Text: "Thread-sized thoughts on types & more. #python", URL: "https://x.com/sam_sre/status/101", Hashtags: []string{"python"}}},
		{"long post: note_tweet without entities keeps the post's",
			`{"data":{"id":"102","text":"short…","author_id":"2","entities":{"hashtags":[{"tag":"go"}]},"note_tweet":{"text":"the full text"}},"includes":{` + users + `}}`,
			stream.Status{ID: "102", Source: "x", Author: stream.Author{ID: "2", ScreenName: "sam_sre", Name: "Sam"},
				Text: "the full text", URL: "https://x.com/sam_sre/status/102", Hashtags: []string{"go"}}},
		{"retweet with its original",
			`{"data":{"id":"103","text":"RT @dataeng_dana: Python 2 to 3.12 &amp; done. Only took…","author_id":"2","lang":"en",` +
				`"referenced_tweets":[{"type":"retweeted","id":"100"}]},"includes":{` + users + `,"tweets":[` + original + `]}}`,
			stream.Status{ID: "103", Source: "x", Author: stream.Author{ID: "2", ScreenName: "sam_sre", Name: "Sam"},
				Text: "RT @dataeng_dana: Python 2 to 3.12 & done. Only took three years and a lot of coffee, and then some more",
				URL:  "https://x.com/sam_sre/status/103", Lang: "en", IsRetweet: true, RetweetedID: "100",
				Hashtags: []string{"python"}, Mentions: []string{"ThePSF"}}},
		{"retweet whose original is missing keeps its own text",
			`{"data":{"id":"104","text":"RT @gone: something…","author_id":"2","referenced_tweets":[{"type":"retweeted","id":"99"}]},"includes":{` + users + `}}`,
			stream.Status{ID: "104", Source: "x", Author: stream.Author{ID: "2", ScreenName: "sam_sre", Name: "Sam"},
				Text: "RT @gone: something…", URL: "https://x.com/sam_sre/status/104", IsRetweet: true, RetweetedID: "99"}},
		{"quote and reply",
			`{"data":{"id":"105","text":"@dataeng_dana so true","author_id":"2","referenced_tweets":[{"type":"quoted","id":"100"},{"type":"replied_to","id":"100"}]},` +
				`"includes":{` + users + `,"tweets":[` + original + `]}}`,
			stream.Status{ID: "105", Source: "x", Author: stream.Author{ID: "2", ScreenName: "sam_sre", Name: "Sam"},
				Text: "@dataeng_dana so true", URL: "https://x.com/sam_sre/status/105", IsQuote: true, IsReply: true}},
		{"author not expanded, no includes, bad date",
			`{"data":{"id":"106","text":"hi","author_id":"77","created_at":"yesterday"}}`,
			stream.Status{ID: "106", Source: "x", Author: stream.Author{ID: "77"}, Text: "hi", URL: "https://x.com/i/web/status/106"}},
		{"hostile text is decoded once and otherwise kept",
			`{"data":{"id":"107","text":"&lt;b&gt;x&lt;/b&gt; &amp;amp; \u202etxt.exe \u200b","author_id":"1"},"includes":{` + users + `},` +
				`"errors":[{"title":"Not Found Error","resource_type":"tweet"}]}`,
			stream.Status{ID: "107", Source: "x", Author: stream.Author{ID: "1", ScreenName: "dataeng_dana", Name: "Dana &amp; Co"},
				Text: "<b>x</b> &amp; \u202etxt.exe \u200b", URL: "https://x.com/dataeng_dana/status/107"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			line := []byte(tt.line)
			ev, err := Decode(line)
			if err != nil || ev.Kind != stream.KindStatus {
				t.Fatalf("Decode = %+v, %v", ev, err)
			}
			got := *ev.Status
			if string(got.Raw) != tt.line {
				t.Errorf("Raw = %s", got.Raw)
			}
			line[0] = 'X'
			if got.Raw[0] != '{' {
				t.Error("Raw aliases the input line")
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("status\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeControlAndErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		line  string
		want  stream.Event
		isErr error // errors.Is target, or nil
		fails bool
	}{
		{"operational disconnect",
			`{"errors":[{"title":"operational-disconnect","disconnect_type":"OperationalDisconnect","detail":"This stream has been disconnected for operational reasons.","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}`,
			stream.Event{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{Reason: "This stream has been disconnected for operational reasons."}}, nil, false},
		{"disconnect without detail",
			`{"errors":[{"title":"operational-disconnect","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}`,
			stream.Event{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{Reason: "operational-disconnect"}}, nil, false},
		{"disconnect after another error",
			`{"errors":[{"title":"Other"},{"title":"operational-disconnect","detail":"bye","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}`,
			stream.Event{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{Reason: "bye"}}, nil, false},
		{"other error object",
			`{"errors":[{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections"}]}`,
			stream.Event{Kind: stream.KindWarning, Warning: stream.Warning{Code: "ConnectionException", Message: "This stream is currently at the maximum allowed connection limit."}}, nil, false},
		{"error without detail", `{"errors":[{"message":"something"}]}`,
			stream.Event{Kind: stream.KindWarning, Warning: stream.Warning{Message: "something"}}, nil, false},
		{"unknown object", `{"hello":"world"}`, stream.Event{}, ErrUnknownMessage, true},
		{"empty errors", `{"errors":[]}`, stream.Event{}, ErrUnknownMessage, true},
		{"malformed", `{"data":{"id":"1"`, stream.Event{}, nil, true},
		{"not an object", `[1,2]`, stream.Event{}, nil, true},
		{"post without id", `{"data":{"text":"x"}}`, stream.Event{}, nil, true},
		{"id of the wrong type", `{"data":{"id":1}}`, stream.Event{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := Decode([]byte(tt.line))
			if (err != nil) != tt.fails || (tt.isErr != nil && !errors.Is(err, tt.isErr)) {
				t.Fatalf("Decode err = %v", err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "x: ") {
				t.Errorf("error %q does not name the component", err)
			}
			if !reflect.DeepEqual(ev, tt.want) {
				t.Errorf("event\n got %+v\nwant %+v", ev, tt.want)
			}
		})
	}
}
