package mastodon

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
)

func TestPlainText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "hello", "hello"},
		{"paragraph", "<p>Hello world</p>", "Hello world"},
		{"paragraphs", "<p>one</p><p>two</p>", "one\n\ntwo"},
		{"br", "<p>a<br>b<br/>c<br />d</p>", "a\nb\nc\nd"},
		{"br runs capped", "<p>a<br><br><br><br><br>b</p>", "a\n\nb"},
		{"br then paragraph", "<p>a<br></p><p>b</p>", "a\n\nb"},
		{"leading breaks dropped", "<br><br><p>a</p>", "a"},
		{"entities", "<p>a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39; &#x1F40D; &hellip; &nbsp;x</p>", "a & b <c> \"d\" 'e' 🐍 … \u00a0x"},
		{"escaped tags stay text", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<script>alert(1)</script>"},
		{"double escaped", "<p>&amp;amp;</p>", "&amp;"},
		{"whitespace collapses", "<p>a \n\t  b</p>\n\n<p> c </p>", "a b\n\nc"},
		{"nested", "<p><b><i>deep</i> <u>er</u></b></p>", "deep er"},
		{"mention", `<p><span class="h-card" translate="no"><a href="https://social.example/@alice" class="u-url mention">@<span>alice</span></a></span> hi</p>`, "@alice hi"},
		{"hashtag", `<p>yes <a href="https://social.example/tags/Python" class="mention hashtag" rel="tag">#<span>Python</span></a></p>`, "yes #Python"},
		{"link with invisible spans", `<p>see <a href="https://docs.python.org/3/whatsnew/3.13.html" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span><span class="ellipsis">docs.python.org/3/whatsnew/3.1</span><span class="invisible">3.html</span></a></p>`,
			"see https://docs.python.org/3/whatsnew/3.13.html"},
		{"pre keeps whitespace", "<p>x</p><pre><code>a  b\n  c</code></pre><p>y</p>", "x\n\na  b\n  c\n\ny"},
		{"lists", "<ul><li>one</li><li>two</li></ul>", "one\ntwo"},
		{"blockquote", "<p>he said</p><blockquote><p>no</p></blockquote>", "he said\n\nno"},
		{"comment", "<p>a<!-- secret -->b</p>", "ab"},
		{"unterminated comment", "<p>a<!-- secret", "a"},
		{"script and style dropped", "<p>a</p><script>alert('x')</script><style>p{}</style><p>b</p>", "a\n\nb"},
		{"unterminated script", "<p>a</p><script>alert('x')", "a"},
		{"doctype and processing instruction", "<!DOCTYPE html><?xml version=\"1.0\"?><p>a</p>", "a"},
		{"lone less-than", "<p>1 < 2 and 3 <= 4, x<3</p>", "1 < 2 and 3 <= 4, x<3"},
		{"less-than at end", "a <", "a <"},
		{"bogus end tag", "a </ b", "a </ b"},
		{"tag open at end", "<p>a</p><a href=\"x", "a"},
		{"tag without end", "<p>a</p><b", "a"},
		{"quoted greater-than in attribute", `<p><a href="https://x.example/?a>b" class="x">link</a> after</p>`, "link after"},
		{"single quotes and unquoted", `<p><a href='https://a.example/' title=x>one</a> <a href=https://b.example/>two</a></p>`, "one two"},
		{"uppercase tags", "<P>A<BR>B</P>", "A\nB"},
		{"unclosed elements", "<p><b>bold <i>both", "bold both"},
		{"stray end tags", "</p></b>text</a></span>", "text"},
		{"hostile control and bidi kept for the formatter", "<p>\u202etxt.exe \u200b</p>", "\u202etxt.exe \u200b"},
		{"non-English", "<p>今日は<a href=\"https://mstdn.example/tags/python\" class=\"mention hashtag\" rel=\"tag\">#<span>python</span></a>の勉強会</p>", "今日は#pythonの勉強会"},
		{"invalid UTF-8 passes through", "<p>a\xffb</p>", "a\xffb"},
		{"malformed entity", "<p>&zzzz; &#xZZ; &</p>", "&zzzz; &#xZZ; &"},
		{"legacy entity without semicolon, as browsers read it", "<p>&notit; &copy 2024</p>", "¬it; © 2024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PlainText(tt.in); got != tt.want {
				t.Errorf("PlainText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStripHTMLLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []stream.URL
	}{
		{"none", "<p>hi</p>", nil},
		{"plain link", `<a href="https://blog.example/post">x</a>`, []stream.URL{{Expanded: "https://blog.example/post", Display: "blog.example/post"}}},
		{"mentions and hashtags skipped", `<a href="https://s.example/@a" class="u-url mention">@a</a> <a href="https://s.example/tags/b" class="mention hashtag" rel="tag">#b</a> <a href="https://s.example/tags/c" rel="tag">#c</a>`, nil},
		{"non-http skipped", `<a href="javascript:alert(1)">x</a><a href="mailto:a@b.example">m</a><a href="/relative">r</a><a href="https://">empty</a>`, nil},
		{"entities in href decoded", `<a href="https://x.example/?a=1&amp;b=2">q</a>`, []stream.URL{{Expanded: "https://x.example/?a=1&b=2", Display: "x.example/?a=1&b=2"}}},
		{"duplicates dropped, order kept", `<a href="http://b.example/">b</a><a href="https://a.example/">a</a><a href="http://b.example/">b</a>`,
			[]stream.URL{{Expanded: "http://b.example/", Display: "b.example/"}, {Expanded: "https://a.example/", Display: "a.example/"}}},
		{"nested anchors", `<a href="https://one.example/">1<a href="https://two.example/">2</a>`,
			[]stream.URL{{Expanded: "https://one.example/", Display: "one.example/"}, {Expanded: "https://two.example/", Display: "two.example/"}}},
		{"unclosed anchor at end", `<a href="https://open.example/">text`, []stream.URL{{Expanded: "https://open.example/", Display: "open.example/"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := stripHTML(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("links of %q\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

// A pathological input must not take more than linear time: deeply nested
// tags, a million '<', unterminated quotes.
func TestPlainTextHostileSizes(t *testing.T) {
	t.Parallel()
	inputs := map[string]string{
		"nested":        strings.Repeat("<b>", 200_000) + "x" + strings.Repeat("</b>", 200_000),
		"less-thans":    strings.Repeat("<", 1_000_000),
		"open quotes":   strings.Repeat(`<a href="`, 100_000),
		"comment opens": strings.Repeat("<!--", 200_000),
		"breaks":        strings.Repeat("<br>", 200_000) + "end",
		"entities":      strings.Repeat("&amp;", 200_000),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			out := PlainText(in)
			if len(out) > len(in) {
				t.Errorf("output (%d bytes) longer than input (%d)", len(out), len(in))
			}
			// Generous: linear work on a megabyte takes milliseconds; a
			// quadratic scan would take minutes.
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	if got := PlainText(strings.Repeat("<br>", 1000) + "end"); got != "end" {
		t.Errorf("leading breaks: %q", got)
	}
}
