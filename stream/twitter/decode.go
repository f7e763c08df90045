package twitter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

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

// Decode turns one v1.1 stream message (one line, without its "\r\n") into
// an Event. The returned Status owns a copy of line in Raw. Decode is safe
// for concurrent use.
//
// Tweets are recognized by a user object and an id_str (or id), not by
// the presence of retweet_count. Decode reads the fields it needs and
// validates the rest of the message as JSON without decoding it. Object
// keys are matched exactly (encoding/json would also accept "ID_STR").
//
// Errors: a *json.SyntaxError for malformed JSON and a
// *json.UnmarshalTypeError for a field of the wrong type (as
// encoding/json reports them), ErrUnknownMessage and ErrIgnoredMessage for
// messages that are not events; each is wrapped with context, so use
// errors.Is/As.
func Decode(line []byte) (stream.Event, error) { return decode(line, true) }

// decodeWithoutRaw is Decode leaving Status.Raw nil (Config.OmitRaw).
func decodeWithoutRaw(line []byte) (stream.Event, error) { return decode(line, false) }

func decode(line []byte, keepRaw bool) (stream.Event, error) {
	d := decoders.Get().(*decoder)
	defer d.release()
	d.reset(line)
	if err := d.message(); err != nil {
		// Malformed JSON is rare: let encoding/json describe it, so that
		// callers get the *json.SyntaxError (and offset) they know.
		var empty struct{}
		if jerr := json.Unmarshal(line, &empty); jerr != nil {
			err = jerr
		}
		return stream.Event{}, fmt.Errorf("twitter: malformed message: %w", err)
	}
	return d.event(line, keepRaw)
}

// decoders holds decoders between calls: their scratch slices make a
// decode allocate only what the Status keeps.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// decoder is the state of one Decode. First, message scans the JSON and
// notes where the fields that matter are (as spans of the line); then event
// builds the Event from those spans alone.
type decoder struct {
	scanner
	msg message
	// Every hashtag, mention and URL entity of the message, in order; the
	// entityRanges of msg index them.
	tags, mentions []span
	urls           []urlSpans
	// Scratch for building a Status.
	arena  []byte  // the text of its strings, which then share one allocation
	pieces []piece // where its list elements are in arena
	tmp    []byte  // an unquoted field that is parsed, not kept
}

// maxScratch bounds the scratch a pooled decoder keeps after a giant message.
const maxScratch = 64 << 10

func (d *decoder) reset(line []byte) {
	d.scanner = scanner{b: line, key: d.key[:0]}
	d.msg = message{}
	d.tags, d.mentions, d.urls = d.tags[:0], d.mentions[:0], d.urls[:0]
}

func (d *decoder) release() {
	d.b = nil // do not keep the caller's line alive
	if cap(d.arena) > maxScratch || cap(d.tags)+cap(d.mentions)+cap(d.urls)+cap(d.pieces) > maxScratch/8 {
		return // let a decoder that grew for a hostile message go
	}
	decoders.Put(d)
}

// message is what the scan found: every field of every message kind that
// Decode reads.
type message struct {
	tweet     tweetFields
	retweeted tweetFields // retweeted_status, when isRetweet
	isRetweet bool

	delete struct {
		present        bool
		id, userID     int64
		idStr, userStr span
	}
	limit struct {
		present bool
		track   int64
	}
	disconnect struct {
		present            bool
		code               int64
		streamName, reason span
	}
	warning struct {
		present       bool
		code, message span
		percentFull   int64
	}
	ignored bool // scrub_geo, status_withheld, user_withheld, friends, event
}

// tweetFields are the fields of a v1.1 Tweet object that a Status needs.
type tweetFields struct {
	id                     int64
	idStr                  span
	createdAt, timestampMS span
	lang                   span
	reply                  span // in_reply_to_status_id_str
	isQuote                bool

	hasUser bool
	user    struct{ idStr, name, screenName span }

	// The text: extended_tweet's, else full_text, else text.
	text, fullText span
	entities       entityRanges
	hasExtended    bool
	extFullText    span
	extEntities    entityRanges
}

// entityRanges locates one entities object's lists in the decoder's
// tags, mentions and urls: [lo, hi) each.
type entityRanges struct {
	tags, mentions, urls, media [2]int
}

type urlSpans struct{ expanded, display span }

// message scans the whole line.
func (d *decoder) message() error {
	s := &d.scanner
	switch s.ws() {
	case '{':
	case 'n': // null: well-formed, and no message kind
		if err := s.literal("null"); err != nil {
			return err
		}
		return d.end()
	default:
		return errSyntax // or a type error; Decode asks encoding/json which
	}
	m := &d.msg
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "delete":
			m.delete.present, err = s.objectField("delete", d.deleteMember)
		case "limit":
			m.limit.present, err = s.objectField("limit", func(key []byte) error {
				if string(key) != "track" {
					return s.skip()
				}
				var err error
				m.limit.track, err = s.intField("limit.track")
				return err
			})
		case "disconnect":
			m.disconnect.present, err = s.objectField("disconnect", d.disconnectMember)
		case "warning":
			m.warning.present, err = s.objectField("warning", d.warningMember)
		case "scrub_geo", "status_withheld", "user_withheld", "friends", "event":
			m.ignored = true
			err = s.skip()
		case "retweeted_status":
			m.isRetweet, err = s.objectField("retweeted_status", func(key []byte) error {
				return d.tweetMember(&m.retweeted, key)
			})
		default:
			err = d.tweetMember(&m.tweet, key)
		}
		return err
	})
	if err != nil {
		return err
	}
	return d.end()
}

// end checks that nothing but whitespace follows the message.
func (d *decoder) end() error {
	if d.ws() != 0 {
		return errSyntax
	}
	return nil
}

// tweetMember reads one member of a Tweet object into t, or skips it.
// A retweeted original's own retweeted_status is skipped: a Status never
// looks that deep.
func (d *decoder) tweetMember(t *tweetFields, key []byte) error {
	s := &d.scanner
	var err error
	switch string(key) {
	case "id":
		t.id, err = s.intField("id")
	case "id_str":
		t.idStr, err = s.stringField("id_str")
	case "created_at":
		t.createdAt, err = s.stringField("created_at")
	case "timestamp_ms":
		t.timestampMS, err = s.stringField("timestamp_ms")
	case "text":
		t.text, err = s.stringField("text")
	case "full_text":
		t.fullText, err = s.stringField("full_text")
	case "lang":
		t.lang, err = s.stringField("lang")
	case "in_reply_to_status_id_str":
		t.reply, err = s.stringField("in_reply_to_status_id_str")
	case "is_quote_status":
		t.isQuote, err = s.boolField("is_quote_status")
	case "user":
		t.hasUser, err = s.objectField("user", func(key []byte) error {
			var err error
			switch string(key) {
			case "id_str":
				t.user.idStr, err = s.stringField("user.id_str")
			case "name":
				t.user.name, err = s.stringField("user.name")
			case "screen_name":
				t.user.screenName, err = s.stringField("user.screen_name")
			default:
				err = s.skip()
			}
			return err
		})
	case "entities":
		err = d.entities(&t.entities)
	case "extended_tweet":
		t.hasExtended, err = s.objectField("extended_tweet", func(key []byte) error {
			var err error
			switch string(key) {
			case "full_text":
				t.extFullText, err = s.stringField("extended_tweet.full_text")
			case "entities":
				err = d.entities(&t.extEntities)
			default:
				err = s.skip()
			}
			return err
		})
	default:
		err = s.skip()
	}
	return err
}

// entities reads an entities object into e.
func (d *decoder) entities(e *entityRanges) error {
	s := &d.scanner
	_, err := s.objectField("entities", func(key []byte) error {
		switch string(key) {
		case "hashtags":
			return d.textList(&d.tags, &e.tags, "text", "entities.hashtags")
		case "user_mentions":
			return d.textList(&d.mentions, &e.mentions, "screen_name", "entities.user_mentions")
		case "urls":
			return d.urlList(&e.urls, "entities.urls")
		case "media":
			return d.urlList(&e.media, "entities.media")
		}
		return s.skip()
	})
	return err
}

// textList reads an array of entity objects, appending the value of each
// one's key member to list (an empty span for an object without it, or a
// null), and sets r to their range in list. A second list with the same
// key replaces the first, as in encoding/json.
func (d *decoder) textList(list *[]span, r *[2]int, key, field string) error {
	s := &d.scanner
	lo := len(*list)
	err := s.arrayField(field, func() error {
		var text span
		_, err := s.objectField(field, func(k []byte) error {
			if string(k) != key {
				return s.skip()
			}
			var err error
			text, err = s.stringField(field)
			return err
		})
		*list = append(*list, text)
		return err
	})
	*r = [2]int{lo, len(*list)}
	return err
}

// urlList reads an array of URL entities into d.urls.
func (d *decoder) urlList(r *[2]int, field string) error {
	s := &d.scanner
	lo := len(d.urls)
	err := s.arrayField(field, func() error {
		var u urlSpans
		_, err := s.objectField(field, func(k []byte) error {
			var err error
			switch string(k) {
			case "expanded_url":
				u.expanded, err = s.stringField(field)
			case "display_url":
				u.display, err = s.stringField(field)
			default:
				err = s.skip()
			}
			return err
		})
		d.urls = append(d.urls, u)
		return err
	})
	*r = [2]int{lo, len(d.urls)}
	return err
}

func (d *decoder) deleteMember(key []byte) error {
	s := &d.scanner
	if string(key) != "status" {
		return s.skip()
	}
	del := &d.msg.delete
	_, err := s.objectField("delete.status", func(key []byte) error {
		var err error
		switch string(key) {
		case "id":
			del.id, err = s.intField("delete.status.id")
		case "id_str":
			del.idStr, err = s.stringField("delete.status.id_str")
		case "user_id":
			del.userID, err = s.intField("delete.status.user_id")
		case "user_id_str":
			del.userStr, err = s.stringField("delete.status.user_id_str")
		default:
			err = s.skip()
		}
		return err
	})
	return err
}

func (d *decoder) disconnectMember(key []byte) error {
	s := &d.scanner
	dis := &d.msg.disconnect
	var err error
	switch string(key) {
	case "code":
		dis.code, err = s.intField("disconnect.code")
	case "stream_name":
		dis.streamName, err = s.stringField("disconnect.stream_name")
	case "reason":
		dis.reason, err = s.stringField("disconnect.reason")
	default:
		err = s.skip()
	}
	return err
}

func (d *decoder) warningMember(key []byte) error {
	s := &d.scanner
	w := &d.msg.warning
	var err error
	switch string(key) {
	case "code":
		w.code, err = s.stringField("warning.code")
	case "message":
		w.message, err = s.stringField("warning.message")
	case "percent_full":
		w.percentFull, err = s.intField("warning.percent_full")
	default:
		err = s.skip()
	}
	return err
}

// event builds the Event of a scanned message.
func (d *decoder) event(line []byte, keepRaw bool) (stream.Event, error) {
	m := &d.msg
	switch t := &m.tweet; {
	case t.hasUser && (!t.idStr.empty() || t.id != 0):
		s := d.status()
		if keepRaw {
			s.Raw = append(json.RawMessage(nil), line...)
		}
		return stream.StatusEvent(s), nil
	case m.delete.present:
		del := &m.delete
		return stream.Event{Kind: stream.KindDelete, Delete: stream.Delete{
			StatusID: d.idString(del.idStr, del.id),
			UserID:   d.idString(del.userStr, del.userID),
		}}, nil
	case m.limit.present:
		return stream.Event{Kind: stream.KindLimit, Limit: stream.Limit{Track: m.limit.track}}, nil
	case m.disconnect.present:
		dis := &m.disconnect
		return stream.Event{Kind: stream.KindDisconnect, Disconnect: stream.Disconnect{
			Code: int(dis.code), StreamName: d.string(dis.streamName), Reason: d.string(dis.reason),
		}}, nil
	case m.warning.present:
		w := &m.warning
		return stream.Event{Kind: stream.KindWarning, Warning: stream.Warning{
			Code: d.string(w.code), Message: d.string(w.message), PercentFull: int(w.percentFull),
		}}, nil
	case m.ignored:
		return stream.Event{}, ErrIgnoredMessage
	}
	return stream.Event{}, ErrUnknownMessage
}

// piece is a string in the decoder's arena: arena[lo:hi].
type piece struct{ lo, hi int }

// add appends the unquoted text of sp to the arena.
func (d *decoder) add(sp span) piece {
	lo := len(d.arena)
	d.arena = appendUnquoted(d.arena, d.b[sp.lo:sp.hi])
	return piece{lo, len(d.arena)}
}

// addString appends s to the arena.
func (d *decoder) addString(s string) piece {
	lo := len(d.arena)
	d.arena = append(d.arena, s...)
	return piece{lo, len(d.arena)}
}

// status builds the normalized Status of the scanned tweet. Its strings
// share one allocation, except the IDs, which consumers keep on their own
// (dedupe windows) and which should not pin the rest.
func (d *decoder) status() *stream.Status {
	m := &d.msg
	t := &m.tweet
	s := &stream.Status{
		ID:        d.idString(t.idStr, t.id),
		Source:    SourceName,
		CreatedAt: d.createdAt(t),
		IsQuote:   t.isQuote,
		IsReply:   !t.reply.empty(),
	}
	d.arena, d.pieces = d.arena[:0], d.pieces[:0]
	var authorID, screenName, name piece
	if t.hasUser {
		authorID, screenName, name = d.add(t.user.idStr), d.add(t.user.screenName), d.add(t.user.name)
	}
	lang := d.add(t.lang)
	link := piece{lo: len(d.arena)}
	d.arena = append(d.arena, "https://x.com/"...)
	if screenName.hi > screenName.lo {
		d.arena = append(d.arena, d.arena[screenName.lo:screenName.hi]...)
	} else {
		d.arena = append(d.arena, "i/web"...)
	}
	d.arena = append(d.arena, "/status/"...)
	d.arena = append(d.arena, s.ID...)
	link.hi = len(d.arena)

	// The text that counts: a retweet's own text is truncated, so take the
	// original's, marked the way Twitter marks it.
	content := t
	if m.isRetweet {
		content = &m.retweeted
		s.IsRetweet = true
		s.RetweetedID = d.idString(content.idStr, content.id)
	}
	textSpan, ents := content.textAndEntities()
	text := piece{lo: len(d.arena)}
	if s.IsRetweet && content.hasUser {
		d.addString("RT @")
		d.add(content.user.screenName)
		d.addString(": ")
	}
	body := d.add(textSpan)
	d.arena = d.arena[:body.lo+unescapeHTML(d.arena[body.lo:body.hi])]
	text.hi = len(d.arena)

	for _, sp := range d.tags[ents.tags[0]:ents.tags[1]] {
		d.pieces = append(d.pieces, d.add(sp))
	}
	for _, sp := range d.mentions[ents.mentions[0]:ents.mentions[1]] {
		d.pieces = append(d.pieces, d.add(sp))
	}
	nURLs := 0
	for _, r := range [][2]int{ents.urls, ents.media} {
		for _, u := range d.urls[r[0]:r[1]] {
			d.pieces = append(d.pieces, d.add(u.expanded), d.add(u.display))
			nURLs++
		}
	}

	all := string(d.arena)
	str := func(p piece) string { return all[p.lo:p.hi] }
	s.Author = stream.Author{ID: str(authorID), ScreenName: str(screenName), Name: str(name)}
	s.Lang, s.URL, s.Text = str(lang), str(link), str(text)
	nTags, nMentions := ents.tags[1]-ents.tags[0], ents.mentions[1]-ents.mentions[0]
	if n := nTags + nMentions; n > 0 {
		// One allocation for both lists; each is capped, so appending to
		// one never writes into the other.
		list := make([]string, n)
		for i := range list {
			list[i] = str(d.pieces[i])
		}
		if nTags > 0 {
			s.Hashtags = list[:nTags:nTags]
		}
		if nMentions > 0 {
			s.Mentions = list[nTags:]
		}
	}
	if nURLs > 0 {
		s.URLs = make([]stream.URL, nURLs)
		for i := range s.URLs {
			p := d.pieces[nTags+nMentions+2*i:]
			s.URLs[i] = stream.URL{Expanded: str(p[0]), Display: str(p[1])}
		}
	}
	return s
}

// textAndEntities returns the untruncated text and the entities that index it:
// extended_tweet.full_text, else full_text (extended mode), else text.
func (t *tweetFields) textAndEntities() (span, *entityRanges) {
	if t.hasExtended && !t.extFullText.empty() {
		return t.extFullText, &t.extEntities
	}
	if !t.fullText.empty() {
		return t.fullText, &t.entities
	}
	return t.text, &t.entities
}

// string returns the unquoted text of sp in its own allocation.
func (d *decoder) string(sp span) string {
	raw := d.b[sp.lo:sp.hi]
	if !sp.esc && utf8.Valid(raw) {
		return string(raw)
	}
	return string(appendUnquoted(nil, raw))
}

// bytes returns the unquoted text of sp, valid until the next call.
func (d *decoder) bytes(sp span) []byte {
	raw := d.b[sp.lo:sp.hi]
	if !sp.esc {
		return raw
	}
	d.tmp = appendUnquoted(d.tmp[:0], raw)
	return d.tmp
}

// idString is the id_str when present and non-empty, else the numeric id.
func (d *decoder) idString(s span, n int64) string {
	if !s.empty() || n == 0 {
		return d.string(s)
	}
	return strconv.FormatInt(n, 10)
}

func (d *decoder) createdAt(t *tweetFields) time.Time {
	b := d.bytes(t.createdAt)
	if ts, ok := parseCreatedAt(b); ok {
		return ts
	}
	if ts, err := time.Parse(CreatedAtLayout, string(b)); err == nil {
		return ts.UTC()
	}
	if ms, err := strconv.ParseInt(string(d.bytes(t.timestampMS)), 10, 64); err == nil {
		return time.UnixMilli(ms).UTC()
	}
	return time.Time{}
}

// parseCreatedAt is time.Parse(CreatedAtLayout, b).UTC() for the values
// Twitter sends: exactly that width, names in that case, numbers in range.
// For anything else it reports false and the caller asks time.Parse.
func parseCreatedAt(b []byte) (time.Time, bool) {
	if len(b) != len(CreatedAtLayout) || b[3] != ' ' || b[7] != ' ' || b[10] != ' ' || b[13] != ':' ||
		b[16] != ':' || b[19] != ' ' || (b[20] != '+' && b[20] != '-') || b[25] != ' ' {
		return time.Time{}, false
	}
	if day := bytes.Index([]byte("SunMonTueWedThuFriSat"), b[0:3]); day < 0 || day%3 != 0 {
		return time.Time{}, false
	}
	month := bytes.Index([]byte("JanFebMarAprMayJunJulAugSepOctNovDec"), b[4:7])
	if month < 0 || month%3 != 0 {
		return time.Time{}, false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	day, hour, minute, sec := num(b[8:10]), num(b[11:13]), num(b[14:16]), num(b[17:19])
	offH, offM, year := num(b[21:23]), num(b[23:25]), num(b[26:30])
	if day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 ||
		offH < 0 || offH > 23 || offM < 0 || offM > 59 || year < 0 {
		return time.Time{}, false
	}
	ts := time.Date(year, time.Month(month/3+1), day, hour, minute, sec, 0, time.UTC)
	if ts.Day() != day {
		return time.Time{}, false // day out of range for the month
	}
	off := time.Duration(offH*60+offM) * time.Minute
	if b[20] == '-' {
		off = -off
	}
	return ts.Add(-off), true
}

// StatusURL returns the web link of a post.
func StatusURL(screenName, id string) string {
	if screenName == "" {
		screenName = "i/web"
	}
	return "https://x.com/" + screenName + "/status/" + id
}

// unescapeHTML decodes the three entities Twitter escapes in texts (&amp;
// &lt; &gt;) in place, left to right, and returns the new length of b.
func unescapeHTML(b []byte) int {
	w := bytes.IndexByte(b, '&')
	if w < 0 {
		return len(b)
	}
	for r := w; r < len(b); {
		if b[r] == '&' {
			var c byte
			switch rest := b[r:]; {
			case bytes.HasPrefix(rest, []byte("&amp;")):
				c, r = '&', r+len("&amp;")
			case bytes.HasPrefix(rest, []byte("&lt;")):
				c, r = '<', r+len("&lt;")
			case bytes.HasPrefix(rest, []byte("&gt;")):
				c, r = '>', r+len("&gt;")
			}
			if c != 0 {
				b[w] = c
				w++
				continue
			}
		}
		b[w] = b[r]
		w++
		r++
	}
	return w
}
