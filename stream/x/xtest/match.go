package xtest

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/streambot/streambot/stream"
)

// MaxRuleLength is the longest rule value the server accepts, in
// characters: X's limit for the Pro plan (Basic allows 512, Enterprise
// 2,048).
const MaxRuleLength = 1024

// matcher is a compiled rule: a disjunction of conjunctions of atoms. X
// applies AND (a space) before OR, so "a b OR c" is (a AND b) OR c.
type matcher struct {
	any [][]atom
}

// atom is one term of a rule, possibly negated.
type atom struct {
	neg  bool
	kind atomKind
	// tokens of a keyword or phrase; the lowercased operand otherwise.
	tokens []string
	arg    string
}

type atomKind uint8

const (
	keyword atomKind = iota // python, "exact phrase"
	hashtag                 // #go
	mention                 // @golang
	from                    // from:username or from:id
	lang                    // lang:en (not standalone)
	is                      // is:retweet, is:reply, is:quote (not standalone)
	has                     // has:hashtags, has:links, has:mentions (not standalone)
)

// standalone reports whether an atom may make up a rule alone (X requires
// a non-negated standalone operator in every clause).
func (a atom) standalone() bool { return a.kind <= from }

// compile parses a rule value. Its error is the detail X's answer carries.
//
// Supported: keywords (tokenized, case-insensitive), "quoted phrases",
// #hashtag, @mention, from:, lang:, is:retweet|reply|quote,
// has:hashtags|links|mentions, negation with a leading '-', AND by a space
// and OR (upper case). Not supported, and rejected so a test notices:
// parentheses and every other operator (url:, to:, conversation_id:,
// place:, sample:, ...).
func compile(value string) (*matcher, error) {
	if n := utf8.RuneCountInString(value); n > MaxRuleLength {
		return nil, fmt.Errorf("Rule is too long: %d characters, the limit is %d", n, MaxRuleLength)
	}
	words, err := lex(value)
	if err != nil {
		return nil, err
	}
	m := &matcher{}
	var clause []atom
	end := func(at string) error {
		if len(clause) == 0 {
			return fmt.Errorf("Ambiguous use of OR %s: OR needs a term on each side", at)
		}
		if !slices.ContainsFunc(clause, func(a atom) bool { return !a.neg && a.standalone() }) {
			return fmt.Errorf("Rules must contain a non-negation term that is a standalone operator (keyword, phrase, #hashtag, @mention or from:)")
		}
		m.any = append(m.any, clause)
		clause = nil
		return nil
	}
	for i, w := range words {
		if w.text == "OR" && !w.quoted {
			if err := end(fmt.Sprintf("at word %d", i+1)); err != nil {
				return nil, err
			}
			continue
		}
		a, err := parseAtom(w)
		if err != nil {
			return nil, err
		}
		clause = append(clause, a)
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("Rule is empty")
	}
	if err := end("at the end"); err != nil {
		return nil, err
	}
	return m, nil
}

// word is one lexeme of a rule.
type word struct {
	text   string
	quoted bool
	neg    bool
}

// lex splits a rule into words and quoted phrases.
func lex(value string) ([]word, error) {
	var out []word
	rs := []rune(value)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
			continue
		case r == '(' || r == ')':
			return nil, fmt.Errorf("xtest does not support grouping with parentheses (at character %d)", i+1)
		}
		neg := false
		if r == '-' {
			neg = true
			i++
			if i == len(rs) || unicode.IsSpace(rs[i]) {
				return nil, fmt.Errorf("A lone '-' (at character %d) must precede a term", i)
			}
		}
		if rs[i] == '"' {
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("Unterminated quoted phrase (at character %d)", i+1)
			}
			out = append(out, word{text: string(rs[i+1 : j]), quoted: true, neg: neg})
			i = j + 1
			continue
		}
		j := i
		for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '(' && rs[j] != ')' {
			j++
		}
		out = append(out, word{text: string(rs[i:j]), neg: neg})
		i = j
	}
	return out, nil
}

func parseAtom(w word) (atom, error) {
	a := atom{neg: w.neg}
	text := w.text
	if w.quoted {
		a.tokens = tokenize(text)
		if len(a.tokens) == 0 {
			return a, fmt.Errorf("The phrase %q has no letters or digits", text)
		}
		return a, nil
	}
	switch {
	case strings.HasPrefix(text, "#") && len(text) > 1:
		a.kind, a.arg = hashtag, strings.ToLower(text[1:])
		return a, nil
	case strings.HasPrefix(text, "@") && len(text) > 1:
		a.kind, a.arg = mention, strings.ToLower(text[1:])
		return a, nil
	}
	if op, arg, ok := strings.Cut(text, ":"); ok && isOperator(op) {
		arg = strings.ToLower(arg)
		if arg == "" {
			return a, fmt.Errorf("The operator %s: needs a value", op)
		}
		switch op {
		case "from":
			a.kind, a.arg = from, strings.TrimPrefix(arg, "@")
		case "lang":
			a.kind, a.arg = lang, arg
		case "is":
			if arg != "retweet" && arg != "reply" && arg != "quote" {
				return a, fmt.Errorf("xtest does not support is:%s (only is:retweet, is:reply and is:quote)", arg)
			}
			a.kind, a.arg = is, arg
		case "has":
			if arg != "hashtags" && arg != "links" && arg != "mentions" {
				return a, fmt.Errorf("xtest does not support has:%s (only has:hashtags, has:links and has:mentions)", arg)
			}
			a.kind, a.arg = has, arg
		default:
			return a, fmt.Errorf("xtest does not support the operator %s: (only from:, lang:, is: and has:)", op)
		}
		return a, nil
	}
	a.tokens = tokenize(text)
	if len(a.tokens) == 0 {
		return a, fmt.Errorf("The keyword %q has no letters or digits", text)
	}
	return a, nil
}

// isOperator reports whether op looks like an X operator name (letters and
// underscores), as opposed to a keyword with a colon such as "10:30".
func isOperator(op string) bool {
	if op == "" {
		return false
	}
	for _, r := range op {
		if !(r >= 'a' && r <= 'z' || r == '_') {
			return false
		}
	}
	return true
}

// tokenize lowercases s and splits it into tokens the way X tokenizes
// posts for keyword matching (an approximation): at every rune that is not
// a letter, a digit or a mark, and around each Han, Hiragana, Katakana,
// Hangul and Thai rune, which is a token of its own (these scripts do not
// separate words with spaces), so "Pythonで書いた" holds "python".
func tokenize(s string) []string {
	var out []string
	start := -1
	s = strings.ToLower(s)
	for i, r := range s {
		switch {
		case isCJK(r):
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			out = append(out, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if start < 0 {
				start = i
			}
		default:
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

var cjk = []*unicode.RangeTable{unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Thai}

func isCJK(r rune) bool { return r >= 0x0e00 && unicode.In(r, cjk...) }

// target is what a rule is matched against: a post's decoded status and
// its tokenized text.
type target struct {
	s      *stream.Status
	tokens []string
}

func newTarget(s *stream.Status) *target { return &target{s: s, tokens: tokenize(s.Text)} }

// match reports whether the post matches the rule.
func (m *matcher) match(t *target) bool {
	for _, clause := range m.any {
		if !slices.ContainsFunc(clause, func(a atom) bool { return a.match(t) == a.neg }) {
			return true
		}
	}
	return false
}

func (a atom) match(t *target) bool {
	s := t.s
	switch a.kind {
	case keyword:
		return containsRun(t.tokens, a.tokens)
	case hashtag:
		return slices.ContainsFunc(s.Hashtags, func(h string) bool { return strings.EqualFold(h, a.arg) })
	case mention:
		return slices.ContainsFunc(s.Mentions, func(m string) bool { return strings.EqualFold(m, a.arg) })
	case from:
		return strings.EqualFold(s.Author.ScreenName, a.arg) || s.Author.ID == a.arg
	case lang:
		return strings.EqualFold(s.Lang, a.arg)
	case is:
		switch a.arg {
		case "retweet":
			return s.IsRetweet
		case "reply":
			return s.IsReply
		default:
			return s.IsQuote
		}
	case has:
		switch a.arg {
		case "hashtags":
			return len(s.Hashtags) > 0
		case "mentions":
			return len(s.Mentions) > 0
		default:
			return len(s.URLs) > 0
		}
	}
	return false
}

// containsRun reports whether want occurs in have as consecutive tokens.
func containsRun(have, want []string) bool {
	for i := 0; i+len(want) <= len(have); i++ {
		if slices.Equal(have[i:i+len(want)], want) {
			return true
		}
	}
	return false
}
