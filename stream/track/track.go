package track

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/streambot/streambot/stream"
)

// Twitter's documented limits for a track parameter.
const (
	// MaxPhraseBytes is the longest phrase Twitter accepts.
	MaxPhraseBytes = 60
	// MaxPhrases is how many phrases one expression may hold.
	MaxPhrases = 400
	// maxTermsPerPhrase bounds terms so a phrase's progress fits a uint32 mask;
	// a 60-byte phrase has at most 30.
	maxTermsPerPhrase = 32
	// maxTokenBytes: longer words cannot equal a term (lowercasing changes a
	// rune's length by at most a factor of 3/2), so they are skipped.
	maxTokenBytes = 4 * MaxPhraseBytes
)

// ErrEmpty is returned by Compile for an expression without any phrase.
var ErrEmpty = errors.New("track: empty expression")

// Matcher tests statuses against a compiled track expression.
type Matcher struct {
	expr    string
	phrases []phrase
	// terms maps a lowercased term to the phrases that contain it.
	terms map[string][]ref
	multi int // number of phrases with more than one term
	pool  sync.Pool
	// maybe has the signature bit (see signature) of every term set: a word
	// whose bit is clear is no term, without a map lookup. Most words of a
	// status are not terms.
	maybe [1 << 16 / 64]uint64
}

// signature hashes a term (or a lowercased word) of n bytes that starts
// with first and ends with last into 16 bits.
func signature(n int, first, last byte) uint32 {
	return uint32(n&63)<<10 | uint32(first&31)<<5 | uint32(last&31)
}

func (m *Matcher) mayContain(sig uint32) bool { return m.maybe[sig/64]&(1<<(sig%64)) != 0 }

type phrase struct {
	text  string
	full  uint32 // mask with one bit per distinct term
	multi int    // index among multi-term phrases, -1 for single-term
}

type ref struct {
	phrase int
	bit    uint32
}

// Compile parses a track expression such as "python,golang generics".
// It reports an error for an empty expression, a phrase over 60 bytes, or
// more than 400 phrases.
func Compile(expr string) (*Matcher, error) {
	m := &Matcher{expr: expr, terms: make(map[string][]ref)}
	for raw := range strings.SplitSeq(expr, ",") {
		p := strings.TrimSpace(raw)
		if p == "" {
			continue
		}
		if len(p) > MaxPhraseBytes {
			return nil, fmt.Errorf("track: phrase %q is %d bytes, over Twitter's limit of %d", p, len(p), MaxPhraseBytes)
		}
		idx := len(m.phrases)
		ph := phrase{text: p, multi: -1}
		seen := map[string]uint32{}
		for _, t := range strings.Fields(p) {
			t = canonicalTerm(strings.ToLower(t))
			if _, dup := seen[t]; dup {
				continue
			}
			bit := uint32(1) << len(seen)
			seen[t] = bit
			ph.full |= bit
			m.terms[t] = append(m.terms[t], ref{phrase: idx, bit: bit})
			sig := signature(len(t), t[0], t[len(t)-1])
			m.maybe[sig/64] |= 1 << (sig % 64)
		}
		if len(seen) > maxTermsPerPhrase {
			return nil, fmt.Errorf("track: phrase %q has more than %d terms", p, maxTermsPerPhrase)
		}
		if len(seen) > 1 {
			ph.multi = m.multi
			m.multi++
		}
		m.phrases = append(m.phrases, ph)
	}
	if len(m.phrases) == 0 {
		return nil, ErrEmpty
	}
	if len(m.phrases) > MaxPhrases {
		return nil, fmt.Errorf("track: %d phrases, over Twitter's limit of %d", len(m.phrases), MaxPhrases)
	}
	return m, nil
}

// MustCompile is like Compile but panics on error. It is meant for
// expressions fixed in code, such as tests and examples.
func MustCompile(expr string) *Matcher {
	m, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return m
}

// String returns the expression the Matcher was compiled from.
func (m *Matcher) String() string { return m.expr }

// Phrases returns the phrases of the expression in their original spelling.
func (m *Matcher) Phrases() []string {
	out := make([]string, len(m.phrases))
	for i, p := range m.phrases {
		out[i] = p.text
	}
	return out
}

// Match reports whether s matches any phrase.
func (m *Matcher) Match(s *stream.Status) bool {
	sc := m.newScan(nil)
	defer m.release(sc)
	sc.run(s)
	return sc.found
}

// AppendMatches appends the phrases that s matches to dst, in expression
// order, and returns the extended slice.
func (m *Matcher) AppendMatches(dst []string, s *stream.Status) []string {
	var hits [(MaxPhrases + 63) / 64]uint64 // one bit per phrase
	sc := m.newScan(hits[:])
	defer m.release(sc)
	sc.run(s)
	for i := range m.phrases {
		if hits[i/64]&(1<<(i%64)) != 0 {
			dst = append(dst, m.phrases[i].text)
		}
	}
	return dst
}

// scan is the state of one match: which terms of each multi-term phrase have
// been seen. It is pooled so that matching does not allocate.
type scan struct {
	m        *Matcher
	progress []uint32
	hits     []uint64 // nil: stop at the first hit
	found    bool
	buf      [maxTokenBytes]byte
}

func (m *Matcher) newScan(hits []uint64) *scan {
	sc, _ := m.pool.Get().(*scan)
	if sc == nil {
		sc = &scan{m: m, progress: make([]uint32, m.multi)}
	}
	clear(sc.progress)
	sc.hits, sc.found = hits, false
	return sc
}

func (m *Matcher) release(sc *scan) {
	sc.hits = nil
	m.pool.Put(sc)
}

// done reports whether scanning can stop.
func (sc *scan) done() bool { return sc.found && sc.hits == nil }

func (sc *scan) run(s *stream.Status) {
	text := s.Text
	for !sc.done() {
		var raw, trimmed string
		raw, trimmed, text = nextWord(text)
		if raw == "" {
			break
		}
		sc.lookup(raw)
		if trimmed != raw {
			sc.lookup(trimmed)
		}
	}
	for _, h := range s.Hashtags {
		sc.lookup(h)
	}
	for _, u := range s.Mentions {
		sc.lookup(u)
	}
	for _, u := range s.URLs {
		sc.lookup(canonicalURL(u.Expanded))
		sc.lookup(canonicalURL(u.Display))
	}
}

// lookup records the phrases that word (in any case) advances.
func (sc *scan) lookup(word string) {
	if sc.done() || word == "" || len(word) > maxTokenBytes {
		return
	}
	var refs []ref
	if isLowerASCII(word) {
		if !sc.m.mayContain(signature(len(word), word[0], word[len(word)-1])) {
			return
		}
		refs = sc.m.terms[word]
	} else {
		b := sc.buf[:0]
		for _, r := range word {
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
		if !sc.m.mayContain(signature(len(b), b[0], b[len(b)-1])) {
			return
		}
		refs = sc.m.terms[string(b)] // no allocation: the compiler looks up in place
	}
	for _, r := range refs {
		ph := &sc.m.phrases[r.phrase]
		if ph.multi >= 0 {
			sc.progress[ph.multi] |= r.bit
			if sc.progress[ph.multi] != ph.full {
				continue
			}
		}
		sc.found = true
		if sc.hits == nil {
			return
		}
		sc.hits[r.phrase/64] |= 1 << (r.phrase % 64)
	}
}

func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// nextWord returns the first word of text as written and with its edge
// punctuation trimmed, and the rest of text; raw is empty at the end. Words
// that are hashtags, mentions or links in the text are skipped: they match
// through the entities.
//
// Words are separated by unicode.IsSpace and trimmed of unicode.IsPunct and
// unicode.IsSymbol runes (a byte that is not UTF-8 counts as U+FFFD, a
// symbol). ASCII is classified by table; other runes are decoded.
func nextWord(text string) (raw, trimmed, rest string) {
	for {
		i := spaceEnd(text)
		if i == len(text) {
			return "", "", ""
		}
		text = text[i:]
		j := wordEnd(text)
		w := text[:j]
		text = text[j:]
		if isEntityWord(w) {
			continue
		}
		if t := trimEdgePunct(w); t != "" {
			return w, t, text
		}
	}
}

// asciiClass classifies ASCII bytes for nextWord.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range rune(utf8.RuneSelf) {
		switch {
		case unicode.IsSpace(c):
			t[c] = classSpace
		case isEdgePunct(c):
			t[c] = classPunct
		}
	}
	return t
}()

const (
	classSpace = 1 + iota
	classPunct
)

// spaceEnd returns the index of the first rune of s that is not a space,
// or len(s).
func spaceEnd(s string) int { return spanEnd(s, true) }

// wordEnd returns the index of the first space rune in s, or len(s).
func wordEnd(s string) int { return spanEnd(s, false) }

// spanEnd returns the index of the first rune of s whose being a space
// differs from space, or len(s).
func spanEnd(s string, space bool) int {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if (asciiClass[c] == classSpace) != space {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) != space {
			return i
		}
		i += size
	}
	return len(s)
}

// trimEdgePunct is strings.TrimFunc(w, isEdgePunct).
func trimEdgePunct(w string) string {
	for len(w) > 0 {
		if c := w[0]; c < utf8.RuneSelf {
			if asciiClass[c] != classPunct {
				break
			}
			w = w[1:]
			continue
		}
		r, size := utf8.DecodeRuneInString(w)
		if !isEdgePunct(r) {
			break
		}
		w = w[size:]
	}
	for len(w) > 0 {
		if c := w[len(w)-1]; c < utf8.RuneSelf {
			if asciiClass[c] != classPunct {
				break
			}
			w = w[:len(w)-1]
			continue
		}
		r, size := utf8.DecodeLastRuneInString(w)
		if !isEdgePunct(r) {
			break
		}
		w = w[:len(w)-size]
	}
	return w
}

func isEntityWord(w string) bool {
	switch w[0] {
	case '#', '@':
		return true
	case "＃"[0]: // also the first byte of "＠"
		return strings.HasPrefix(w, "＃") || strings.HasPrefix(w, "＠")
	case 'h', 'H': // nothing else folds to 'h'
		return hasPrefixFold(w, "http://") || hasPrefixFold(w, "https://")
	}
	return false
}

func isEdgePunct(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// canonicalURL drops the scheme, a leading "www.", a trailing slash and the
// ellipsis of a shortened display URL, so that links compare as Twitter
// compares them. The result is a substring of u: no allocation.
func canonicalURL(u string) string {
	if u == "" {
		return ""
	}
	if hasPrefixFold(u, "https://") {
		u = u[len("https://"):]
	} else if hasPrefixFold(u, "http://") {
		u = u[len("http://"):]
	}
	u = strings.TrimSuffix(u, "…")
	u = strings.TrimSuffix(u, "/")
	return canonicalTerm(u)
}

// canonicalTerm removes a leading "www." as Twitter does for domains.
func canonicalTerm(t string) string {
	if hasPrefixFold(t, "www.") && len(t) > len("www.") {
		return t[len("www."):]
	}
	return t
}
