package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/streambot/streambot/stream"
)

// Record is the JSON object the JSONL sink writes for each status.
type Record struct {
	// ID is Status.ID.
	ID string `json:"id"`
	// Source is Status.Source, the network ("twitter").
	Source string `json:"source"`
	// Author is the author's screen name, without the '@'.
	Author string `json:"author"`
	// Name is the author's display name.
	Name string `json:"name,omitempty"`
	// Text is the full, plain text (Status.Text).
	Text string `json:"text"`
	// URL links to the post.
	URL string `json:"url"`
	// Lang is the detected language code.
	Lang string `json:"lang,omitempty"`
	// CreatedAt is when the post was created; omitted when unknown.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Retweet is set for a retweet.
	Retweet bool `json:"retweet,omitempty"`
	// Matched holds the track phrases that selected the status
	// (Status.Matched).
	Matched []string `json:"matched"`
	// Routes names the routes that took the status (Status.Routes); omitted
	// when none is known.
	Routes []string `json:"routes,omitempty"`
	// Raw is the payload as the network sent it (Status.Raw), present only
	// for a destination configured with raw: true. A payload that is JSON
	// is embedded (compacted to one line); any other payload (RSS, HTML) is
	// written as a JSON string.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// NewRecord returns the Record of s.
func NewRecord(s *stream.Status) Record {
	return Record{
		ID: s.ID, Source: s.Source, Author: s.Author.ScreenName, Name: s.Author.Name,
		Text: s.Text, URL: s.URL, Lang: s.Lang, CreatedAt: s.CreatedAt,
		Retweet: s.IsRetweet, Matched: s.Matched, Routes: s.Routes, Raw: rawJSON(s.Raw),
	}
}

// rawJSON returns raw compacted when it is JSON, else as a JSON string.
func rawJSON(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) == nil {
		var safe bytes.Buffer // as encoding/json writes a RawMessage
		json.HTMLEscape(&safe, compact.Bytes())
		return safe.Bytes()
	}
	return appendJSONString(nil, string(raw))
}

// JSONL is a sink that appends one JSON object (a [Record]) per status to a
// file. Each Handle writes and flushes a whole line, so a reader tailing the
// file never sees half a record. Close it when done.
type JSONL struct {
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	path string
	line []byte // the line being written, reused
	held []byte // whole lines Batched's Handle took and did not write yet
}

// OpenJSONL opens path for appending, creating it (mode 0644) if needed.
func OpenJSONL(path string) (*JSONL, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	return &JSONL{f: f, w: bufio.NewWriter(f), path: path}, nil
}

// Handle appends the record of s. A status that cannot be written as JSON
// (a creation time outside years 0-9999) is refused permanently.
func (j *JSONL) Handle(_ context.Context, s *stream.Status) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	line, err := appendRecordJSON(j.line[:0], s)
	if err != nil {
		return Permanent(fmt.Errorf("jsonl: encode status %s: %w", s.ID, err))
	}
	j.line = append(line, '\n')
	j.w.Write(j.line)
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("jsonl: write %s: %w", j.path, err)
	}
	return nil
}

// heldMax is how much a Batched JSONL holds before it writes without
// waiting for Flush.
const heldMax = 256 << 10

// Batched returns the sink as a handlers.Flusher: Handle only adds the
// line to a buffer (written out once it holds 256 KiB), and Flush writes
// what is held, in whole lines. Package bot flushes before it acknowledges,
// so statuses are still delivered at least once, with one write for many.
// Use either j or its Batched form, not both.
func (j *JSONL) Batched() Flusher { return batchedJSONL{j} }

type batchedJSONL struct{ j *JSONL }

// Handle adds the record of s to what is held.
func (b batchedJSONL) Handle(_ context.Context, s *stream.Status) error {
	j := b.j
	j.mu.Lock()
	defer j.mu.Unlock()
	n := len(j.held)
	held, err := appendRecordJSON(j.held, s)
	if err != nil {
		j.held = held[:n]
		return Permanent(fmt.Errorf("jsonl: encode status %s: %w", s.ID, err))
	}
	j.held = append(held, '\n')
	if len(j.held) >= heldMax {
		return j.writeHeld()
	}
	return nil
}

// Flush writes what is held.
func (b batchedJSONL) Flush(context.Context) error {
	b.j.mu.Lock()
	defer b.j.mu.Unlock()
	return b.j.writeHeld()
}

// writeHeld writes the held lines; what a failed write left is kept for
// the next try. Call with j.mu held.
func (j *JSONL) writeHeld() error {
	if len(j.held) == 0 {
		return nil
	}
	n, err := j.f.Write(j.held)
	j.held = j.held[:copy(j.held, j.held[n:])]
	if err != nil {
		return fmt.Errorf("jsonl: write %s: %w", j.path, err)
	}
	if cap(j.held) > 4*heldMax {
		j.held = nil
	}
	return nil
}

// Close flushes and closes the file.
func (j *JSONL) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	ferr := j.w.Flush()
	if herr := j.writeHeld(); ferr == nil {
		ferr = herr
	}
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("jsonl: close %s: %w", j.path, err)
	}
	if ferr != nil {
		return fmt.Errorf("jsonl: flush %s: %w", j.path, ferr)
	}
	return nil
}
