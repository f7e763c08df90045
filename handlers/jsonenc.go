package handlers

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/streambot/streambot/stream"
)

// appendRecordJSON appends the JSON of NewRecord(s), byte for byte what
// encoding/json.Marshal writes (jsonenc_test holds it to that), without
// reflection: the JSONL sink writes one per status on the hot path.
func appendRecordJSON(b []byte, s *stream.Status) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, s.ID)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, s.Source)
	b = append(b, `,"author":`...)
	b = appendJSONString(b, s.Author.ScreenName)
	if s.Author.Name != "" {
		b = append(b, `,"name":`...)
		b = appendJSONString(b, s.Author.Name)
	}
	b = append(b, `,"text":`...)
	b = appendJSONString(b, s.Text)
	b = append(b, `,"url":`...)
	b = appendJSONString(b, s.URL)
	if s.Lang != "" {
		b = append(b, `,"lang":`...)
		b = appendJSONString(b, s.Lang)
	}
	if !s.CreatedAt.IsZero() {
		t, err := s.CreatedAt.MarshalJSON() // its checks (year, zone offset) included
		if err != nil {
			return b, fmt.Errorf("created_at: %w", err)
		}
		b = append(b, `,"created_at":`...)
		b = append(b, t...)
	}
	if s.IsRetweet {
		b = append(b, `,"retweet":true`...)
	}
	b = append(b, `,"matched":`...)
	b = appendJSONList(b, s.Matched)
	if len(s.Routes) > 0 {
		b = append(b, `,"routes":`...)
		b = appendJSONList(b, s.Routes)
	}
	if raw := rawJSON(s.Raw); raw != nil {
		b = append(b, `,"raw":`...)
		b = append(b, raw...)
	}
	return append(b, '}'), nil
}

func appendJSONList(b []byte, vs []string) []byte {
	if vs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string the way encoding/json does:
// HTML-safe (<, > and & escaped), invalid UTF-8 replaced by U+FFFD, and
// U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = strconv.AppendInt(b, int64(r&0xf), 16)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
