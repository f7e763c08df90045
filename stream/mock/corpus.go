package mock

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
)

//go:embed corpus.jsonl
var corpus []byte

// MaxLineBytes bounds one line of a replayed file, like the Twitter source
// bounds one message.
const MaxLineBytes = 1 << 20

// Corpus returns the embedded corpus: realistic v1.1 messages (tweets that
// match "python", noise, deletes, a limit notice and a stall warning), one
// message per element, in replay order. The caller owns the returned slices.
func Corpus() [][]byte {
	lines, err := ReadLines(bytes.NewReader(corpus))
	if err != nil {
		panic(fmt.Sprintf("mock: embedded corpus unreadable: %v", err)) // a build defect, caught by tests
	}
	return lines
}

// LoadFile reads a JSONL file of v1.1 messages, one per line; blank lines are
// skipped. Lines are not validated here: malformed ones are reported when
// replayed, as a live stream would.
func LoadFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	defer f.Close()
	lines, err := ReadLines(f)
	if err != nil {
		return nil, fmt.Errorf("mock: %s: %w", path, err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("mock: %s holds no messages", path)
	}
	return lines, nil
}

// ReadLines splits r into non-blank lines (without "\r\n"), each at most
// MaxLineBytes long.
func ReadLines(r io.Reader) ([][]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxLineBytes)
	var lines [][]byte
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		lines = append(lines, bytes.Clone(line))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w (at most %d bytes per line)", n+1, err, MaxLineBytes)
	}
	return lines, nil
}
