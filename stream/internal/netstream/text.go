package netstream

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Truncate returns at most n bytes of b as valid UTF-8 (cut at a rune
// boundary; invalid bytes become '?'), for logs and errors.
func Truncate(b []byte, n int) string {
	if len(b) > n {
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// IsBlank reports whether b holds only spaces, tabs, CRs and LFs: a
// keep-alive, not a message.
func IsBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// TrimCR removes one trailing '\r' from a line.
func TrimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// Secrets are the credentials a Source keeps out of its logs and errors.
type Secrets []string

// NewSecrets returns the values that are at least 4 bytes long: shorter
// ones are no real credential and would redact ordinary text.
func NewSecrets(values ...string) Secrets {
	var s Secrets
	for _, v := range values {
		if len(v) >= 4 {
			s = append(s, v)
		}
	}
	return s
}

// LogExcerptBytes bounds the excerpt of a skipped message in logs.
const LogExcerptBytes = 120

// Excerpt returns the start of a message from the network, at most
// LogExcerptBytes of valid UTF-8 with every secret redacted, for logs.
func (s Secrets) Excerpt(msg []byte) string { return s.Redact(Truncate(msg, LogExcerptBytes)) }

// Redact replaces every secret in text, which came from the network or an
// error, with "[REDACTED]".
func (s Secrets) Redact(text string) string {
	for _, v := range s {
		text = strings.ReplaceAll(text, v, "[REDACTED]")
	}
	return text
}
