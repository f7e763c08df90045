package mastodontest

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"slices"
)

//go:embed corpus.jsonl
var corpus []byte

// Corpus returns the embedded corpus: twenty realistic Status entities as
// Mastodon 4.x sends them, one JSON document per element, in stream order.
// It mixes local and remote accounts; English, Japanese, German and Spanish
// posts; a reply with a mention, a content warning, two boosts, hashtags,
// links with Mastodon's invisible spans, preview cards, hostile HTML and
// near misses for "python" (pythonic, Monty-Python, a docs.python.org link).
// The caller owns the returned slices.
func Corpus() [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(corpus))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, bytes.Clone(line))
		}
	}
	if err := sc.Err(); err != nil {
		panic(fmt.Sprintf("mastodontest: embedded corpus unreadable: %v", err)) // a build defect, caught by tests
	}
	return out
}

// pythonIDs are the corpus statuses a route matching "python" (track
// semantics) takes: the word in the text or a content warning, or the
// hashtag alone (113500000000000003, 113500000000000004); the boost
// 113500000000000007 carries its original's text.
var pythonIDs = []string{
	"113500000000000001", "113500000000000003", "113500000000000004", "113500000000000005",
	"113500000000000006", "113500000000000007", "113500000000000008", "113500000000000009",
	"113500000000000015", "113500000000000017", "113500000000000020",
}

// CorpusPythonIDs returns the IDs of the corpus statuses that match
// "python" as the bot's routes match (package track), in corpus order.
func CorpusPythonIDs() []string { return slices.Clone(pythonIDs) }
