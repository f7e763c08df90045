package x

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/twitter"
)

// ErrUnknownMessage is returned by Decode for well-formed JSON that is
// neither a post nor an error object. Streams log and skip it.
var ErrUnknownMessage = errors.New("x: unknown message kind")

// ProblemOperationalDisconnect is the problem type X sends in the stream
// just before it closes the connection for operational reasons.
const ProblemOperationalDisconnect = "https://api.twitter.com/2/problems/operational-disconnect"

// message is one line of the filtered stream.
type message struct {
	Data     *post `json:"data"`
	Includes struct {
		Users  []user `json:"users"`
		Tweets []post `json:"tweets"`
	} `json:"includes"`
	MatchingRules []struct {
		ID  string `json:"id"`
		Tag string `json:"tag"`
	} `json:"matching_rules"`
	Errors []Problem `json:"errors"`
}

// post is the subset of a v2 Post object that a Status needs.
type post struct {
	ID               string      `json:"id"`
	Text             string      `json:"text"`
	AuthorID         string      `json:"author_id"`
	CreatedAt        string      `json:"created_at"`
	Lang             string      `json:"lang"`
	Entities         *entities   `json:"entities"`
	ReferencedTweets []reference `json:"referenced_tweets"`
	NoteTweet        *struct {
		Text     string    `json:"text"`
		Entities *entities `json:"entities"`
	} `json:"note_tweet"`
}

type reference struct {
	Type string `json:"type"` // retweeted, quoted, replied_to
	ID   string `json:"id"`
}

type user struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
}

type entities struct {
	Hashtags []struct {
		Tag string `json:"tag"`
	} `json:"hashtags"`
	Mentions []struct {
		Username string `json:"username"`
	} `json:"mentions"`
	URLs []struct {
		ExpandedURL string `json:"expanded_url"`
		DisplayURL  string `json:"display_url"`
	} `json:"urls"`
}

// Problem is an X API v2 problem object, as found in error responses, in
// the "errors" of a rules response and in the stream.
type Problem struct {
	// Title names the problem: "operational-disconnect", "DuplicateRule",
	// "Invalid Rule", "ConnectionException", ...
	Title string `json:"title"`
	// Detail is the human-readable explanation.
	Detail string `json:"detail"`
	// Type is the problem's URI, e.g. ProblemOperationalDisconnect.
	Type string `json:"type"`
	// DisconnectType says why the stream is being closed
	// ("OperationalDisconnect", "UpstreamOperationalDisconnect", ...).
	DisconnectType string `json:"disconnect_type"`
	// ConnectionIssue is set on connection problems ("TooManyConnections").
	ConnectionIssue string `json:"connection_issue"`
	// Value and ID identify the rule a rules-endpoint problem is about.
	Value string `json:"value"`
	ID    string `json:"id"`
	// Details lists what is wrong with an invalid rule.
	Details []string `json:"details"`
	// Message is the text of older-style errors.
	Message string `json:"message"`
}

// text returns the problem's human text: its title, detail, message and
// details, each once.
func (p *Problem) text() string {
	var parts []string
	for _, t := range append([]string{p.Title, p.Detail, p.Message}, p.Details...) {
		if t = strings.TrimSpace(t); t != "" && !slices.ContainsFunc(parts, func(q string) bool { return strings.EqualFold(q, t) }) {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, ": ")
}

// isDisconnect reports whether p announces that the server closes the stream.
func (p *Problem) isDisconnect() bool {
	return p.Type == ProblemOperationalDisconnect || p.Title == "operational-disconnect"
}

// Decode turns one line of the filtered stream (without its "\r\n") into
// an Event:
//   - a post ({"data":...}) is a KindStatus; errors that come with it (a
//     referenced post that is not visible) do not matter;
//   - an operational-disconnect error is a KindDisconnect whose Reason is
//     the server's detail;
//   - any other error object is a KindWarning (Code is the title, Message
//     the detail).
//
// The returned Status owns a copy of line in Raw. Errors: a
// *json.SyntaxError or similar for malformed JSON and ErrUnknownMessage,
// each wrapped with context: use errors.Is/As.
func Decode(line []byte) (stream.Event, error) {
	ev, _, err := decode(line)
	return ev, err
}

// decode is Decode that also returns the problem behind a KindDisconnect or
// KindWarning, for the log.
func decode(line []byte) (stream.Event, *Problem, error) {
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		return stream.Event{}, nil, fmt.Errorf("x: malformed message: %w", err)
	}
	switch {
	case m.Data != nil:
		if m.Data.ID == "" {
			return stream.Event{}, nil, errors.New("x: malformed message: a post without an id")
		}
		s := m.status()
		s.Raw = append(json.RawMessage(nil), line...)
		return stream.StatusEvent(s), nil, nil
	case len(m.Errors) > 0:
		for i := range m.Errors {
			if p := &m.Errors[i]; p.isDisconnect() {
				reason := p.Detail
				if reason == "" {
					reason = p.text()
				}
				return stream.Event{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{Reason: reason}}, p, nil
			}
		}
		p := &m.Errors[0]
		msg := p.Detail
		if msg == "" {
			msg = p.text()
		}
		return stream.Event{Kind: stream.KindWarning, Warning: stream.Warning{Code: p.Title, Message: msg}}, p, nil
	}
	return stream.Event{}, nil, ErrUnknownMessage
}

// status builds the normalized Status of m.Data.
func (m *message) status() *stream.Status {
	d := m.Data
	s := &stream.Status{
		ID:        d.ID,
		Source:    SourceName,
		Lang:      d.Lang,
		CreatedAt: parseTime(d.CreatedAt),
		Author:    m.author(d.AuthorID),
	}
	s.URL = twitter.StatusURL(s.Author.ScreenName, s.ID)
	var original *post
	for _, r := range d.ReferencedTweets {
		switch r.Type {
		case "retweeted":
			s.IsRetweet = true
			s.RetweetedID = r.ID
			original = m.included(r.ID)
		case "quoted":
			s.IsQuote = true
		case "replied_to":
			s.IsReply = true
		}
	}
	// A retweet's own text is truncated: take the original's full text,
	// marked the way X marks it, when the original came with the post.
	content, prefix := d, ""
	if original != nil {
		content = original
		if a := m.author(original.AuthorID); a.ScreenName != "" {
			prefix = "RT @" + a.ScreenName + ": "
		}
	}
	text, ents := content.fullText()
	s.Text = prefix + unescape(text)
	if ents != nil {
		for _, h := range ents.Hashtags {
			s.Hashtags = append(s.Hashtags, h.Tag)
		}
		for _, u := range ents.Mentions {
			s.Mentions = append(s.Mentions, u.Username)
		}
		for _, u := range ents.URLs {
			s.URLs = append(s.URLs, stream.URL{Expanded: u.ExpandedURL, Display: u.DisplayURL})
		}
	}
	for _, r := range m.MatchingRules {
		if r.Tag != "" {
			s.Rules = append(s.Rules, r.Tag)
		}
	}
	return s
}

// fullText returns the untruncated text and the entities that index it:
// note_tweet's for a long post, else the post's own.
func (p *post) fullText() (string, *entities) {
	if n := p.NoteTweet; n != nil && n.Text != "" {
		if n.Entities != nil {
			return n.Text, n.Entities
		}
		return n.Text, p.Entities
	}
	return p.Text, p.Entities
}

// author returns the expanded user with id; only the ID when it was not
// expanded.
func (m *message) author(id string) stream.Author {
	for _, u := range m.Includes.Users {
		if u.ID == id && id != "" {
			return stream.Author{ID: u.ID, ScreenName: u.Username, Name: u.Name}
		}
	}
	return stream.Author{ID: id}
}

// included returns the expanded post with id, or nil.
func (m *message) included(id string) *post {
	for i := range m.Includes.Tweets {
		if t := &m.Includes.Tweets[i]; t.ID == id && id != "" {
			return t
		}
	}
	return nil
}

func parseTime(s string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// X escapes exactly these three characters in texts.
var unescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

func unescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return unescaper.Replace(s)
}
