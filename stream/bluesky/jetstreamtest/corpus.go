package jetstreamtest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed corpus.jsonl
var corpus []byte

// Corpus returns the embedded corpus, one Jetstream message per element, in
// time_us order (one second apart): identity messages (one with a hostile
// handle, one changing a handle), an account message, posts with tag, link
// and mention facets, a reply, quotes, Spanish and Japanese posts, an
// external embed, a post with hostile text and out-of-range or rune-splitting
// facets, a delete of an earlier post that mentions python, an update, and
// likes, a repost and a follow that wantedCollections=app.bsky.feed.post
// filters out. Eight posts mention python. The caller owns the slices.
func Corpus() [][]byte {
	var out [][]byte
	for line := range bytes.SplitSeq(corpus, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, bytes.Clone(line))
		}
	}
	return out
}

// Giant returns a well-formed post message of about size bytes (a long
// text with no "python" in it) with the given time, DID and record key. Put
// it among Config.Events to test a client's message-size limit: its
// time_us comes right after its did, as Jetstream writes it.
func Giant(timeUS int64, did, rkey string, size int) []byte {
	text := strings.Repeat("lorem ipsum ", max(size/12, 1))
	msg := map[string]any{
		"did": did, "time_us": timeUS, "kind": "commit",
		"commit": map[string]any{
			"rev": "3l3qo2vvgiant", "operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey,
			"record": map[string]any{"$type": "app.bsky.feed.post", "createdAt": "2024-09-09T19:46:00.000Z", "text": text},
			"cid":    "bafyreigiant",
		},
	}
	return mustOrdered(msg, "did", "time_us", "kind", "commit")
}

// Post returns a minimal post message: did created rkey with text at timeUS.
func Post(timeUS int64, did, rkey, text string) []byte {
	msg := map[string]any{
		"did": did, "time_us": timeUS, "kind": "commit",
		"commit": map[string]any{
			"rev": "3l3qo2vvpost", "operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey,
			"record": map[string]any{"$type": "app.bsky.feed.post", "createdAt": "2024-09-09T19:46:00.000Z", "langs": []string{"en"}, "text": text},
			"cid":    "bafyreipost",
		},
	}
	return mustOrdered(msg, "did", "time_us", "kind", "commit")
}

// Identity returns an identity message announcing did's handle at timeUS.
func Identity(timeUS int64, did, handle string) []byte {
	msg := map[string]any{
		"did": did, "time_us": timeUS, "kind": "identity",
		"identity": map[string]any{"did": did, "handle": handle, "seq": 1, "time": "2024-09-09T19:46:00.000Z"},
	}
	return mustOrdered(msg, "did", "time_us", "kind", "identity")
}

// mustOrdered encodes an object with its top-level keys in the given order
// (encoding/json sorts map keys, and Jetstream puts time_us second).
func mustOrdered(m map[string]any, keys ...string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		v, err := json.Marshal(m[k])
		if err != nil {
			panic(fmt.Sprintf("jetstreamtest: %v", err))
		}
		fmt.Fprintf(&b, "%q:%s", k, v)
	}
	b.WriteByte('}')
	return b.Bytes()
}
