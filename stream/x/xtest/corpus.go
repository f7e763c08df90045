package xtest

import (
	"bytes"
	_ "embed"
)

//go:embed corpus.jsonl
var corpus []byte

// Corpus returns the embedded corpus: 21 realistic filtered-stream lines
// ({"data":..,"includes":..}, without matching_rules), each a new slice.
//
// It holds plain posts, long posts whose full text is in note_tweet,
// retweets and a quote and replies with their referenced posts in
// includes.tweets, posts in Spanish, Japanese, German and French, and a
// hostile post (HTML-escaped markup, a right-to-left override,
// zero-width characters, a display name with markup). Eleven of them match
// the rule "python" (one only in its note_tweet's full text; "pythonic"
// does not match) and six match "golang OR #go"; one matches both.
func Corpus() [][]byte {
	var out [][]byte
	for line := range bytes.Lines(corpus) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, bytes.Clone(line))
		}
	}
	return out
}
