package twitter_test

// Decode is a hand-written scanner (decode_scan.go). These tests hold it to
// the encoding/json decoder it replaced, kept here as referenceDecode: on
// the embedded corpus, on generated statuses, on hand-made edge cases and
// on thousands of corrupted messages, both must produce the same events and
// fail on the same messages.

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/twitter"
)

// refEnvelope holds every top-level field of every message kind.
type refEnvelope struct {
	refTweet
	Delete *struct {
		Status struct {
			ID        int64  `json:"id"`
			IDStr     string `json:"id_str"`
			UserID    int64  `json:"user_id"`
			UserIDStr string `json:"user_id_str"`
		} `json:"status"`
	} `json:"delete"`
	Limit *struct {
		Track int64 `json:"track"`
	} `json:"limit"`
	Disconnect *struct {
		Code       int    `json:"code"`
		StreamName string `json:"stream_name"`
		Reason     string `json:"reason"`
	} `json:"disconnect"`
	Warning *struct {
		Code        string `json:"code"`
		Message     string `json:"message"`
		PercentFull int    `json:"percent_full"`
	} `json:"warning"`
	ScrubGeo       json.RawMessage `json:"scrub_geo"`
	StatusWithheld json.RawMessage `json:"status_withheld"`
	UserWithheld   json.RawMessage `json:"user_withheld"`
	Friends        json.RawMessage `json:"friends"`
	Event          json.RawMessage `json:"event"`
}

type refTweet struct {
	ID                int64        `json:"id"`
	IDStr             string       `json:"id_str"`
	CreatedAt         string       `json:"created_at"`
	TimestampMS       string       `json:"timestamp_ms"`
	Text              string       `json:"text"`
	FullText          string       `json:"full_text"`
	Lang              string       `json:"lang"`
	User              *refUser     `json:"user"`
	Entities          refEntities  `json:"entities"`
	ExtendedTweet     *refExtended `json:"extended_tweet"`
	RetweetedStatus   *refTweet    `json:"retweeted_status"`
	IsQuoteStatus     bool         `json:"is_quote_status"`
	InReplyToStatusID string       `json:"in_reply_to_status_id_str"`
}

type refUser struct {
	IDStr      string `json:"id_str"`
	Name       string `json:"name"`
	ScreenName string `json:"screen_name"`
}

type refExtended struct {
	FullText string      `json:"full_text"`
	Entities refEntities `json:"entities"`
}

type refEntities struct {
	Hashtags []struct {
		Text string `json:"text"`
	} `json:"hashtags"`
	URLs  []refURL `json:"urls"`
	Media []refURL `json:"media"`
	Users []struct {
		ScreenName string `json:"screen_name"`
	} `json:"user_mentions"`
}

type refURL struct {
	ExpandedURL string `json:"expanded_url"`
	DisplayURL  string `json:"display_url"`
}

// referenceDecode is Decode as it was written with encoding/json.
func referenceDecode(line []byte) (stream.Event, error) {
	var env refEnvelope
	if err := json.Unmarshal(line, &env); err != nil {
		return stream.Event{}, fmt.Errorf("twitter: malformed message: %w", err)
	}
	id := func(s string, n int64) string {
		if s != "" || n == 0 {
			return s
		}
		return strconv.FormatInt(n, 10)
	}
	switch {
	case env.User != nil && (env.IDStr != "" || env.ID != 0):
		return stream.StatusEvent(env.refTweet.status(line, id)), nil
	case env.Delete != nil:
		d := env.Delete.Status
		return stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: id(d.IDStr, d.ID), UserID: id(d.UserIDStr, d.UserID)}}, nil
	case env.Limit != nil:
		return stream.Event{Kind: stream.KindLimit, Limit: stream.Limit{Track: env.Limit.Track}}, nil
	case env.Disconnect != nil:
		d := env.Disconnect
		return stream.Event{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{Code: d.Code, StreamName: d.StreamName, Reason: d.Reason}}, nil
	case env.Warning != nil:
		w := env.Warning
		return stream.Event{Kind: stream.KindWarning, Warning: stream.Warning{Code: w.Code, Message: w.Message, PercentFull: w.PercentFull}}, nil
	case env.ScrubGeo != nil, env.StatusWithheld != nil, env.UserWithheld != nil, env.Friends != nil, env.Event != nil:
		return stream.Event{}, twitter.ErrIgnoredMessage
	}
	return stream.Event{}, twitter.ErrUnknownMessage
}

func (t *refTweet) status(line []byte, id func(string, int64) string) *stream.Status {
	s := &stream.Status{
		ID: id(t.IDStr, t.ID), Source: twitter.SourceName, Lang: t.Lang,
		IsQuote: t.IsQuoteStatus, IsReply: t.InReplyToStatusID != "",
	}
	if ts, err := time.Parse(twitter.CreatedAtLayout, t.CreatedAt); err == nil {
		s.CreatedAt = ts.UTC()
	} else if ms, err := strconv.ParseInt(t.TimestampMS, 10, 64); err == nil {
		s.CreatedAt = time.UnixMilli(ms).UTC()
	}
	if t.User != nil {
		s.Author = stream.Author{ID: t.User.IDStr, ScreenName: t.User.ScreenName, Name: t.User.Name}
	}
	s.URL = twitter.StatusURL(s.Author.ScreenName, s.ID)
	content := t
	if rt := t.RetweetedStatus; rt != nil {
		content = rt
		s.IsRetweet = true
		s.RetweetedID = id(rt.IDStr, rt.ID)
	}
	text, ents := content.Text, &content.Entities
	switch {
	case content.ExtendedTweet != nil && content.ExtendedTweet.FullText != "":
		text, ents = content.ExtendedTweet.FullText, &content.ExtendedTweet.Entities
	case content.FullText != "":
		text = content.FullText
	}
	text = unescapeTwitter(text)
	if s.IsRetweet && content.User != nil {
		text = "RT @" + content.User.ScreenName + ": " + text
	}
	s.Text = text
	for _, h := range ents.Hashtags {
		s.Hashtags = append(s.Hashtags, h.Text)
	}
	for _, u := range ents.Users {
		s.Mentions = append(s.Mentions, u.ScreenName)
	}
	for _, list := range [][]refURL{ents.URLs, ents.Media} {
		for _, u := range list {
			s.URLs = append(s.URLs, stream.URL{Expanded: u.ExpandedURL, Display: u.DisplayURL})
		}
	}
	s.Raw = append(json.RawMessage(nil), line...)
	return s
}

// errorClass names the kind of a Decode error, "" for none.
func errorClass(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, twitter.ErrUnknownMessage):
		return "unknown"
	case errors.Is(err, twitter.ErrIgnoredMessage):
		return "ignored"
	case errors.As(err, &syn):
		return "syntax error"
	case errors.As(err, &typ):
		return "type error"
	}
	return "other error: " + err.Error()
}

// agree fails t unless Decode and referenceDecode agree on line: the same
// event, or errors of the same class.
func agree(t *testing.T, name string, line []byte) {
	t.Helper()
	ev, err := twitter.Decode(line)
	rev, rerr := referenceDecode(line)
	if got, want := errorClass(err), errorClass(rerr); got != want {
		t.Errorf("%s: %.200q\n Decode:    %v\n reference: %v", name, line, err, rerr)
		return
	}
	if !reflect.DeepEqual(ev, rev) {
		t.Errorf("%s: %.200q\n Decode    %s\n reference %s", name, line, describe(ev), describe(rev))
	}
}

func describe(ev stream.Event) string {
	if ev.Status == nil {
		return fmt.Sprintf("%+v", ev)
	}
	s := *ev.Status
	s.Raw = nil
	return fmt.Sprintf("%#v", s)
}

func TestDecodeAgreesWithReferenceOnCorpusAndGenerator(t *testing.T) {
	t.Parallel()
	for i, line := range mock.Corpus() {
		agree(t, fmt.Sprintf("corpus line %d", i+1), line)
	}
	g := mock.NewGenerator(7)
	for i := range 3000 {
		agree(t, fmt.Sprintf("generated %d", i), g.Next(nil))
	}
}

func TestDecodeAgreesWithReferenceOnEdgeCases(t *testing.T) {
	t.Parallel()
	user := `"user":{"id_str":"9","screen_name":"sam","name":"Sam"}`
	lines := []string{
		// Escapes, surrogates, invalid UTF-8 and HTML entities in texts.
		`{"id_str":"1",` + user + `,"text":"a\"b\\c\/d\b\f\n\r\t \u00e9 \ud83d\udc0d \ud800 \udc00x \ud800\u0041 &amp;lt; &lt;&gt;&amp;"}`,
		"{\"id_str\":\"1\"," + user + ",\"text\":\"bad \xff\xfe utf8 \xe2\x82 end\"}",
		`{"id_str":"1",` + user + `,"text":"\u0000 nul and \u001f unit separator"}`,
		// Escaped keys and values everywhere.
		`{"id_\u0073tr":"\u0031\u0032","user":{"screen_n\u0061me":"\u0073am","id_str":"9"},"lang":"\u0065n"}`,
		// Whitespace everywhere JSON allows it.
		" \t\r\n{ \"id_str\" : \"1\" ,\n\"user\" :{ \"screen_name\":\"s\" } , \"entities\" : { \"hashtags\" : [ { \"text\" : \"go\" } ] } } \r\n",
		// Numbers: ids only, negative, zero, exponents elsewhere.
		`{"id":42,` + user + `,"x":-0.5e+10,"y":[1,2.25,-3E-2,0]}`,
		`{"id":-9223372036854775808,` + user + `}`,
		`{"id":9223372036854775807,` + user + `}`,
		`{"id":0,"id_str":"",` + user + `}`,
		// Nulls for every field Decode reads.
		`{"id_str":"1","user":{"id_str":null,"name":null,"screen_name":null},"text":null,"full_text":null,"lang":null,"created_at":null,"timestamp_ms":null,"in_reply_to_status_id_str":null,"is_quote_status":null,"entities":null,"extended_tweet":null,"retweeted_status":null}`,
		`{"id_str":"1",` + user + `,"entities":{"hashtags":null,"urls":null,"user_mentions":null,"media":null}}`,
		`{"id_str":"1",` + user + `,"entities":{"hashtags":[null,{},{"text":"a"},{"text":null}],"urls":[null,{"expanded_url":"https://e.x/"}],"user_mentions":[{}]}}`,
		// Retweets and extended tweets in every combination.
		`{"id_str":"2",` + user + `,"text":"RT trunc","retweeted_status":{"id":1,"text":"short","user":{"screen_name":"orig"},"extended_tweet":{"full_text":"the &amp; full","entities":{"hashtags":[{"text":"x"}]}},"entities":{"hashtags":[{"text":"y"}]}}}`,
		`{"id_str":"2",` + user + `,"retweeted_status":{"id_str":"1","full_text":"extended mode"}}`,
		`{"id_str":"2",` + user + `,"retweeted_status":{}}`,
		`{"id_str":"2",` + user + `,"extended_tweet":{"full_text":""},"full_text":"","text":"plain","entities":{"hashtags":[{"text":"p"}]}}`,
		`{"id_str":"2",` + user + `,"extended_tweet":{},"text":"t"}`,
		`{"id_str":"2",` + user + `,"retweeted_status":{"id_str":"1","retweeted_status":{"id_str":"0","text":"deeper"},"text":"mid"}}`,
		// Dates: fast path, other offsets, out of range, fallbacks.
		`{"id_str":"1",` + user + `,"created_at":"Wed Oct 10 20:19:24 +0000 2018"}`,
		`{"id_str":"1",` + user + `,"created_at":"Sat Feb 29 23:59:59 -0730 2020"}`,
		`{"id_str":"1",` + user + `,"created_at":"Sun Feb 29 12:00:00 +0000 2021","timestamp_ms":"1"}`,
		`{"id_str":"1",` + user + `,"created_at":"wed oct 10 20:19:24 +0000 2018"}`,
		`{"id_str":"1",` + user + `,"created_at":"Wed Oct 10 24:19:24 +0000 2018","timestamp_ms":"-5"}`,
		`{"id_str":"1",` + user + `,"created_at":"Xyz Oct 10 20:19:24 +0000 2018"}`,
		`{"id_str":"1",` + user + `,"created_at":"Wed Oct  1 20:19:24 +0000 2018"}`,
		`{"id_str":"1",` + user + `,"timestamp_ms":"+1539202764000"}`,
		`{"id_str":"1",` + user + `,"created_at":"Wed Oct 10 20:19:24 +0000 2018","timestamp_ms":"junk"}`,
		// Duplicate keys: the last one wins.
		`{"id_str":"1","id_str":"2",` + user + `,"text":"a","text":"b","entities":{"hashtags":[{"text":"a"}],"hashtags":[{"text":"b"}]}}`,
		`{"id_str":"1",` + user + `,"user":null}`,
		// Control messages and their variants.
		`{"delete":{"status":{"id":1,"id_str":"1","user_id":2,"user_id_str":"2"}}}`,
		`{"delete":{}}`, `{"delete":null}`, `{"delete":{"status":null}}`,
		`{"limit":{"track":-1}}`, `{"limit":{}}`, `{"limit":null,"warning":{"code":"X"}}`,
		`{"disconnect":{"code":12,"stream_name":"s","reason":"r \u00e9"}}`,
		`{"warning":{"code":"FALLING_BEHIND","message":"m","percent_full":95}}`,
		`{"scrub_geo":null}`, `{"friends":[1,2]}`, `{"event":"follow"}`, `{"status_withheld":{}}`, `{"user_withheld":1}`,
		`{"delete":{"status":{"id":1}},` + user + `,"id_str":"5"}`,
		`{}`, `null`, ` null `, `{"user":{}}`, `{"id_str":"1"}`, `{"unknown":{"nested":[{"a":[true,false,null]}]}}`,
		// Type errors in fields Decode reads, and in ones it skips.
		`{"id":"1",` + user + `}`, `{"id":1.5,` + user + `}`, `{"id":1e3,` + user + `}`, `{"id":99999999999999999999,` + user + `}`,
		`{"id_str":1,` + user + `}`, `{"id_str":"1","user":"sam"}`, `{"id_str":"1","user":{"name":1}}`,
		`{"id_str":"1",` + user + `,"is_quote_status":"yes"}`, `{"id_str":"1",` + user + `,"entities":[]}`,
		`{"id_str":"1",` + user + `,"entities":{"hashtags":{}}}`, `{"id_str":"1",` + user + `,"entities":{"hashtags":[1]}}`,
		`{"id_str":"1",` + user + `,"entities":{"urls":[{"display_url":true}]}}`,
		`{"id_str":"1",` + user + `,"extended_tweet":"x"}`, `{"id_str":"1",` + user + `,"retweeted_status":[]}`,
		`{"limit":{"track":"x"}}`, `{"limit":5}`, `{"delete":{"status":{"id":"x"}}}`, `{"warning":{"percent_full":"x"}}`,
		`{"disconnect":{"code":1.5}}`, `{"id_str":"1",` + user + `,"quoted_status":{"id":"any type here"}}`,
		`[1,2]`, `"string"`, `123`, `true`,
		// Syntax errors.
		``, ` `, `{`, `}`, `{"id_str":`, `{"id_str":"1"`, `{"id_str":"1",}`, `{"id_str" "1"}`, `{,}`, `{"a":1}}`, `{"a":1} x`,
		`{"a":[1,]}`, `{"a":[,1]}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, "{\"a\":\"tab\there\"}", "{\"a\":\"\x01\"}", `{"a":"unterminated}`,
		`{'a':1}`, `{a:1}`, `{"a":NaN}`, `{"a":Infinity}`, `{"a":[}`, `{"a":{]}`, `{"a":{"b":1]}`, `{"a":["b":1]}`,
		streamtestMalformed,
	}
	for i, line := range lines {
		agree(t, fmt.Sprintf("case %d", i), []byte(line))
	}
}

// streamtestMalformed is the mock server's cut-short status.
const streamtestMalformed = `{"created_at":"Tue Mar 15 14:00:03 +0000 2022","id":1,"id_str":"1","text":"streamtest: this message is cut short`

// TestDecodeAgreesWithReferenceOnCorruptions cuts and corrupts real
// messages at every position and compares the outcomes.
func TestDecodeAgreesWithReferenceOnCorruptions(t *testing.T) {
	t.Parallel()
	g := mock.NewGenerator(11)
	var lines [][]byte
	for range 3 {
		lines = append(lines, g.Next(nil))
	}
	for _, l := range mock.Corpus() {
		if strings.Contains(string(l), "retweeted_status") && len(lines) < 5 {
			lines = append(lines, l)
		}
	}
	for n, line := range lines {
		step := max(1, len(line)/150) // about 150 positions per message
		for i := 0; i < len(line); i += step {
			agree(t, fmt.Sprintf("line %d cut at %d", n, i), line[:i])
			for _, c := range []byte{'"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', 'e', 'n', ' ', 0x01, 0xff} {
				bad := append([]byte(nil), line...)
				bad[i] = c
				agree(t, fmt.Sprintf("line %d with %q at %d", n, c, i), bad)
			}
		}
	}
}

func TestDecodeRejectsDeepNesting(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{10_001, 100_000} {
		line := `{"a":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
		if _, err := twitter.Decode([]byte(line)); err == nil {
			t.Errorf("depth %d: Decode succeeded, want an error", depth)
		}
	}
	ok := `{"a":` + strings.Repeat(`{"b":[`, 2000) + strings.Repeat(`]}`, 2000) + `}`
	if _, err := twitter.Decode([]byte(ok)); !errors.Is(err, twitter.ErrUnknownMessage) {
		t.Errorf("depth 4001: %v, want ErrUnknownMessage", err)
	}
}
