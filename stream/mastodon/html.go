package mastodon

import (
	"html"
	"strings"
	"unicode/utf8"

	"github.com/streambot/streambot/stream"
)

// Mastodon sends a status's content as sanitized HTML: paragraphs (<p>),
// line breaks (<br>), links (<a>) whose text is split into visible and
// "invisible" spans, mentions and hashtags as links with class "mention",
// and, from other servers, a few more formatting tags. Remote servers, a
// buggy proxy or a hostile one may send anything, so the stripper below
// assumes nothing: it runs in one pass, in linear time and without
// recursion, over any input, well-formed or not.

// PlainText returns the text a reader sees in Mastodon HTML content:
//
//   - tags are dropped and their text kept, link text included (Mastodon's
//     "invisible" spans hold the parts of a URL it shortens on screen, so
//     the full URL appears);
//   - <br> becomes a line break, and paragraphs (<p>) are separated by a
//     blank line; other block elements (div, li, blockquote, pre, h1–h6 ...)
//     start on a new line; at most two line breaks follow each other;
//   - runs of whitespace collapse to one space, as a browser shows them,
//     except inside <pre>;
//   - character references (&amp; &lt; &#39; &#x1F40D; ...) are decoded, so
//     the result is plain text, not HTML;
//   - comments and the content of <script> and <style> are dropped;
//   - a '<' that does not start a tag is text; a tag left open at the end
//     of the input is dropped, as a browser drops it.
//
// Leading and trailing whitespace is removed.
func PlainText(content string) string {
	text, _ := stripHTML(content)
	return text
}

// stripHTML returns PlainText of s and the targets of its links that are
// neither mentions nor hashtags, in order and without duplicates.
func stripHTML(s string) (string, []stream.URL) {
	var t textBuilder
	t.b.Grow(len(s))
	var link *anchor
	var links []stream.URL
	endLink := func() {
		if link != nil {
			links = link.appendTo(links)
			link = nil
		}
	}
	text := 0 // start of the pending text run
	i := 0
	for i < len(s) {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			break
		}
		i += lt
		kind := markupAt(s, i)
		if kind == notMarkup {
			i++
			continue
		}
		t.text(s[text:i])
		switch kind {
		case comment:
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				i = len(s)
			} else {
				i += 4 + end + 3
			}
		case bogus:
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				i = len(s)
			} else {
				i += end + 1
			}
		case tag:
			tg, next, ok := scanTag(s, i)
			if !ok {
				i = len(s) // a tag still open at the end: dropped
				break
			}
			i = next
			switch {
			case tg.name == "a" && !tg.end:
				endLink()
				link = &anchor{href: tg.href, class: tg.class, rel: tg.rel}
			case tg.name == "a":
				endLink()
			case !tg.end && (tg.name == "script" || tg.name == "style"):
				i = skipRawText(s, i, tg.name)
			default:
				t.element(tg.name, tg.end)
			}
		}
		text = i
	}
	if text < len(s) {
		t.text(s[text:])
	}
	endLink()
	return t.String(), links
}

// markup kinds that may start at a '<'.
const (
	notMarkup = iota // a literal '<'
	tag              // <name ...> or </name ...>
	comment          // <!-- ... -->
	bogus            // <!...>, <?...>: skipped to the next '>'
)

func markupAt(s string, i int) int {
	if i+1 >= len(s) {
		return notMarkup
	}
	switch c := s[i+1]; {
	case isASCIILetter(c):
		return tag
	case c == '/':
		if i+2 < len(s) && isASCIILetter(s[i+2]) {
			return tag
		}
		return notMarkup
	case c == '!':
		if strings.HasPrefix(s[i:], "<!--") {
			return comment
		}
		return bogus
	case c == '?':
		return bogus
	}
	return notMarkup
}

// tagInfo is what the stripper needs of one tag.
type tagInfo struct {
	name             string // lowercase
	end              bool   // </name>
	href, class, rel string // attributes of an <a>, decoded
}

// scanTag parses the tag that starts at s[i] == '<'. It returns the index
// just after its '>', or ok == false when the input ends first (inside the
// tag or inside a quoted attribute value).
func scanTag(s string, i int) (t tagInfo, next int, ok bool) {
	j := i + 1
	if s[j] == '/' {
		t.end = true
		j++
	}
	start := j
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	t.name = strings.ToLower(s[start:j])
	wantAttrs := t.name == "a" && !t.end
	for {
		for j < len(s) && (isHTMLSpace(s[j]) || s[j] == '/') {
			j++
		}
		if j >= len(s) {
			return t, len(s), false
		}
		if s[j] == '>' {
			return t, j + 1, true
		}
		ks := j
		for j < len(s) && !isHTMLSpace(s[j]) && s[j] != '=' && s[j] != '>' && s[j] != '/' {
			j++
		}
		key := s[ks:j]
		for j < len(s) && isHTMLSpace(s[j]) {
			j++
		}
		var val string
		if j < len(s) && s[j] == '=' {
			j++
			for j < len(s) && isHTMLSpace(s[j]) {
				j++
			}
			if j < len(s) && (s[j] == '"' || s[j] == '\'') {
				end := strings.IndexByte(s[j+1:], s[j])
				if end < 0 {
					return t, len(s), false
				}
				val = s[j+1 : j+1+end]
				j += end + 2
			} else {
				vs := j
				for j < len(s) && !isHTMLSpace(s[j]) && s[j] != '>' {
					j++
				}
				val = s[vs:j]
			}
		}
		if wantAttrs {
			switch strings.ToLower(key) {
			case "href":
				t.href = strings.TrimSpace(html.UnescapeString(val))
			case "class":
				t.class = html.UnescapeString(val)
			case "rel":
				t.rel = html.UnescapeString(val)
			}
		}
	}
}

// skipRawText returns the index of the "</name" that ends a script or style
// element opened before i, or len(s).
func skipRawText(s string, i int, name string) int {
	closing := "</" + name
	for j := i; j < len(s); {
		k := strings.IndexByte(s[j:], '<')
		if k < 0 {
			break
		}
		j += k
		if len(s)-j >= len(closing) && strings.EqualFold(s[j:j+len(closing)], closing) {
			return j
		}
		j++
	}
	return len(s)
}

// anchor is an <a> being read.
type anchor struct{ href, class, rel string }

// appendTo adds the link's target to links unless it is a mention, a
// hashtag, not http(s), or already there.
func (a *anchor) appendTo(links []stream.URL) []stream.URL {
	if hasToken(a.class, "mention") || hasToken(a.class, "hashtag") || hasToken(a.rel, "tag") {
		return links
	}
	return appendURL(links, a.href)
}

// appendURL adds an http(s) URL to links unless it is already there.
func appendURL(links []stream.URL, u string) []stream.URL {
	display, ok := displayURL(u)
	if !ok {
		return links
	}
	for _, l := range links {
		if l.Expanded == u {
			return links
		}
	}
	return append(links, stream.URL{Expanded: u, Display: display})
}

// displayURL returns u without its scheme, and whether u is an http(s) URL
// with something after the scheme.
func displayURL(u string) (string, bool) {
	for _, scheme := range []string{"https://", "http://"} {
		if len(u) > len(scheme) && strings.EqualFold(u[:len(scheme)], scheme) {
			return u[len(scheme):], true
		}
	}
	return "", false
}

// hasToken reports whether the space-separated list has tok.
func hasToken(list, tok string) bool {
	for f := range strings.FieldsSeq(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

// maxNewlines bounds consecutive line breaks, so hostile content cannot
// turn into screens of blank lines.
const maxNewlines = 2

// textBuilder writes plain text with HTML's whitespace rules.
type textBuilder struct {
	b        strings.Builder
	space    bool // collapsed whitespace is pending
	newlines int  // line breaks at the end of b
	pre      int  // depth of <pre>
}

// text writes a run of character data, decoding character references.
func (t *textBuilder) text(raw string) {
	if raw == "" {
		return
	}
	if strings.IndexByte(raw, '&') >= 0 {
		raw = html.UnescapeString(raw)
	}
	for len(raw) > 0 {
		r, size := utf8.DecodeRuneInString(raw)
		chunk := raw[:size]
		raw = raw[size:]
		if t.pre > 0 {
			if r == '\n' {
				t.lineBreak()
				continue
			}
			t.write(chunk)
			continue
		}
		if r < utf8.RuneSelf && isHTMLSpace(byte(r)) {
			t.space = true
			continue
		}
		t.write(chunk)
	}
}

// write adds visible text, preceded by a pending space.
func (t *textBuilder) write(s string) {
	if t.space && t.b.Len() > 0 && t.newlines == 0 {
		t.b.WriteByte(' ')
	}
	t.space = false
	t.newlines = 0
	t.b.WriteString(s)
}

// lineBreak adds one line break, up to maxNewlines in a row; none at the
// start.
func (t *textBuilder) lineBreak() {
	t.space = false
	if t.b.Len() == 0 || t.newlines >= maxNewlines {
		return
	}
	t.b.WriteByte('\n')
	t.newlines++
}

// breakTo ends the current line so that n line breaks end the text.
func (t *textBuilder) breakTo(n int) {
	for t.newlines < n && t.b.Len() > 0 {
		t.lineBreak()
	}
	t.space = false
}

// element applies the layout of a tag other than <a>.
func (t *textBuilder) element(name string, end bool) {
	switch name {
	case "br":
		t.lineBreak()
	case "p":
		t.breakTo(2)
	case "pre":
		t.breakTo(1)
		if end {
			t.pre = max(t.pre-1, 0)
		} else {
			t.pre++
		}
	case "div", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
		"hr", "table", "tr", "dl", "dt", "dd", "section", "article", "header", "footer", "figure", "figcaption":
		t.breakTo(1)
	}
}

// String returns the text without leading or trailing whitespace.
func (t *textBuilder) String() string {
	return strings.TrimSpace(t.b.String())
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isNameByte(c byte) bool {
	return isASCIILetter(c) || c >= '0' && c <= '9' || c == '-' || c == ':' || c == '_'
}

// isHTMLSpace reports ASCII whitespace as HTML defines it.
func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}
