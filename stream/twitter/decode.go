package twitter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/streambot/streambot/stream"
)

// SourceName is the Status.Source of statuses decoded from v1.1 messages.
const SourceName = "twitter"

// CreatedAtLayout is the layout of v1.1 created_at values.
const CreatedAtLayout = "Mon Jan 02 15:04:05 -0700 2006"

// ErrUnknownMessage is returned by Decode for well-formed JSON that is not a
// message kind this package understands. Streams should log and skip it.
var ErrUnknownMessage = errors.New("twitter: unknown message kind")

// ErrIgnoredMessage is returned by Decode for message kinds that are known
// but carry nothing streambot acts on (scrub_geo, status_withheld,
// user_withheld, friends lists, user events).
var ErrIgnoredMessage = errors.New("twitter: ignored message kind")

// envelope holds every top-level field of every message kind, so one
// json.Unmarshal classifies and decodes a message. Tweets are recognized by
// id_str and user, not by the presence of retweet_count.
type envelope struct {
	tweet
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

// tweet is the subset of a v1.1 Tweet object that a Status needs.
type tweet struct {
	ID                int64     `json:"id"`
	IDStr             string    `json:"id_str"`
	CreatedAt         string    `json:"created_at"`
	TimestampMS       string    `json:"timestamp_ms"`
	Text              string    `json:"text"`
	FullText          string    `json:"full_text"`
	Lang              string    `json:"lang"`
	User              *user     `json:"user"`
	Entities          entities  `json:"entities"`
	ExtendedTweet     *extended `json:"extended_tweet"`
	RetweetedStatus   *tweet    `json:"retweeted_status"`
	IsQuoteStatus     bool      `json:"is_quote_status"`
	InReplyToStatusID string    `json:"in_reply_to_status_id_str"`
}

type user struct {
	IDStr      string `json:"id_str"`
	Name       string `json:"name"`
	ScreenName string `json:"screen_name"`
}

type extended struct {
	FullText string   `json:"full_text"`
	Entities entities `json:"entities"`
}

type entities struct {
	Hashtags []struct {
		Text string `json:"text"`
	} `json:"hashtags"`
	URLs  []urlEntity `json:"urls"`
	Media []urlEntity `json:"media"`
	Users []struct {
		ScreenName string `json:"screen_name"`
	} `json:"user_mentions"`
}

type urlEntity struct {
	ExpandedURL string `json:"expanded_url"`
	DisplayURL  string `json:"display_url"`
}

// Decode turns one v1.1 stream message (one line, without its "\r\n") into
// an Event. The returned Status owns a copy of line in Raw.
//
// Errors: a *json.SyntaxError or similar for malformed JSON, ErrUnknownMessage
// and ErrIgnoredMessage for messages that are not events; each is wrapped
// with context, so use errors.Is/As.
func Decode(line []byte) (stream.Event, error) {
	var env envelope
	if err := json.Unmarshal(line, &env); err != nil {
		return stream.Event{}, fmt.Errorf("twitter: malformed message: %w", err)
	}
	switch {
	case env.User != nil && (env.IDStr != "" || env.ID != 0):
		s := env.tweet.status()
		s.Raw = append(json.RawMessage(nil), line...)
		return stream.StatusEvent(s), nil
	case env.Delete != nil:
		d := env.Delete.Status
		return stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{
			StatusID: idString(d.IDStr, d.ID),
			UserID:   idString(d.UserIDStr, d.UserID),
		}}, nil
	case env.Limit != nil:
		return stream.Event{Kind: stream.KindLimit, Limit: stream.Limit{Track: env.Limit.Track}}, nil
	case env.Disconnect != nil:
		d := env.Disconnect
		return stream.Event{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{
			Code: d.Code, StreamName: d.StreamName, Reason: d.Reason,
		}}, nil
	case env.Warning != nil:
		w := env.Warning
		return stream.Event{Kind: stream.KindWarning, Warning: stream.Warning{
			Code: w.Code, Message: w.Message, PercentFull: w.PercentFull,
		}}, nil
	case env.ScrubGeo != nil, env.StatusWithheld != nil, env.UserWithheld != nil, env.Friends != nil, env.Event != nil:
		return stream.Event{}, ErrIgnoredMessage
	}
	return stream.Event{}, ErrUnknownMessage
}

// status builds the normalized Status of t.
func (t *tweet) status() *stream.Status {
	s := &stream.Status{
		ID:        idString(t.IDStr, t.ID),
		Source:    SourceName,
		Lang:      t.Lang,
		CreatedAt: t.createdAt(),
		IsQuote:   t.IsQuoteStatus,
		IsReply:   t.InReplyToStatusID != "",
	}
	if t.User != nil {
		s.Author = stream.Author{ID: t.User.IDStr, ScreenName: t.User.ScreenName, Name: t.User.Name}
	}
	s.URL = StatusURL(s.Author.ScreenName, s.ID)

	// The text that counts: a retweet's own text is truncated, so take the
	// original's, marked the way Twitter marks it.
	content := t
	if rt := t.RetweetedStatus; rt != nil {
		content = rt
		s.IsRetweet = true
		s.RetweetedID = idString(rt.IDStr, rt.ID)
	}
	text, ents := content.fullText()
	text = unescape(text)
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
	for _, list := range [][]urlEntity{ents.URLs, ents.Media} {
		for _, u := range list {
			s.URLs = append(s.URLs, stream.URL{Expanded: u.ExpandedURL, Display: u.DisplayURL})
		}
	}
	return s
}

// fullText returns the untruncated text and the entities that index it:
// extended_tweet.full_text, else full_text (extended mode), else text.
func (t *tweet) fullText() (string, *entities) {
	if x := t.ExtendedTweet; x != nil && x.FullText != "" {
		return x.FullText, &x.Entities
	}
	if t.FullText != "" {
		return t.FullText, &t.Entities
	}
	return t.Text, &t.Entities
}

func (t *tweet) createdAt() time.Time {
	if ts, err := time.Parse(CreatedAtLayout, t.CreatedAt); err == nil {
		return ts.UTC()
	}
	if ms, err := strconv.ParseInt(t.TimestampMS, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC()
	}
	return time.Time{}
}

// StatusURL returns the web link of a post.
func StatusURL(screenName, id string) string {
	if screenName == "" {
		screenName = "i/web"
	}
	return "https://x.com/" + screenName + "/status/" + id
}

func idString(s string, n int64) string {
	if s != "" || n == 0 {
		return s
	}
	return strconv.FormatInt(n, 10)
}

// Twitter escapes exactly these three characters in texts.
var unescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return unescaper.Replace(s)
}
