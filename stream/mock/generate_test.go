package mock

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func TestGeneratorValidAndSized(t *testing.T) {
	for _, seed := range []uint64{1, 42, 1 << 40} {
		g := NewGenerator(seed)
		var buf []byte
		for i := range 1000 {
			buf = g.Next(buf[:0])
			if !json.Valid(buf) {
				t.Fatalf("seed %d, status %d: invalid JSON:\n%s", seed, i, buf)
			}
			if n := len(buf); n < 2<<10 || n > 6<<10 {
				t.Errorf("seed %d, status %d: %d bytes, want 2 KB to 6 KB", seed, i, n)
			}
			if bytes.ContainsAny(buf, "\r\n") {
				t.Fatalf("seed %d, status %d: contains a line break", seed, i)
			}
		}
	}
}

func TestGeneratorAppends(t *testing.T) {
	prefix := []byte("prefix\n")
	got := NewGenerator(3).Next(bytes.Clone(prefix))
	want := NewGenerator(3).Next(nil)
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Errorf("Next(prefix) = %.60q..., want the prefix and then %.60q...", got, want)
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	a, b, c := NewGenerator(7), NewGenerator(7), NewGenerator(8)
	differs := false
	for i := range 300 {
		x, y, z := a.Next(nil), b.Next(nil), c.Next(nil)
		if !bytes.Equal(x, y) {
			t.Fatalf("status %d differs for the same seed:\n%s\n%s", i, x, y)
		}
		differs = differs || !bytes.Equal(x, z)
	}
	if !differs {
		t.Error("seeds 7 and 8 produced the same statuses")
	}
}

func TestGeneratorIDs(t *testing.T) {
	g := NewGenerator(11)
	if id, user := g.LastID(); id != 0 || user != 0 {
		t.Errorf("LastID before Next = %d, %d; want 0, 0", id, user)
	}
	var prev uint64
	seen := make(map[uint64]bool)
	for i := range 5000 {
		var st struct {
			ID    uint64 `json:"id"`
			IDStr string `json:"id_str"`
			User  struct {
				ID uint64 `json:"id"`
			} `json:"user"`
			Retweeted *struct {
				ID uint64 `json:"id"`
			} `json:"retweeted_status"`
			Quoted *struct {
				ID uint64 `json:"id"`
			} `json:"quoted_status"`
		}
		if err := json.Unmarshal(g.Next(nil), &st); err != nil {
			t.Fatalf("status %d: %v", i, err)
		}
		if strconv.FormatUint(st.ID, 10) != st.IDStr {
			t.Fatalf("status %d: id %d but id_str %q", i, st.ID, st.IDStr)
		}
		if st.ID <= prev {
			t.Fatalf("status %d: id %d does not increase (previous %d)", i, st.ID, prev)
		}
		prev = st.ID
		if id, user := g.LastID(); id != st.ID || user != st.User.ID {
			t.Fatalf("status %d: LastID = %d, %d; want %d, %d", i, id, user, st.ID, st.User.ID)
		}
		if seen[st.ID] {
			t.Fatalf("status %d: id %d repeated", i, st.ID)
		}
		seen[st.ID] = true
		for _, orig := range []*struct {
			ID uint64 `json:"id"`
		}{st.Retweeted, st.Quoted} {
			if orig != nil && orig.ID >= st.ID {
				t.Errorf("status %d: original %d is not older than %d", i, orig.ID, st.ID)
			}
		}
	}
}

func TestGeneratorShares(t *testing.T) {
	const n = 4000
	g := NewGenerator(2022)
	var python, long, retweets, quotes int
	for i := range n {
		var st pyStatus
		if err := json.Unmarshal(g.Next(nil), &st); err != nil {
			t.Fatalf("status %d: %v", i, err)
		}
		if mentionsPython(&st) {
			python++
		}
		switch {
		case st.Retweeted != nil:
			retweets++
		case st.Quoted != nil:
			quotes++
		}
		if st.Extended != nil || st.Retweeted != nil && st.Retweeted.Extended != nil {
			long++
		}
	}
	for _, c := range []struct {
		what     string
		got      int
		min, max float64
	}{
		{"python", python, 0.15, 0.35},
		{"long", long, 0.30, 0.50},
		{"retweets", retweets, 0.10, 0.20},
		{"quotes", quotes, 0.02, 0.08},
	} {
		if share := float64(c.got) / n; share < c.min || share > c.max {
			t.Errorf("%s share = %.3f, want %.2f to %.2f", c.what, share, c.min, c.max)
		}
	}
}

// pyStatus is the part of a status that says whether a track filter for
// "python" selects it.
type pyStatus struct {
	Text     string     `json:"text"`
	Entities pyEntities `json:"entities"`
	Extended *struct {
		FullText string     `json:"full_text"`
		Entities pyEntities `json:"entities"`
	} `json:"extended_tweet"`
	Retweeted *pyStatus       `json:"retweeted_status"`
	Quoted    json.RawMessage `json:"quoted_status"`
}

type pyEntities struct {
	Hashtags []struct {
		Text string `json:"text"`
	} `json:"hashtags"`
	Mentions []struct {
		ScreenName string `json:"screen_name"`
	} `json:"user_mentions"`
}

// mentionsPython reports whether the full text of s (of the original, for a
// retweet) has the word "python" in any case, or its entities a #python
// hashtag or an @python mention. Words match whole, edge punctuation aside:
// "pythonic", "python3" and "#pythonista" do not.
func mentionsPython(s *pyStatus) bool {
	if s.Retweeted != nil {
		return mentionsPython(s.Retweeted)
	}
	text, ents := s.Text, s.Entities
	if s.Extended != nil {
		text, ents = s.Extended.FullText, s.Extended.Entities
	}
	for _, w := range strings.Fields(text) {
		if strings.HasPrefix(w, "#") || strings.HasPrefix(w, "@") || strings.HasPrefix(w, "http") {
			continue // entities, matched below
		}
		w = strings.TrimFunc(w, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) })
		if strings.EqualFold(w, "python") {
			return true
		}
	}
	for _, h := range ents.Hashtags {
		if strings.EqualFold(h.Text, "python") {
			return true
		}
	}
	for _, m := range ents.Mentions {
		if strings.EqualFold(m.ScreenName, "python") {
			return true
		}
	}
	return false
}

func TestMentionsPython(t *testing.T) {
	for text, want := range map[string]bool{
		"I love Python.":             true,
		"(python) rocks":             true,
		"so pythonic":                false,
		"apt install python3-dev":    false,
		"MicroPython and CPython":    false,
		"#Python is not a word here": false, // without a hashtag entity
		"https://python.org":         false,
	} {
		if got := mentionsPython(&pyStatus{Text: text}); got != want {
			t.Errorf("mentionsPython(%q) = %v, want %v", text, got, want)
		}
	}
}

// corpusPython lists the statuses of corpus.jsonl that a track filter for
// "python" selects, in file order.
var corpusPython = []string{
	"1503732764107793684", // line 1: "Python" in the text
	"1503732781904802494", // line 3: only in extended_tweet.full_text
	"1503732805284836112", // line 5: #Python hashtag only
	"1503732821596586619", // line 7: @python mention only
	"1503732849353255880", // line 10
	"1503732854973039682", // line 11: retweet
	"1503732889754169936", // line 14: reply
	"1503732910758874052", // line 16: es
	"1503732934924877338", // line 18: ja
	"1503732954513894257", // line 20: de
	"1503732973869929743", // line 22: emoji, &amp; and &lt;script&gt;
	"1503733014860073666", // line 26: deleted by line 32
	"1503733028245783418", // line 28: retweet of a long original
	"1503733050714797656", // line 30
	"1503733064152875464", // line 31: quote
	"1503733097396299747", // line 34
	"1503733133661170965", // line 39
}

func TestCorpus(t *testing.T) {
	data, err := os.ReadFile("corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	statusIDs := make(map[string]int)
	var python, deleted []string
	kinds := make(map[string]int)
	for i, line := range lines {
		n := i + 1
		if strings.TrimSpace(line) == "" {
			t.Fatalf("line %d is blank", n)
		}
		if !json.Valid([]byte(line)) {
			t.Fatalf("line %d is not valid JSON", n)
		}
		var msg struct {
			IDStr string          `json:"id_str"`
			User  json.RawMessage `json:"user"`
			Text  string          `json:"text"`
			Lang  string          `json:"lang"`

			Delete *struct {
				Status struct {
					IDStr     string `json:"id_str"`
					UserIDStr string `json:"user_id_str"`
				} `json:"status"`
			} `json:"delete"`
			Limit   json.RawMessage `json:"limit"`
			Warning json.RawMessage `json:"warning"`
		}
		if err := json.Unmarshal([]byte(line), &msg); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		switch {
		case msg.IDStr != "" && msg.User != nil:
			kinds["status"]++
			if prev, dup := statusIDs[msg.IDStr]; dup {
				t.Errorf("line %d repeats the id %s of line %d", n, msg.IDStr, prev)
			}
			statusIDs[msg.IDStr] = n
			if msg.Text == "" || msg.Lang == "" {
				t.Errorf("line %d: status without text or lang", n)
			}
			var st pyStatus
			if err := json.Unmarshal([]byte(line), &st); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			if mentionsPython(&st) {
				python = append(python, msg.IDStr)
			}
		case msg.Delete != nil:
			kinds["delete"]++
			if msg.Delete.Status.IDStr == "" || msg.Delete.Status.UserIDStr == "" {
				t.Errorf("line %d: delete without status or user id", n)
			}
			deleted = append(deleted, msg.Delete.Status.IDStr)
		case msg.Limit != nil:
			kinds["limit"]++
		case msg.Warning != nil:
			kinds["warning"]++
		default:
			t.Errorf("line %d is neither a status nor a delete, limit or warning message", n)
		}
	}
	if want := map[string]int{"status": 34, "delete": 3, "limit": 1, "warning": 1}; !maps.Equal(kinds, want) {
		t.Errorf("message kinds = %v, want %v", kinds, want)
	}
	if !slices.Equal(python, corpusPython) {
		t.Errorf("statuses matching python = %q, want %q", python, corpusPython)
	}
	// Deletes of an earlier noise status, of an earlier matching status,
	// and of a status that is not in the corpus.
	for i, want := range []int{12, 26, 0} {
		if i >= len(deleted) {
			break
		}
		if got := statusIDs[deleted[i]]; got != want {
			t.Errorf("delete %d removes the status of line %d, want line %d", i+1, got, want)
		}
	}
}

func BenchmarkGeneratorNext(b *testing.B) {
	g := NewGenerator(1)
	buf := make([]byte, 0, 8<<10)
	var total int
	b.ReportAllocs()
	for b.Loop() {
		buf = g.Next(buf[:0])
		total += len(buf)
	}
	b.ReportMetric(float64(total)/float64(b.N), "B/status")
}
