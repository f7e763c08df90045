package telegram

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/streambot/streambot/handlers/telegram/telegramtest"
	"github.com/streambot/streambot/stream"
)

func mustFormatter(t *testing.T, tmpl string, split bool) *Formatter {
	t.Helper()
	f, err := NewFormatter(tmpl, split)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFormatEscapesHostileText(t *testing.T) {
	t.Parallel()
	const link = "\n<a href=\"https://x.com/evil/status/1\">https://x.com/evil/status/1</a>"
	tests := []struct {
		name string
		s    stream.Status
		want string
	}{
		{
			name: "plain",
			s: stream.Status{Author: stream.Author{ScreenName: "evil", Name: "Eve"}, Text: "hello\nworld",
				URL: "https://x.com/evil/status/1"},
			want: "<b>Eve</b> (@evil)\nhello\nworld" + link,
		},
		{
			name: "script and entities",
			s: stream.Status{Author: stream.Author{ScreenName: "evil", Name: "<script>alert(1)</script>"},
				Text: "<script>alert('x')</script> &amp; & <b>bold</b>", URL: "https://x.com/evil/status/1"},
			want: "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b> (@evil)\n&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;amp; &amp; &lt;b&gt;bold&lt;/b&gt;" + link,
		},
		{
			name: "closing the link and opening another",
			s: stream.Status{Author: stream.Author{ScreenName: "evil", Name: "Eve"},
				Text: `</a><a href="javascript:alert(1)">click</a>`, URL: "https://x.com/evil/status/1"},
			want: "<b>Eve</b> (@evil)\n&lt;/a&gt;&lt;a href=&#34;javascript:alert(1)&#34;&gt;click&lt;/a&gt;" + link,
		},
		{
			name: "control, bidi and zero-width characters",
			s: stream.Status{Author: stream.Author{ScreenName: "evil\u202e", Name: "Mal\u202elory\nNewline\x00"},
				Text: "a\x1b[31mred\r\nb\u2066c\u2069\u200e\td\u200b\u200d\u200ce\x7f\u0085f\ufffe", URL: "https://x.com/evil/status/1"},
			want: "<b>Mallory Newline</b> (@evil)\na[31mred\nbc d\u200b\u200d\u200cef" + link,
		},
		{
			name: "invalid UTF-8",
			s:    stream.Status{Author: stream.Author{ScreenName: "evil"}, Text: "bad \xff byte", URL: "https://x.com/evil/status/1"},
			want: "<b>@evil</b>\nbad \ufffd byte" + link,
		},
		{
			name: "javascript URL gets no link",
			s:    stream.Status{Author: stream.Author{ScreenName: "evil", Name: "Eve"}, Text: "t", URL: "javascript:alert(1)"},
			want: "<b>Eve</b> (@evil)\nt",
		},
		{
			name: "quotes in the URL stay inside the attribute",
			s:    stream.Status{Author: stream.Author{ScreenName: "evil", Name: "Eve"}, Text: "t", URL: `https://x.com/a"><b>x`},
			want: "<b>Eve</b> (@evil)\nt\n<a href=\"https://x.com/a&#34;&gt;&lt;b&gt;x\">https://x.com/a&#34;&gt;&lt;b&gt;x</a>",
		},
		{
			name: "emoji kept",
			s:    stream.Status{Author: stream.Author{ScreenName: "evil", Name: "👩‍💻 Eve"}, Text: "🎉 👨‍👩‍👧‍👦 🏳️‍🌈", URL: "https://x.com/evil/status/1"},
			want: "<b>👩‍💻 Eve</b> (@evil)\n🎉 👨‍👩‍👧‍👦 🏳️‍🌈" + link,
		},
	}
	f := mustFormatter(t, "", false)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msgs, err := f.Format(&tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0] != tc.want {
				t.Errorf("got  %q\nwant %q", msgs, tc.want)
			}
			for _, m := range msgs {
				if _, err := telegramtest.ParseHTML(m); err != nil {
					t.Errorf("Telegram would not parse %q: %v", m, err)
				}
			}
		})
	}
}

func TestFormatLength(t *testing.T) {
	t.Parallel()
	emoji := strings.Repeat("😀", 10000)       // 20,000 UTF-16 units
	family := strings.Repeat("👨‍👩‍👧‍👦", 2000) // joiner sequences
	amps := strings.Repeat("&<>", 3000)       // entities count as one character each
	words := strings.Repeat("lorem ipsum dolor ", 700)
	lines := strings.Repeat("a line of text\n", 700)
	tests := []struct {
		name  string
		text  string
		split bool
	}{
		{"emoji truncated", emoji, false},
		{"emoji split", emoji, true},
		{"family truncated", family, false},
		{"family split", family, true},
		{"entities truncated", amps, false},
		{"entities split", amps, true},
		{"words truncated", words, false},
		{"words split", words, true},
		{"lines split", lines, true},
		{"exactly fits", strings.Repeat("x", MaxMessageLen-len("<b>@a</b>\n\nhttps://x.com/a/status/1")+len("<b></b>")), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := mustFormatter(t, "", tc.split)
			s := &stream.Status{Author: stream.Author{ScreenName: "a"}, Text: tc.text, URL: "https://x.com/a/status/1"}
			msgs, err := f.Format(s)
			if err != nil {
				t.Fatal(err)
			}
			var visible strings.Builder
			for i, m := range msgs {
				v, err := telegramtest.ParseHTML(m)
				if err != nil {
					t.Fatalf("message %d does not parse: %v", i, err)
				}
				if n := telegramtest.UTF16Len(v); n > MaxMessageLen {
					t.Errorf("message %d is %d UTF-16 units", i, n)
				}
				if !utf8.ValidString(m) {
					t.Errorf("message %d is not valid UTF-8", i)
				}
				if strings.HasPrefix(v, "\u200d") || strings.HasSuffix(v, "\u200d") || strings.HasSuffix(v, "\u200d…") {
					t.Errorf("message %d splits a joiner sequence: ...%q", i, v[max(0, len(v)-20):])
				}
				visible.WriteString(v)
			}
			last := msgs[len(msgs)-1]
			if !strings.HasSuffix(last, "\n<a href=\"https://x.com/a/status/1\">https://x.com/a/status/1</a>") {
				t.Errorf("the last message lost the link: ...%q", last[max(0, len(last)-80):])
			}
			if !strings.HasPrefix(msgs[0], "<b>@a</b>\n") {
				t.Errorf("the first message lost the header: %q...", msgs[0][:20])
			}
			fits := telegramtest.UTF16Len(tc.text)+telegramtest.UTF16Len("@a\n\nhttps://x.com/a/status/1") <= MaxMessageLen
			switch {
			case fits:
				if len(msgs) != 1 || strings.Contains(msgs[0], "…") {
					t.Errorf("a text that fits was cut: %d messages", len(msgs))
				}
			case tc.split:
				if len(msgs) < 2 {
					t.Errorf("split into %d messages", len(msgs))
				}
				// Nothing is lost but the separators at the cuts.
				got := strings.Map(dropSpace, visible.String())
				want := strings.Map(dropSpace, "@a"+tc.text+"https://x.com/a/status/1")
				if got != want {
					t.Errorf("split lost text: %d runes, want %d", utf8.RuneCountInString(got), utf8.RuneCountInString(want))
				}
			default:
				if len(msgs) != 1 || !strings.Contains(msgs[0], "…\n<a href") {
					t.Errorf("truncation: %d messages, want one ending in …", len(msgs))
				}
				if n := telegramtest.UTF16Len(visible.String()); n < MaxMessageLen-MaxMessageLen/10-2 {
					t.Errorf("truncated to %d units, much shorter than needed", n)
				}
			}
		})
	}
}

func dropSpace(r rune) rune {
	if r == ' ' || r == '\n' {
		return -1
	}
	return r
}

func TestSplitCapsParts(t *testing.T) {
	t.Parallel()
	f := mustFormatter(t, "", true)
	msgs, err := f.Format(&stream.Status{Author: stream.Author{ScreenName: "a"}, Text: strings.Repeat("x", 100_000), URL: "https://x.com/a/status/1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != MaxParts {
		t.Fatalf("%d parts, want %d", len(msgs), MaxParts)
	}
	if last := msgs[MaxParts-1]; !strings.Contains(last, "…\n<a href") || VisibleLen(last) > MaxMessageLen {
		t.Errorf("the last part is not truncated before the link")
	}
}

func TestSplitReopensTemplateTags(t *testing.T) {
	t.Parallel()
	f := mustFormatter(t, `<b>{{.ScreenName}}</b> <i>said: <u>{{.Text}}</u></i> <a href="{{.URL}}">post</a>`, true)
	msgs, err := f.Format(&stream.Status{Author: stream.Author{ScreenName: "a"}, Text: strings.Repeat("word ", 2000), URL: "https://x.com/a/status/1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	for i, m := range msgs {
		if _, err := telegramtest.ParseHTML(m); err != nil {
			t.Errorf("message %d does not parse: %v", i, err)
		}
		if i > 0 && !strings.HasPrefix(m, "<i><u>word") {
			t.Errorf("message %d does not reopen the tags: %q", i, m[:20])
		}
		if i < 2 && !strings.HasSuffix(m, "word</u></i>") {
			t.Errorf("message %d does not close the tags: %q", i, m[len(m)-20:])
		}
	}
	if !strings.HasSuffix(msgs[2], `</u></i> <a href="https://x.com/a/status/1">post</a>`) {
		t.Errorf("last message: %q", msgs[2][len(msgs[2])-60:])
	}
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	s := &stream.Status{ID: "9", Source: "mock", Author: stream.Author{ScreenName: "a&b", Name: "A"},
		Text: "x < y", URL: "https://x.com/a/status/9", Hashtags: []string{"go<lang", "rust"}, Matched: []string{"phrase&1"},
		Routes: []string{"route<1>", "r2"}}
	tests := []struct {
		name, tmpl, want string
	}{
		{"fields are escaped once", `{{.Text}} by {{.ScreenName}}`, "x &lt; y by a&amp;b"},
		{"join helper", `{{join .Hashtags ", "}} [{{join .Matched "|"}}]`, "go&lt;lang, rust [phrase&amp;1]"},
		{"routes", `{{join .Routes ", "}}`, "route&lt;1&gt;, r2"},
		{"attribute", `<a href="{{.URL}}">{{.ID}}</a>`, `<a href="https://x.com/a/status/9">9</a>`},
		{"no text", `<b>{{.Source}}</b>`, "<b>mock</b>"},
		{"text twice", `{{.Text}}|{{.Text}}`, "x &lt; y|x &lt; y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msgs, err := mustFormatter(t, tc.tmpl, false).Format(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0] != tc.want {
				t.Errorf("got %q, want %q", msgs, tc.want)
			}
		})
	}
	// Text used twice is truncated so that both fit.
	long := &stream.Status{Text: strings.Repeat("y", 5000)}
	msgs, err := mustFormatter(t, `{{.Text}}|{{.Text}}`, true).Format(long)
	if err != nil || len(msgs) != 1 || VisibleLen(msgs[0]) > MaxMessageLen || VisibleLen(msgs[0]) < MaxMessageLen-2 {
		t.Errorf("text twice: %d messages of %d, err %v", len(msgs), VisibleLen(msgs[0]), err)
	}
}

func TestBadTemplates(t *testing.T) {
	t.Parallel()
	for _, tmpl := range []string{
		`{{.Text`,                               // does not parse
		`{{.Nope}}`,                             // unknown field
		`<script>{{.Text}}</script>`,            // tag Telegram does not know
		`<b>{{.Text}}`,                          // unclosed
		`<b>{{.Text}}</i>`,                      // mismatched
		`{{.Text}} & more`,                      // bare &
		`{{.Text}} < more`,                      // bare <
		"{{.Text}}\x00",                         // the placeholder
		strings.Repeat("x", 5000),               // no room for the text
		strings.Repeat("x", 4096) + "{{.Text}}", // no room for the text
	} {
		if _, err := NewFormatter(tmpl, false); err == nil {
			t.Errorf("NewFormatter(%.40q) succeeded", tmpl)
		} else if !strings.HasPrefix(err.Error(), "telegram: ") {
			t.Errorf("error %q lacks the component", err)
		}
	}
}

func TestVisibleLen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"<b>abc</b>", 3},
		{"&lt;&amp;&#39;&#x1F600;", 5},
		{"😀", 2},
		{"é", 1},
		{"a & b", 5},
		{"<a href=\"x\">link</a>", 4},
	} {
		if got := VisibleLen(tc.s); got != tc.want {
			t.Errorf("VisibleLen(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

func TestTruncateNeverSplitsCharacters(t *testing.T) {
	t.Parallel()
	for limit := 1; limit < 12; limit++ {
		for _, text := range []string{"😀😀😀😀😀😀😀😀", "a😀b😀c😀d😀e😀", "e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", "👍🏽👍🏽👍🏽👍🏽"} {
			got := truncate(text, limit)
			if n := telegramtest.UTF16Len(got); n > limit {
				t.Errorf("truncate(%q, %d) = %q, %d units", text, limit, got, n)
			}
			if !utf8.ValidString(got) || !strings.HasPrefix(text, strings.TrimSuffix(got, "…")) {
				t.Errorf("truncate(%q, %d) = %q", text, limit, got)
			}
		}
	}
}
