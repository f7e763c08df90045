package xtest

import (
	"slices"
	"strings"
	"testing"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/x"
)

func TestTokenize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"Python, #python! pythonic", []string{"python", "python", "pythonic"}},
		{"node.js C++ don't", []string{"node", "js", "c", "don", "t"}},
		{"Pythonで書いた", []string{"python", "で", "書", "い", "た"}},
		{"Café ÜBER straße", []string{"café", "über", "straße"}},
		{"10:30 @golang", []string{"10", "30", "golang"}},
		{"🐍\u200b\u202e", nil},
	}
	for _, tt := range tests {
		if got := tokenize(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Rule matching against small posts: what matches and what does not.
func TestMatch(t *testing.T) {
	t.Parallel()
	post := func(text string, mods ...func(*stream.Status)) *target {
		s := &stream.Status{Text: text, Lang: "en", Author: stream.Author{ID: "42", ScreenName: "Gopher"}}
		for _, m := range mods {
			m(s)
		}
		return newTarget(s)
	}
	tags := func(h ...string) func(*stream.Status) { return func(s *stream.Status) { s.Hashtags = h } }
	lang := func(l string) func(*stream.Status) { return func(s *stream.Status) { s.Lang = l } }
	retweet := func(s *stream.Status) { s.IsRetweet = true }
	tests := []struct {
		rule  string
		match []*target
		miss  []*target
	}{
		{"python",
			[]*target{post("I love Python"), post("#python rocks"), post("PYTHON!"), post("Pythonで書いた")},
			[]*target{post("pythonic code"), post("py thon"), post("")}},
		{"golang OR #go",
			[]*target{post("golang is fun"), post("so #go", tags("go")), post("Golang")},
			[]*target{post("go go go"), post("go home", tags("golang"))}},
		{`"data race"`,
			[]*target{post("found a Data Race today"), post("data-race")},
			[]*target{post("race data"), post("data and race")}},
		{"python -snake",
			[]*target{post("python code")},
			[]*target{post("python snake"), post("snake")}},
		{"python lang:en -is:retweet",
			[]*target{post("python")},
			[]*target{post("python", lang("de")), post("python", retweet)}},
		{"from:gopher OR @golang",
			[]*target{post("anything"), newTarget(&stream.Status{Text: "hi", Mentions: []string{"GoLang"}})},
			[]*target{newTarget(&stream.Status{Text: "hi @golang"})}},
		{"from:42", []*target{post("x")}, []*target{newTarget(&stream.Status{Text: "x", Author: stream.Author{ID: "43"}})}},
		{"go python OR rust", // AND before OR
			[]*target{post("go and python"), post("rust")},
			[]*target{post("go"), post("python")}},
		{`-"hello world" hello`,
			[]*target{post("hello there world")},
			[]*target{post("hello world")}},
		{"has:hashtags python", []*target{post("python", tags("x"))}, []*target{post("python")}},
		{"node.js", []*target{post("I use Node.js daily")}, []*target{post("node")}},
		{"or", []*target{post("this or that")}, []*target{post("xor")}},
	}
	for _, tt := range tests {
		m, err := compile(tt.rule)
		if err != nil {
			t.Errorf("compile(%q): %v", tt.rule, err)
			continue
		}
		for _, p := range tt.match {
			if !m.match(p) {
				t.Errorf("%q does not match %q", tt.rule, p.s.Text)
			}
		}
		for _, p := range tt.miss {
			if m.match(p) {
				t.Errorf("%q matches %q", tt.rule, p.s.Text)
			}
		}
	}
}

// Rules the fake cannot evaluate, or X would reject, are invalid with a
// detail that says why.
func TestCompileRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ rule, detail string }{
		{"", "empty"},
		{"   ", "empty"},
		{"(a OR b) c", "parentheses"},
		{"a OR", "OR needs a term"},
		{"OR a", "OR needs a term"},
		{"a OR OR b", "OR needs a term"},
		{"-python", "non-negation"},
		{"lang:en", "standalone"},
		{"is:retweet -python", "standalone"},
		{"url:github.com python", "does not support the operator url:"},
		{"is:verified python", "is:verified"},
		{"has:media python", "has:media"},
		{`"unterminated`, "Unterminated"},
		{"python -", "lone '-'"},
		{"from: python", "needs a value"},
		{"!!!", "no letters or digits"},
		{`"..."`, "no letters or digits"},
		{strings.Repeat("a ", 600), "too long"},
	}
	for _, tt := range tests {
		_, err := compile(tt.rule)
		if err == nil || !strings.Contains(err.Error(), tt.detail) {
			t.Errorf("compile(%q) = %v, want an error about %q", tt.rule, err, tt.detail)
		}
	}
}

// The corpus is what its documentation says, under the rules the tests use.
func TestCorpus(t *testing.T) {
	t.Parallel()
	lines := Corpus()
	if len(lines) != 21 {
		t.Fatalf("%d lines", len(lines))
	}
	lines[0][0] = 'X'
	if Corpus()[0][0] != '{' {
		t.Error("Corpus returns shared slices")
	}
	py, _ := compile("python")
	golang, _ := compile("golang OR #go")
	var nPy, nGo, both, notes, retweets, quotes, replies int
	langs := map[string]bool{}
	for _, line := range Corpus() {
		ev, err := x.Decode(line)
		if err != nil || ev.Kind != stream.KindStatus || ev.Status.Author.ScreenName == "" || ev.Status.CreatedAt.IsZero() {
			t.Fatalf("corpus line %s: %+v, %v", line, ev, err)
		}
		s, tg := ev.Status, newTarget(ev.Status)
		p, g := py.match(tg), golang.match(tg)
		nPy += b2i(p)
		nGo += b2i(g)
		both += b2i(p && g)
		notes += b2i(strings.Contains(string(line), `"note_tweet"`))
		retweets += b2i(s.IsRetweet)
		quotes += b2i(s.IsQuote)
		replies += b2i(s.IsReply)
		langs[s.Lang] = true
		if s.IsRetweet && !strings.HasPrefix(s.Text, "RT @") {
			t.Errorf("retweet %s text %q", s.ID, s.Text)
		}
	}
	if nPy != 11 || nGo != 6 || both != 1 || notes != 2 || retweets != 2 || quotes != 1 || replies != 2 || len(langs) != 5 {
		t.Errorf("python %d, golang %d, both %d, notes %d, retweets %d, quotes %d, replies %d, langs %v",
			nPy, nGo, both, notes, retweets, quotes, replies, langs)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
