package telegram

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/streambot/streambot/stream"
)

// MaxMessageLen is Telegram's limit on a message's text after entity
// parsing. Telegram counts characters; the formatter counts UTF-16 code
// units, which is never less, so its messages are always accepted.
const MaxMessageLen = 4096

// MaxParts bounds the messages one status becomes in Split mode; the text of
// the last part is truncated when a status needs more.
const MaxParts = 10

// DefaultTemplate renders a status as
//
//	<b>Name</b> (@screen_name)
//	the full text
//	<a href="https://x.com/screen_name/status/1">https://x.com/screen_name/status/1</a>
//
// The link shows its own URL rather than a "View post" label, so a reader can
// always see where it leads. Without a Name the first line is <b>@screen_name</b>.
const DefaultTemplate = `{{if .Name}}<b>{{.Name}}</b>{{with .ScreenName}} (@{{.}}){{end}}{{else if .ScreenName}}<b>@{{.ScreenName}}</b>{{end}}
{{.Text}}{{with .URL}}
<a href="{{.}}">{{.}}</a>{{end}}`

// TemplateData is what a message template is executed over.
//
// Every string in it is already sanitized and HTML-escaped (see [EscapeHTML]),
// so a template writes {{.Text}} and {{.Name}} as they are, in text or inside
// a quoted attribute, and adds its own tags (b, i, u, s, a href, code, pre,
// blockquote, tg-spoiler). Do not pipe the fields through text/template's
// html function: that would escape them twice.
type TemplateData struct {
	ID         string    // the status's ID
	Source     string    // the network, e.g. "twitter"
	Name       string    // display name, on one line
	ScreenName string    // handle without '@'
	Text       string    // full text; newlines kept
	URL        string    // link to the post; empty unless http or https
	Lang       string    // language code, e.g. "en"
	CreatedAt  time.Time // when the status was posted
	IsRetweet  bool      // the status is a retweet
	IsQuote    bool      // the status quotes another
	IsReply    bool      // the status is a reply
	Hashtags   []string  // hashtags without '#'
	Mentions   []string  // mentioned handles without '@'
	Matched    []string  // the track phrases that selected the status
	Routes     []string  // the routes that took the status (Status.Routes)
}

// templateFuncs are the helpers a template may use besides text/template's
// built-ins.
var templateFuncs = template.FuncMap{
	// join joins already-escaped strings with sep (the template's own text).
	"join": strings.Join,
}

// placeholder stands in for the text while a template is executed: the
// formatter then knows which part of the output is the text, so it can
// truncate or split the text alone. Sanitized data never contains NUL.
const placeholder = "\x00"

// Formatter renders statuses into Telegram HTML messages that Telegram
// accepts: escaped, with balanced tags, each at most MaxMessageLen long.
// It is safe for concurrent use.
type Formatter struct {
	tmpl  *template.Template
	split bool
}

// NewFormatter parses a message template (text/template source over
// [TemplateData]; empty means [DefaultTemplate]) and checks it by rendering a
// sample status: its tags must be ones Telegram knows, balanced, and leave
// room for text. With split, a status too long for one message becomes
// several (at most [MaxParts]); without, its text is truncated with "…".
func NewFormatter(source string, split bool) (*Formatter, error) {
	if source == "" {
		source = DefaultTemplate
	}
	if strings.Contains(source, placeholder) {
		return nil, errors.New("telegram: the message template contains a NUL character")
	}
	tmpl, err := template.New("message").Funcs(templateFuncs).Option("missingkey=error").Parse(source)
	if err != nil {
		return nil, fmt.Errorf("telegram: message template: %w", err)
	}
	f := &Formatter{tmpl: tmpl, split: split}
	sample := &stream.Status{
		ID: "1", Source: "sample", Author: stream.Author{ID: "1", ScreenName: "sample", Name: "Sample <&>"},
		Text: "sample text", URL: "https://x.com/sample/status/1", Lang: "en",
		Hashtags: []string{"tag"}, Mentions: []string{"someone"}, Matched: []string{"phrase"},
		Routes: []string{"route"},
	}
	data := newTemplateData(sample)
	data.Text = placeholder
	out, err := f.exec(data)
	if err != nil {
		return nil, err
	}
	if err := checkHTML(strings.ReplaceAll(out, placeholder, "x")); err != nil {
		return nil, fmt.Errorf("telegram: message template: %w", err)
	}
	if _, err := f.Format(sample); err != nil {
		return nil, err
	}
	return f, nil
}

// Format renders s as one message, or in Split mode as several. It fails
// (a permanent failure for this status) only when the template fails or
// leaves no room for text.
func (f *Formatter) Format(s *stream.Status) ([]string, error) {
	data := newTemplateData(s)
	text := cleanText(s.Text, true)
	data.Text = placeholder
	out, err := f.exec(data)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(out, placeholder)
	var msgs []string
	switch {
	case len(parts) == 1: // the template does not show the text
		msgs = []string{out}
	case len(parts) == 2 && f.split:
		msgs, err = splitMessages(parts[0], parts[1], text)
	default:
		msgs, err = truncateMessage(parts, text)
	}
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if n := VisibleLen(m); n > MaxMessageLen {
			return nil, fmt.Errorf("telegram: the message template alone is %d characters, over Telegram's %d", n, MaxMessageLen)
		}
	}
	return msgs, nil
}

func (f *Formatter) exec(data TemplateData) (string, error) {
	var b bytes.Buffer
	if err := f.tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("telegram: message template: %w", err)
	}
	return b.String(), nil
}

// truncateMessage fills every occurrence of the text in parts with text,
// truncated so that the message fits.
func truncateMessage(parts []string, text string) ([]string, error) {
	k := len(parts) - 1
	overhead := 0
	for _, p := range parts {
		overhead += VisibleLen(p)
	}
	budget := (MaxMessageLen - overhead) / k
	for range 4 { // a template may hide part of its text in odd places: re-measure
		if budget < 1 {
			break
		}
		msg := strings.Join(parts, EscapeHTML(truncate(text, budget)))
		n := VisibleLen(msg)
		if n <= MaxMessageLen {
			return []string{msg}, nil
		}
		budget -= (n - MaxMessageLen + k - 1) / k
	}
	return nil, fmt.Errorf("telegram: the message template leaves no room for the text within Telegram's %d characters", MaxMessageLen)
}

// splitMessages spreads text over messages: the first starts with prefix,
// the last ends with suffix, and the tags prefix leaves open are closed at
// the end of each message and reopened at the start of the next.
func splitMessages(prefix, suffix, text string) ([]string, error) {
	vp, vs := VisibleLen(prefix), VisibleLen(suffix)
	if vp+vs >= MaxMessageLen {
		return nil, fmt.Errorf("telegram: the message template leaves no room for the text within Telegram's %d characters", MaxMessageLen)
	}
	open := openTags(prefix)
	var reopen, closing strings.Builder
	for i := range open {
		reopen.WriteString(open[i].raw)
		closing.WriteString("</" + open[len(open)-1-i].name + ">")
	}
	var msgs []string
	rest := text
	for i := 0; ; i++ {
		head, vh := reopen.String(), 0
		if i == 0 {
			head, vh = prefix, vp
		}
		room := MaxMessageLen - vh
		if utf16Len(rest) <= room-vs {
			return append(msgs, head+EscapeHTML(rest)+suffix), nil
		}
		if i == MaxParts-1 { // the last part allowed: truncate
			return append(msgs, head+EscapeHTML(truncate(rest, room-vs))+suffix), nil
		}
		chunk, next := cut(rest, room, true)
		rest = next
		if strings.TrimSpace(chunk) == "" && i > 0 {
			continue // Telegram refuses an empty message
		}
		msgs = append(msgs, head+EscapeHTML(chunk)+closing.String())
	}
}

type tag struct{ name, raw string }

// openTags returns the tags that s opens and leaves open, outermost first.
func openTags(s string) []tag {
	var stack []tag
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			return stack
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			return stack
		}
		raw := s[i : i+j+1]
		s = s[i+j+1:]
		if name, ok := strings.CutPrefix(raw[1:len(raw)-1], "/"); ok {
			name = strings.ToLower(strings.TrimSpace(name))
			for k := len(stack) - 1; k >= 0; k-- {
				if stack[k].name == name {
					stack = stack[:k]
					break
				}
			}
			continue
		}
		stack = append(stack, tag{name: tagName(raw), raw: raw})
	}
}

func tagName(raw string) string {
	s := strings.TrimPrefix(strings.TrimSuffix(raw, ">"), "<")
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(s)
}

// allowedTags are the tags of Telegram's HTML parse mode.
var allowedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "a": true, "code": true, "pre": true,
	"blockquote": true, "tg-spoiler": true, "span": true, "tg-emoji": true,
}

// checkHTML reports tags Telegram does not know, unbalanced tags, and '&' or
// '<' that start no entity or tag.
func checkHTML(s string) error {
	var stack []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				return fmt.Errorf("'<' at byte %d starts no tag: write &lt;", i)
			}
			raw := s[i : i+j+1]
			i += j + 1
			if name, ok := strings.CutPrefix(raw[1:len(raw)-1], "/"); ok {
				name = strings.ToLower(strings.TrimSpace(name))
				if len(stack) == 0 || stack[len(stack)-1] != name {
					return fmt.Errorf("end tag </%s> does not match an open tag", name)
				}
				stack = stack[:len(stack)-1]
				continue
			}
			name := tagName(raw)
			if !allowedTags[name] {
				return fmt.Errorf("Telegram does not support the tag <%s>", name)
			}
			stack = append(stack, name)
		case '&':
			n := entityLen(s[i:])
			if n == 0 {
				return fmt.Errorf("'&' at byte %d starts no entity: write &amp;", i)
			}
			i += n
		default:
			i++
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("tag <%s> is not closed", stack[len(stack)-1])
	}
	return nil
}

// entityLen returns the length of the HTML entity at the start of s (which
// starts with '&'), or 0 when there is none.
func entityLen(s string) int {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 12 {
		return 0
	}
	name := s[1:end]
	if num, ok := strings.CutPrefix(name, "#"); ok {
		if h, ok := strings.CutPrefix(strings.ToLower(num), "x"); ok {
			num = h
			if num == "" || strings.Trim(num, "0123456789abcdefABCDEF") != "" {
				return 0
			}
		} else if num == "" || strings.Trim(num, "0123456789") != "" {
			return 0
		}
		return end + 1
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return 0
		}
	}
	return end + 1
}

// VisibleLen returns the length of an HTML message as Telegram limits it —
// tags removed and each entity counted as the character it stands for — in
// UTF-16 code units.
func VisibleLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			if j := strings.IndexByte(s[i:], '>'); j >= 0 {
				i += j + 1
				continue
			}
		case '&':
			if j := entityLen(s[i:]); j > 0 {
				r := []rune(html.UnescapeString(s[i : i+j]))
				if len(r) == 1 {
					n += utf16.RuneLen(r[0])
				} else {
					n++
				}
				i += j
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n += max(utf16.RuneLen(r), 1)
		i += size
	}
	return n
}

// EscapeHTML escapes text for Telegram's HTML parse mode, in text and in
// quoted attribute values: <, >, &, " and ' become entities.
func EscapeHTML(s string) string { return html.EscapeString(s) }

// newTemplateData returns the sanitized, escaped template data of s.
func newTemplateData(s *stream.Status) TemplateData {
	esc := func(v string) string { return EscapeHTML(cleanText(v, false)) }
	escAll := func(vs []string) []string {
		if vs == nil {
			return nil
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = esc(v)
		}
		return out
	}
	return TemplateData{
		ID:         esc(s.ID),
		Source:     esc(s.Source),
		Name:       esc(s.Author.Name),
		ScreenName: esc(s.Author.ScreenName),
		Text:       EscapeHTML(cleanText(s.Text, true)),
		URL:        EscapeHTML(safeURL(s.URL)),
		Lang:       esc(s.Lang),
		CreatedAt:  s.CreatedAt,
		IsRetweet:  s.IsRetweet,
		IsQuote:    s.IsQuote,
		IsReply:    s.IsReply,
		Hashtags:   escAll(s.Hashtags),
		Mentions:   escAll(s.Mentions),
		Matched:    escAll(s.Matched),
		Routes:     escAll(s.Routes),
	}
}

// safeURL returns u cleaned when it is an absolute http or https URL, and ""
// otherwise (javascript:, data:, relative...).
func safeURL(u string) string {
	u = cleanText(u, false)
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || strings.ContainsAny(u, " ") {
		return ""
	}
	return u
}

// cleanText makes user content safe to show: invalid UTF-8 becomes U+FFFD;
// control characters are removed except newlines (kept when multiline, else
// turned into spaces; tabs become spaces, CR LF becomes LF); bidirectional
// formatting characters (U+202A–U+202E, U+2066–U+2069, LRM, RLM, ALM) are
// removed so no text can reverse the rendering of what follows it, such as
// the link; Unicode noncharacters are removed. Emoji, zero-width joiners and
// spaces are kept: they cannot break the HTML. Single-line values are
// trimmed.
func cleanText(s string, multiline bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch {
		case r == '\n', r == '\u2028', r == '\u2029':
			if multiline {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case r == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			if multiline {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), isNoncharacter(r):
		default:
			b.WriteRune(r) // utf8.RuneError for invalid bytes writes U+FFFD
		}
	}
	if multiline {
		return b.String()
	}
	return strings.TrimSpace(b.String())
}

func isNoncharacter(r rune) bool {
	return r >= 0xFDD0 && r <= 0xFDEF || r&0xFFFE == 0xFFFE
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// truncate shortens text to at most limit UTF-16 code units, ending it with
// "…" when it had to cut. It cuts between characters, preferably at a line
// break or a space, never inside a surrogate pair or right after a joiner.
func truncate(text string, limit int) string {
	if utf16Len(text) <= limit {
		return text
	}
	if limit < 1 {
		return ""
	}
	head, _ := cut(text, limit-1, false)
	return strings.TrimRightFunc(head, unicode.IsSpace) + "…"
}

// cut splits s so that head is at most limit UTF-16 code units long. It
// prefers to break at a newline, then a space, in the last tenth of head
// (dropping that one separator), and otherwise backs off so as not to split
// an emoji sequence (a joiner, variation selector, skin tone or combining
// mark stays with the character before it). In split mode (para) a newline
// in the last quarter is preferred.
func cut(s string, limit int, para bool) (head, rest string) {
	end, n := 0, 0
	for i, r := range s {
		l := max(utf16.RuneLen(r), 1)
		if n+l > limit {
			break
		}
		n += l
		end = i + utf8.RuneLen(r)
	}
	if end >= len(s) {
		return s, ""
	}
	window := end / 10
	if para {
		if j := strings.LastIndexByte(s[:end], '\n'); j > 0 && j >= end-end/4 {
			return s[:j], s[j+1:]
		}
	}
	if j := strings.LastIndexAny(s[:end], "\n "); j > 0 && j >= end-window {
		return s[:j], s[j+1:]
	}
	// Hard cut: keep a cluster together, unless that would eat the chunk.
	for k := end; k > end/2; {
		next, _ := utf8.DecodeRuneInString(s[k:])
		prev, size := utf8.DecodeLastRuneInString(s[:k])
		if !continuesCluster(next) && prev != '\u200d' {
			end = k
			break
		}
		k -= size
	}
	return s[:end], s[end:]
}

// continuesCluster reports whether r attaches to the character before it.
func continuesCluster(r rune) bool {
	return r == '\u200d' || r >= 0xFE00 && r <= 0xFE0F || r >= 0x1F3FB && r <= 0x1F3FF ||
		r >= 0xE0020 && r <= 0xE007F || unicode.In(r, unicode.Mn, unicode.Me)
}
