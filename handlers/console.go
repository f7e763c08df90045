package handlers

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"

	"github.com/streambot/streambot/stream"
)

// Console returns a sink that writes each status to w as one readable line:
//
//	@screen_name (Name): text — https://x.com/screen_name/status/id
//
// Line breaks in the text become spaces, and control and bidi-override
// characters are removed, so no status can forge lines or drive the terminal.
// Writes are serialized; a write error is returned.
func Console(w io.Writer) Handler {
	c := &console{w: w}
	return HandlerFunc(c.handle)
}

type console struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *console) handle(_ context.Context, s *stream.Status) error {
	line := FormatLine(s)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, line+"\n"); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// FormatLine renders s as the console sink's single line (without a newline).
func FormatLine(s *stream.Status) string {
	var b strings.Builder
	b.WriteString("@")
	b.WriteString(Sanitize(s.Author.ScreenName))
	if s.Author.Name != "" {
		b.WriteString(" (")
		b.WriteString(Sanitize(s.Author.Name))
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(Sanitize(s.Text))
	b.WriteString(" — ")
	b.WriteString(Sanitize(s.URL))
	return b.String()
}

// Sanitize makes text safe for a single terminal line: runs of white space
// (line breaks included) become one space, and control characters and
// bidirectional formatting characters are removed.
func Sanitize(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	space := false
	for _, r := range text {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
