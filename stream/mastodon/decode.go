package mastodon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
)

// SourceName is the Source's name and the Source field of its statuses.
const SourceName = "mastodon"

// The event names of Mastodon's streaming API that carry statuses.
const (
	EventUpdate       = "update"        // a new status
	EventStatusUpdate = "status.update" // an edited status (Mastodon 3.5+)
	EventDelete       = "delete"        // a deleted status's id
)

// EditedPrefix starts the Text of an edited status.
const EditedPrefix = "(edited) "

// Errors of Decode that are not malformed data.
var (
	// ErrIgnoredEvent: a known event that carries no status (notification,
	// filters_changed, announcement, ...). The Source skips it quietly.
	ErrIgnoredEvent = errors.New("mastodon: ignored event")
	// ErrUnknownEvent: an event name this package does not know.
	ErrUnknownEvent = errors.New("mastodon: unknown event")
	// ErrMalformed: the event's data is not what its name promises.
	ErrMalformed = errors.New("mastodon: malformed event")
)

// ignoredEvents are the documented events that never carry a status for us.
var ignoredEvents = map[string]bool{
	"notification":          true,
	"filters_changed":       true,
	"conversation":          true,
	"announcement":          true,
	"announcement.reaction": true,
	"announcement.delete":   true,
	"encrypted_message":     true,
	"notifications_merged":  true,
}

// Decode turns one server-sent event of a Mastodon stream (its event name
// and its data, multi-line data joined with "\n") into a stream event:
//
//   - "update": a KindStatus event (see the package documentation for the
//     mapping);
//   - "status.update": a KindStatus event for the edited status, whose ID is
//     the status id, "@" and edited_at (so each edit is a new status to the
//     bot's de-duplication) and whose Text starts with EditedPrefix;
//   - "delete": a KindDelete event for the status id in the data.
//
// Other events return ErrIgnoredEvent (documented events without a status)
// or ErrUnknownEvent; data that does not decode returns an error wrapping
// ErrMalformed. Decode keeps a copy of data as Status.Raw.
func Decode(event string, data []byte) (stream.Event, error) {
	switch event {
	case EventUpdate, EventStatusUpdate:
		s, err := decodeStatus(data, event == EventStatusUpdate)
		if err != nil {
			return stream.Event{}, err
		}
		return stream.StatusEvent(s), nil
	case EventDelete:
		id, err := deletedID(data)
		if err != nil {
			return stream.Event{}, err
		}
		return stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: id}}, nil
	}
	if ignoredEvents[event] {
		return stream.Event{}, fmt.Errorf("%w: %q", ErrIgnoredEvent, event)
	}
	return stream.Event{}, fmt.Errorf("%w: %q", ErrUnknownEvent, netstream.Truncate([]byte(event), 40))
}

// maxIDBytes bounds a status id: Mastodon's are decimal numbers of about 18
// digits, other servers' (Pleroma's flake ids) a few dozen characters.
const maxIDBytes = 128

// deletedID reads the data of a delete event: the bare id, or a JSON
// string or number holding it.
func deletedID(data []byte) (string, error) {
	raw := bytes.TrimSpace(data)
	id := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", fmt.Errorf("%w: delete: %q is not an id", ErrMalformed, netstream.Truncate(raw, 40))
		}
	}
	if !validID(id) {
		return "", fmt.Errorf("%w: delete: %q is not an id", ErrMalformed, netstream.Truncate(raw, 40))
	}
	return id, nil
}

// validID reports whether id can be a status id: printable, without spaces
// and without '@' (which separates an edit's suffix).
func validID(id string) bool {
	if id == "" || len(id) > maxIDBytes {
		return false
	}
	for _, r := range id {
		if r == '@' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// wireStatus is the part of Mastodon's Status entity the mapping uses.
type wireStatus struct {
	ID          flexString   `json:"id"`
	URI         string       `json:"uri"`
	URL         string       `json:"url"`
	CreatedAt   string       `json:"created_at"`
	EditedAt    string       `json:"edited_at"`
	Language    string       `json:"language"`
	Content     string       `json:"content"`
	SpoilerText string       `json:"spoiler_text"`
	InReplyToID flexString   `json:"in_reply_to_id"`
	Account     *wireAccount `json:"account"`
	Reblog      *wireStatus  `json:"reblog"`
	Tags        []struct {
		Name string `json:"name"`
	} `json:"tags"`
	Mentions []struct {
		Acct     string `json:"acct"`
		Username string `json:"username"`
	} `json:"mentions"`
	Card *struct {
		URL string `json:"url"`
	} `json:"card"`
}

type wireAccount struct {
	ID          flexString `json:"id"`
	Username    string     `json:"username"`
	Acct        string     `json:"acct"`
	DisplayName string     `json:"display_name"`
}

// flexString accepts a JSON string, a number or null (as ""): Mastodon
// sends ids as strings, some servers and old versions as numbers.
type flexString string

// UnmarshalJSON reads a string, a number or null.
func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	}
	return nil
}

// decodeStatus maps a Status entity; edited marks a status.update.
func decodeStatus(data []byte, edited bool) (*stream.Status, error) {
	var w wireStatus
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%w: status: %w", ErrMalformed, err)
	}
	id := string(w.ID)
	if !validID(id) {
		return nil, fmt.Errorf("%w: a status without a valid id", ErrMalformed)
	}
	s := &stream.Status{
		ID:        id,
		Source:    SourceName,
		CreatedAt: parseTime(w.CreatedAt),
		IsReply:   w.InReplyToID != "",
		Author:    w.Account.author(),
		Raw:       json.RawMessage(bytes.Clone(data)),
	}
	// A boost's own content is empty: the post is the reblog, marked the
	// way Twitter marks a retweet.
	content, prefix := &w, ""
	if rb := w.Reblog; rb != nil {
		content = rb
		s.IsRetweet = true
		s.RetweetedID = string(rb.ID)
		if a := rb.Account.author(); a.ScreenName != "" {
			prefix = "RT @" + a.ScreenName + ": "
		}
	}
	text, links := stripHTML(content.Content)
	if cw := strings.TrimSpace(content.SpoilerText); cw != "" {
		text = "CW: " + cw + "\n" + text
	}
	s.Text = prefix + text
	s.Lang = content.Language
	s.URL = firstNonEmpty(content.URL, content.URI)
	for _, t := range content.Tags {
		if name := strings.TrimPrefix(t.Name, "#"); name != "" {
			s.Hashtags = append(s.Hashtags, name)
		}
	}
	for _, m := range content.Mentions {
		if acct := strings.TrimPrefix(firstNonEmpty(m.Acct, m.Username), "@"); acct != "" {
			s.Mentions = append(s.Mentions, acct)
		}
	}
	if content.Card != nil {
		links = appendURL(links, content.Card.URL)
	}
	s.URLs = links
	if edited {
		s.ID = editID(id, w.EditedAt, data)
		s.Text = EditedPrefix + s.Text
	}
	return s, nil
}

// editID names one edit of status id: id@edited_at, or, when the server
// left edited_at out, id@ and a hash of the edit, so the same edit seen on
// two streams has one ID and two edits have two.
func editID(id, editedAt string, data []byte) string {
	if editedAt = strings.TrimSpace(editedAt); editedAt != "" && len(editedAt) <= 64 {
		return id + "@" + editedAt
	}
	h := fnv.New64a()
	h.Write(data)
	return id + "@" + strconv.FormatUint(h.Sum64(), 36)
}

// originalID returns the status id of an ID made by editID, and whether
// the ID is one.
func originalID(statusID string) (string, bool) {
	id, _, ok := strings.Cut(statusID, "@")
	return id, ok
}

func (a *wireAccount) author() stream.Author {
	if a == nil {
		return stream.Author{}
	}
	return stream.Author{ID: string(a.ID), ScreenName: firstNonEmpty(a.Acct, a.Username), Name: a.DisplayName}
}

// parseTime reads Mastodon's ISO 8601 timestamps ("2022-08-30T23:05:46.839Z").
func parseTime(v string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
