package bluesky

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streambot/streambot/stream"
)

// errMalformed marks a message that is not a well-formed Jetstream message
// or a post that cannot be mapped (no text, an invalid DID or record key).
var errMalformed = errors.New("bluesky: malformed message")

// The facet features and embeds the mapping understands.
const (
	featureTag     = "app.bsky.richtext.facet#tag"
	featureLink    = "app.bsky.richtext.facet#link"
	featureMention = "app.bsky.richtext.facet#mention"

	embedRecord          = "app.bsky.embed.record"
	embedRecordWithMedia = "app.bsky.embed.recordWithMedia"
	embedExternal        = "app.bsky.embed.external"
)

// maxTagBytes is Bluesky's limit on a hashtag (64 graphemes, 640 bytes).
const maxTagBytes = 640

// message is the envelope of every Jetstream message.
type message struct {
	DID      string    `json:"did"`
	TimeUS   int64     `json:"time_us"`
	Kind     string    `json:"kind"`
	Commit   *commit   `json:"commit"`
	Identity *identity `json:"identity"`
}

// commit is a "commit" message's repository operation.
type commit struct {
	Operation  string          `json:"operation"`
	Collection string          `json:"collection"`
	RKey       string          `json:"rkey"`
	Record     json.RawMessage `json:"record"`
}

// identity is an "identity" message: the account's current handle.
type identity struct {
	DID    string `json:"did"`
	Handle string `json:"handle"`
}

// decoded is what one message means to the source.
type decoded struct {
	// timeUS is the message's time_us, 0 when unknown.
	timeUS int64
	// ev is the event to emit; Kind 0 when there is none.
	ev stream.Event
	// ignored says why a well-formed message emits nothing, for a debug log.
	ignored string
}

// decoder turns Jetstream messages into events. It remembers the handles of
// identity messages. It is used by one goroutine at a time.
type decoder struct {
	handles *handleCache
}

// decode decodes one message. An error (errMalformed) means the message is
// skipped; timeUS is still set when the message carried a usable time_us.
func (d *decoder) decode(data []byte) (decoded, error) {
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		// Salvage the time, so that the cursor still moves past the message.
		var t struct {
			TimeUS int64 `json:"time_us"`
		}
		_ = json.Unmarshal(data, &t)
		return decoded{timeUS: max(t.TimeUS, 0)}, fmt.Errorf("%w: %w", errMalformed, jsonError(err))
	}
	if m.TimeUS <= 0 {
		return decoded{}, fmt.Errorf("%w: no time_us", errMalformed)
	}
	out := decoded{timeUS: m.TimeUS}
	switch m.Kind {
	case "commit":
		return d.commit(&m, out)
	case "identity":
		did := m.DID
		if m.Identity != nil && m.Identity.DID != "" {
			did = m.Identity.DID
		}
		if !validDID(did) {
			return out, fmt.Errorf("%w: identity with an invalid did", errMalformed)
		}
		h := ""
		if m.Identity != nil {
			h = normalizeHandle(m.Identity.Handle)
		}
		d.handles.set(did, h)
		out.ignored = "identity"
		return out, nil
	case "account":
		out.ignored = "account"
		return out, nil
	case "":
		return out, fmt.Errorf("%w: no kind", errMalformed)
	default:
		out.ignored = "unknown kind"
		return out, nil
	}
}

// commit maps a commit message.
func (d *decoder) commit(m *message, out decoded) (decoded, error) {
	c := m.Commit
	if c == nil {
		return out, fmt.Errorf("%w: commit message without commit", errMalformed)
	}
	if c.Collection != PostCollection {
		out.ignored = "collection " + truncate(c.Collection, 64)
		return out, nil
	}
	if !validDID(m.DID) {
		return out, fmt.Errorf("%w: post with an invalid did", errMalformed)
	}
	if !validRecordKey(c.RKey) {
		return out, fmt.Errorf("%w: post with an invalid rkey", errMalformed)
	}
	switch c.Operation {
	case "create":
		s, err := d.status(m.DID, c.RKey, m.TimeUS, c.Record)
		if err != nil {
			return out, err
		}
		out.ev = stream.StatusEvent(s)
	case "delete":
		out.ev = stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{StatusID: PostURI(m.DID, c.RKey), UserID: m.DID}}
	case "update":
		out.ignored = "post update"
	default:
		out.ignored = "operation " + truncate(c.Operation, 32)
	}
	return out, nil
}

// PostURI returns the AT URI of a post, the Status.ID of the Source:
// at://{did}/app.bsky.feed.post/{rkey}.
func PostURI(did, rkey string) string {
	return "at://" + did + "/" + PostCollection + "/" + rkey
}

// PostURL returns the post's page on bsky.app; who is the author's handle,
// or its DID when the handle is not known.
func PostURL(who, rkey string) string {
	return "https://bsky.app/profile/" + who + "/post/" + rkey
}

// postRecord is an app.bsky.feed.post record. The optional parts stay raw
// and are decoded one by one, so that a malformed facet or embed costs that
// part only, never the post.
type postRecord struct {
	Text      *string         `json:"text"`
	CreatedAt json.RawMessage `json:"createdAt"`
	Langs     json.RawMessage `json:"langs"`
	Tags      json.RawMessage `json:"tags"`
	Facets    json.RawMessage `json:"facets"`
	Reply     json.RawMessage `json:"reply"`
	Embed     json.RawMessage `json:"embed"`
}

type facet struct {
	Index struct {
		ByteStart int64 `json:"byteStart"`
		ByteEnd   int64 `json:"byteEnd"`
	} `json:"index"`
	Features []json.RawMessage `json:"features"`
}

type feature struct {
	Type string `json:"$type"`
	Tag  string `json:"tag"`
	URI  string `json:"uri"`
}

type embed struct {
	Type     string `json:"$type"`
	External *struct {
		URI string `json:"uri"`
	} `json:"external"`
	Media json.RawMessage `json:"media"`
}

// status maps a post record to a Status.
func (d *decoder) status(did, rkey string, timeUS int64, raw json.RawMessage) (*stream.Status, error) {
	var r postRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: post record: %w", errMalformed, jsonError(err))
	}
	if r.Text == nil {
		return nil, fmt.Errorf("%w: post record without text", errMalformed)
	}
	who := did
	handle := d.handles.get(did)
	if handle != "" {
		who = handle
	}
	s := &stream.Status{
		ID:        PostURI(did, rkey),
		Source:    SourceName,
		Author:    stream.Author{ID: did, ScreenName: who},
		Text:      *r.Text,
		URL:       PostURL(who, rkey),
		CreatedAt: createdAt(r.CreatedAt, timeUS),
		IsReply:   present(r.Reply),
		Raw:       raw,
	}
	var langs []string
	if json.Unmarshal(r.Langs, &langs) == nil {
		for _, l := range langs {
			if l = strings.TrimSpace(l); l != "" && len(l) <= 64 {
				s.Lang = l
				break
			}
		}
	}
	m := mapper{s: s, text: *r.Text, seenTag: map[string]bool{}, seenURL: map[string]bool{}}
	var facets []json.RawMessage
	if json.Unmarshal(r.Facets, &facets) == nil {
		for _, f := range facets {
			m.facet(f)
		}
	}
	var tags []string
	if json.Unmarshal(r.Tags, &tags) == nil {
		for _, t := range tags {
			m.tag(t)
		}
	}
	m.embed(r.Embed, true)
	return s, nil
}

// mapper collects a post's entities.
type mapper struct {
	s       *stream.Status
	text    string
	seenTag map[string]bool // lowercased
	seenURL map[string]bool
}

// facet maps one facet; a facet that does not decode is skipped.
func (m *mapper) facet(raw json.RawMessage) {
	var f facet
	if json.Unmarshal(raw, &f) != nil {
		return
	}
	span, spanOK := slice(m.text, f.Index.ByteStart, f.Index.ByteEnd)
	for _, rf := range f.Features {
		var ft feature
		if json.Unmarshal(rf, &ft) != nil {
			continue
		}
		switch ft.Type {
		case featureTag:
			m.tag(ft.Tag)
		case featureMention:
			if !spanOK {
				continue
			}
			if h := normalizeHandle(strings.TrimPrefix(strings.TrimSpace(span), "@")); h != "" {
				m.s.Mentions = append(m.s.Mentions, h)
			}
		case featureLink:
			display := ""
			if spanOK {
				display = strings.TrimSpace(span)
			}
			m.link(ft.URI, display)
		}
	}
}

// tag adds a hashtag once, without its '#'.
func (m *mapper) tag(t string) {
	t = strings.TrimPrefix(strings.TrimSpace(t), "#")
	if t == "" || len(t) > maxTagBytes || !utf8.ValidString(t) {
		return
	}
	key := strings.ToLower(t)
	if m.seenTag[key] {
		return
	}
	m.seenTag[key] = true
	m.s.Hashtags = append(m.s.Hashtags, t)
}

// link adds an http or https link once; other schemes (javascript:, data:)
// are dropped. An empty display shows the link without its scheme.
func (m *mapper) link(uri, display string) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return
	}
	if m.seenURL[uri] {
		return
	}
	m.seenURL[uri] = true
	if display == "" {
		display = strings.TrimPrefix(strings.TrimPrefix(uri, u.Scheme+"://"), "www.")
	}
	m.s.URLs = append(m.s.URLs, stream.URL{Expanded: uri, Display: display})
}

// embed marks quotes and adds an external link; top is false for the media
// of a recordWithMedia, which is not looked into further.
func (m *mapper) embed(raw json.RawMessage, top bool) {
	if !present(raw) {
		return
	}
	var e embed
	if json.Unmarshal(raw, &e) != nil {
		return
	}
	switch strings.TrimSuffix(e.Type, "#main") {
	case embedRecord:
		m.s.IsQuote = top
	case embedRecordWithMedia:
		if top {
			m.s.IsQuote = true
			m.embed(e.Media, false)
		}
	case embedExternal:
		if e.External != nil {
			m.link(e.External.URI, "")
		}
	}
}

// slice returns text[start:end] when the range lies within text and both
// ends fall on rune boundaries: facet offsets are UTF-8 byte offsets that
// the author's client computed, so they are not trusted.
func slice(text string, start, end int64) (string, bool) {
	if start < 0 || end > int64(len(text)) || start >= end {
		return "", false
	}
	if !utf8.RuneStart(text[start]) || (end < int64(len(text)) && !utf8.RuneStart(text[end])) {
		return "", false
	}
	return text[start:end], true
}

// createdAt parses the record's createdAt, falling back to the message time.
func createdAt(raw json.RawMessage, timeUS int64) time.Time {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
	}
	return time.UnixMicro(timeUS).UTC()
}

// present reports whether an optional JSON value is set and not null.
func present(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// jsonError drops the offending value from a json error (it may be hostile
// text) and keeps the position or the field.
func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %s has type %s, want %s", truncate(te.Field, 64), te.Value, te.Type)
	}
	return err
}

// truncate shortens s to at most n bytes without splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
