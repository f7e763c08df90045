package track

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/streambot/streambot/stream"
)

func TestMatchDocumentedRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		expr   string
		status stream.Status
		want   bool
	}{
		// Twitter's documented examples for "Twitter".
		{"upper case", "Twitter", stream.Status{Text: "TWITTER is down"}, true},
		{"quoted", "Twitter", stream.Status{Text: `he said "Twitter"`}, true},
		{"trailing period", "Twitter", stream.Status{Text: "I like twitter."}, true},
		{"hashtag entity", "Twitter", stream.Status{Text: "#twitter", Hashtags: []string{"twitter"}}, true},
		{"mention entity", "Twitter", stream.Status{Text: "@twitter hi", Mentions: []string{"twitter"}}, true},
		{"prefix of a longer word", "Twitter", stream.Status{Text: "TwitterTracker rocks"}, false},
		{"other hashtag", "Twitter", stream.Status{Text: "#newtwitter", Hashtags: []string{"newtwitter"}}, false},
		{"hashtag in text without entity is not a word", "python", stream.Status{Text: "#python"}, false},
		// Punctuation belongs to the term.
		{"term with punctuation", "hello.", stream.Status{Text: "hello world"}, false},
		{"term with punctuation matches as written", "hello.", stream.Status{Text: "say hello. now"}, true},
		{"apostrophe term", "Twitter's", stream.Status{Text: "I like Twitter's new design"}, true},
		{"apostrophe term vs mention", "Twitter's", stream.Status{Text: "visit @Twitter's office", Mentions: []string{"Twitter"}}, false},
		{"punctuation in tweet ignored", "hello", stream.Status{Text: "my brother says hello."}, true},
		{"leading punctuation ignored", "python", stream.Status{Text: "(python) rocks"}, true},
		// AND and OR.
		{"and all present any order", "twitter api", stream.Status{Text: "The API of Twitter"}, true},
		{"and one missing", "twitter api", stream.Status{Text: "I'm new to Twitter"}, false},
		{"or second phrase", "twitter api,twitter streaming", stream.Status{Text: "twitter streaming is fast"}, true},
		{"or neither", "golang,rust", stream.Status{Text: "python only"}, false},
		{"and across text and hashtag", "python release", stream.Status{Text: "new release!", Hashtags: []string{"Python"}}, true},
		{"repeated term counts once", "go go", stream.Status{Text: "go"}, true},
		// Unicode.
		{"accent exact", "touché", stream.Status{Text: "Touché!"}, true},
		{"accent not folded", "touché", stream.Status{Text: "touche"}, false},
		{"unicode case fold", "straße", stream.Status{Text: "STRASSE Straße"}, true},
		{"greek", "πύθων", stream.Status{Text: "Ο Πύθων"}, true},
		{"emoji around word", "python", stream.Status{Text: "🐍python🐍"}, true},
		{"non-breaking space separates", "python", stream.Status{Text: "love\u00a0python"}, true},
		// URLs match whole, through entities.
		{"domain in text", "example.com", stream.Status{Text: "Someday I will visit example.com"}, true},
		{"domain vs longer url", "example.com", stream.Status{Text: "see https://t.co/x", URLs: []stream.URL{{Expanded: "http://example.com/foobarbaz", Display: "example.com/foobarbaz"}}}, false},
		{"full url with www canonicalized", "example.com/foobarbaz", stream.Status{URLs: []stream.URL{{Expanded: "https://www.example.com/foobarbaz"}}}, true},
		{"www in term canonicalized", "www.example.com/foobarbaz", stream.Status{URLs: []stream.URL{{Expanded: "https://example.com/foobarbaz"}}}, true},
		{"display url with ellipsis", "python.org/downloads", stream.Status{URLs: []stream.URL{{Display: "python.org/downloads…"}}}, true},
		{"t.co link in text is not a word", "t.co", stream.Status{Text: "https://t.co/abc"}, false},
		{"bare domain url", "python.org", stream.Status{URLs: []stream.URL{{Expanded: "https://www.python.org/"}}}, true},
		// Words are whole.
		{"pythonic is not python", "python", stream.Status{Text: "very pythonic code"}, false},
		{"pythonista hashtag", "python", stream.Status{Hashtags: []string{"pythonista"}}, false},
		{"empty status", "python", stream.Status{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := Compile(tc.expr)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.expr, err)
			}
			if got := m.Match(&tc.status); got != tc.want {
				t.Errorf("Compile(%q).Match(%+v) = %v, want %v", tc.expr, tc.status, got, tc.want)
			}
			// AppendMatches must agree with Match.
			if got := len(m.AppendMatches(nil, &tc.status)) > 0; got != tc.want {
				t.Errorf("AppendMatches disagrees with Match: %v", got)
			}
		})
	}
}

func TestAppendMatchesListsPhrasesInOrder(t *testing.T) {
	t.Parallel()
	m := MustCompile("rust, python ,go generics,java")
	s := &stream.Status{Text: "python and rust with generics in Go"}
	got := m.AppendMatches(nil, s)
	want := []string{"rust", "python", "go generics"}
	if !slices.Equal(got, want) {
		t.Errorf("AppendMatches = %q, want %q", got, want)
	}
	if ph := m.Phrases(); !slices.Equal(ph, []string{"rust", "python", "go generics", "java"}) {
		t.Errorf("Phrases = %q", ph)
	}
	if m.String() != "rust, python ,go generics,java" {
		t.Errorf("String = %q", m.String())
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	if _, err := Compile(""); !errors.Is(err, ErrEmpty) {
		t.Errorf("Compile(\"\") error = %v, want ErrEmpty", err)
	}
	if _, err := Compile(" , ,"); !errors.Is(err, ErrEmpty) {
		t.Errorf("Compile(commas) error = %v, want ErrEmpty", err)
	}
	if _, err := Compile(strings.Repeat("a", MaxPhraseBytes)); err != nil {
		t.Errorf("a %d-byte phrase must compile: %v", MaxPhraseBytes, err)
	}
	if _, err := Compile(strings.Repeat("a", MaxPhraseBytes+1)); err == nil || !strings.Contains(err.Error(), "60") {
		t.Errorf("a %d-byte phrase: error = %v, want one naming the limit", MaxPhraseBytes+1, err)
	}
	phrases := make([]string, MaxPhrases+1)
	for i := range phrases {
		phrases[i] = "w" + strings.Repeat("x", i%50) + string(rune('a'+i%26))
	}
	if _, err := Compile(strings.Join(phrases[:MaxPhrases], ",")); err != nil {
		t.Errorf("%d phrases must compile: %v", MaxPhrases, err)
	}
	if _, err := Compile(strings.Join(phrases, ",")); err == nil {
		t.Errorf("%d phrases compiled, want an error", MaxPhrases+1)
	}
}

func TestMatchManyPhrases(t *testing.T) {
	t.Parallel()
	// The last of 400 phrases, and multi-term phrases beyond the first 64,
	// must still be found.
	var phrases []string
	for i := range MaxPhrases {
		phrases = append(phrases, "term"+strings.Repeat("q", i%40)+" x"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	m := MustCompile(strings.Join(phrases, ","))
	last := phrases[len(phrases)-1]
	s := &stream.Status{Text: "noise " + last + " more"}
	if got := m.AppendMatches(nil, s); !slices.Contains(got, last) {
		t.Errorf("AppendMatches = %q, want it to contain %q", got, last)
	}
}

func TestMatcherConcurrentUse(t *testing.T) {
	t.Parallel()
	m := MustCompile("python,go generics")
	yes := &stream.Status{Text: "Generics in Go"}
	no := &stream.Status{Text: "generics in java"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				if !m.Match(yes) || m.Match(no) {
					t.Error("concurrent Match returned a wrong answer")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestMatchDoesNotAllocate(t *testing.T) {
	m := MustCompile("python,go generics,rust")
	s := &stream.Status{
		Text:     "Ünïcode TEXT about Generics and the GO language, not about snakes https://t.co/x",
		Hashtags: []string{"Golang"}, Mentions: []string{"gopher"},
		URLs: []stream.URL{{Expanded: "https://go.dev/blog", Display: "go.dev/blog"}},
	}
	if allocs := testing.AllocsPerRun(100, func() { m.Match(s) }); allocs != 0 {
		t.Errorf("Match allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkMatch(b *testing.B) {
	s := &stream.Status{
		Text: "Just shipped a new release of our data pipeline. It is written in Go with a few " +
			"Python scripts for the notebooks, and it finally runs on ARM. Thanks everyone who " +
			"tested the betas! Details in the blog post: https://t.co/abcdef",
		Hashtags: []string{"golang", "DataEngineering"},
		Mentions: []string{"gopher", "someone"},
		URLs:     []stream.URL{{Expanded: "https://example.com/blog/release-2", Display: "example.com/blog/release…"}},
	}
	for _, n := range []int{1, 100, 400} {
		var phrases []string
		for i := range n {
			phrases = append(phrases, "kw"+strings.Repeat("z", i%30)+string(rune('a'+i%26))+" extra"+string(rune('a'+i/26)))
		}
		phrases[n-1] = "zebra" // no phrase matches: the whole status is scanned
		m := MustCompile(strings.Join(phrases, ","))
		b.Run(strconv.Itoa(n)+"phrases", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Match(s)
			}
		})
	}
}

// referenceNextWord is nextWord as first written, with the unicode
// package's functions only: the ASCII tables of nextWord must split and
// trim exactly as it does.
func referenceNextWord(text string) (raw, trimmed, rest string) {
	for {
		i := strings.IndexFunc(text, func(r rune) bool { return !unicode.IsSpace(r) })
		if i < 0 {
			return "", "", ""
		}
		text = text[i:]
		j := strings.IndexFunc(text, unicode.IsSpace)
		if j < 0 {
			j = len(text)
		}
		w := text[:j]
		text = text[j:]
		if w[0] == '#' || w[0] == '@' || strings.HasPrefix(w, "＃") || strings.HasPrefix(w, "＠") ||
			hasPrefixFold(w, "http://") || hasPrefixFold(w, "https://") {
			continue
		}
		if t := strings.TrimFunc(w, isEdgePunct); t != "" {
			return w, t, text
		}
	}
}

func FuzzNextWord(f *testing.F) {
	for _, s := range []string{
		"Just shipped a release! (finally) — thanks, everyone…",
		"#python @gopher https://x.co HTTP://Y.CO Https://z ＃タグ ＠名前 ḥttp://no",
		"tabs\tand\nnewlines\r\vvertical\ffeed\u0085next\u00a0nbsp\u2003em\u3000ideographic",
		"«quoted» ¿qué? 'single' \"double\" [brackets] {braces} $dollar €euro ©©",
		"bad \xff utf8 \xe2\x82 cut \xf0\x9f\x90 snake 🐍 emoji 👍🏽",
		"", "   ", "...", "a", "!!!x!!!",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, want := text, text
		for range 1000 {
			var r1, t1, r2, t2 string
			r1, t1, got = nextWord(got)
			r2, t2, want = referenceNextWord(want)
			if r1 != r2 || t1 != t2 || got != want {
				t.Fatalf("nextWord(%q): (%q, %q, %q), reference (%q, %q, %q)", text, r1, t1, got, r2, t2, want)
			}
			if r1 == "" {
				return
			}
		}
	})
}

func TestPrefilterKeepsEveryTerm(t *testing.T) {
	t.Parallel()
	// Terms of every shape: the prefilter (length, first and last byte of
	// the lowercased term) must let each one through, in any case.
	terms := []string{"python", "Go", "x", "ÜBER", "İstanbul", "straße", "日本語", "example.com", "c++", "k8s", "ǅemal", "ΣΊΣΥΦΟΣ", "1234"}
	m := MustCompile(strings.Join(terms, ","))
	for _, term := range terms {
		words := []string{term, strings.ToUpper(term), strings.ToLower(term)}
		if trimEdgePunct(term) == term {
			words = append(words, "("+term+")!") // edge punctuation is trimmed
		}
		for _, word := range words {
			s := &stream.Status{Text: "before " + word + " after"}
			if got := m.AppendMatches(nil, s); !slices.Contains(got, term) {
				t.Errorf("text %q matched %q, want %q among them", s.Text, got, term)
			}
		}
	}
	if m.Match(&stream.Status{Text: "pythons gopher xx über-alles www.example.com c"}) {
		t.Error("near misses matched")
	}
}
