package twitter

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"reflect"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the lexical half of Decode: a validating JSON scanner over
// the bytes of one message. It checks the whole message against the JSON
// grammar (RFC 8259) as encoding/json does, but builds nothing: strings are
// returned as spans of the message, to be unquoted only if Decode keeps
// them, and values Decode does not need are skipped at memory speed.
//
// Why not encoding/json: its profile on generated 2–6 KB statuses is 45% in
// checkValid (a first pass over every byte) and most of the rest in
// reflection over the envelope; the scanner makes one pass and allocates
// nothing. See README "Performance".

// maxDepth bounds the nesting of arrays and objects, as encoding/json does,
// so that a hostile message cannot make the scanner recurse without end.
const maxDepth = 10000

// span is a JSON string of the message: the bytes between its quotes.
// The zero span is an absent (or null) value; a present string always
// starts after an opening quote, so its lo is positive.
type span struct {
	lo, hi int
	esc    bool // contains a backslash escape
}

func (s span) empty() bool { return s.hi == s.lo }

// scanner reads one JSON text. Errors are *json.SyntaxError-like errors of
// the scanner's own (errSyntax) or *json.UnmarshalTypeError for a value of
// the wrong type; Decode turns the former into encoding/json's own error.
type scanner struct {
	b     []byte
	i     int
	depth int
	key   []byte // unquoted object key, when it had escapes
}

// errSyntax marks malformed JSON. Decode replaces it by the
// *json.SyntaxError that encoding/json reports for the same message.
var errSyntax = errors.New("invalid JSON")

// ws skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) ws() byte {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return s.b[s.i] // compact JSON: no whitespace at all
	}
	return s.wsSlow()
}

func (s *scanner) wsSlow() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// consume skips whitespace and the byte c, or fails.
func (s *scanner) consume(c byte) error {
	if s.ws() != c {
		return errSyntax
	}
	s.i++
	return nil
}

// strFlag classifies bytes inside a string: 0 is an ordinary byte.
var strFlag = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = 1 // control characters must be escaped
	}
	t['"'] = 1
	t['\\'] = 1
	return t
}()

// specialBytes returns a mask whose lowest set bit is the high bit of the
// first byte of x (in memory order) that is a quote, a backslash or a
// control character, or 0 if there is none. (Bits above the first may be
// wrong: a borrow can carry into the next byte. The first never is.)
func specialBytes(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	return ((quote-ones)&^quote | (backslash-ones)&^backslash | (x-ones*0x20)&^x) & highs
}

// str reads the string at s.i (an opening quote) and returns its span.
func (s *scanner) str() (span, error) {
	b := s.b
	i := s.i + 1
	sp := span{lo: i}
	for {
		// Skip ordinary bytes: eight at a time, then one at a time.
		if i+8 <= len(b) {
			m := specialBytes(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) / 8
		} else {
			for i < len(b) && strFlag[b[i]] == 0 {
				i++
			}
			if i >= len(b) {
				s.i = i
				return span{}, errSyntax // unterminated
			}
		}
		switch b[i] {
		case '"':
			sp.hi = i
			s.i = i + 1
			return sp, nil
		case '\\':
			sp.esc = true
			if i+1 >= len(b) {
				s.i = i
				return span{}, errSyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(b[i+2:]) < 0 {
					s.i = i
					return span{}, errSyntax
				}
				i += 6
			default:
				s.i = i
				return span{}, errSyntax
			}
		default: // a control character
			s.i = i
			return span{}, errSyntax
		}
	}
}

// hex4 decodes the four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// number reads the number at s.i and returns its text.
func (s *scanner) number() ([]byte, error) {
	b, i := s.b, s.i
	digits := func() bool {
		start := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		s.i = i
		return nil, errSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			s.i = i
			return nil, errSyntax
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			s.i = i
			return nil, errSyntax
		}
	}
	n := b[s.i:i]
	s.i = i
	return n, nil
}

// literal reads true, false or null at s.i.
func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return errSyntax
	}
	s.i += len(word)
	return nil
}

// skip reads any value and discards it. It is the scanner's hot path: most
// of a status (the user objects, counts, indices, quoted statuses) is
// skipped.
func (s *scanner) skip() error {
	switch c := s.ws(); c {
	case '{', '[':
		return s.skipContainer()
	case '"':
		_, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, err := s.number()
		return err
	}
}

// skipContainer skips the object or array at s.i without recursion: a bit
// stack remembers which of the open containers are objects.
func (s *scanner) skipContainer() error {
	var objects bitStack
	open := 0 // containers open
	for {
		// At a value.
		switch c := s.ws(); c {
		case '{', '[':
			if open++; s.depth+open > maxDepth {
				return errSyntax
			}
			objects.set(open-1, c == '{')
			s.i++
			if end := s.ws(); end == '}' && c == '{' || end == ']' && c == '[' {
				s.i++
				open--
				break // an empty container is a value
			}
			if c == '{' {
				if err := s.memberKey(); err != nil {
					return err
				}
			}
			continue // at its first value
		case '"':
			if _, err := s.str(); err != nil {
				return err
			}
		case 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		default:
			if _, err := s.number(); err != nil {
				return err
			}
		}
		// After a value: close containers until one continues.
		for {
			if open == 0 {
				return nil
			}
			inObject := objects.get(open - 1)
			c := s.ws()
			if c == ',' {
				s.i++
				if inObject {
					if err := s.memberKey(); err != nil {
						return err
					}
				}
				break
			}
			if c == '}' && inObject || c == ']' && !inObject {
				s.i++
				open--
				continue
			}
			return errSyntax
		}
	}
}

// bitStack is a stack of bits, indexed from the bottom; the first 64 need
// no allocation.
type bitStack struct {
	low  uint64
	high []uint64
}

func (b *bitStack) set(i int, v bool) {
	w, bit := &b.low, uint64(1)<<(i%64)
	if i >= 64 {
		for len(b.high) <= i/64-1 {
			b.high = append(b.high, 0)
		}
		w = &b.high[i/64-1]
	}
	if v {
		*w |= bit
	} else {
		*w &^= bit
	}
}

func (b *bitStack) get(i int) bool {
	w := b.low
	if i >= 64 {
		w = b.high[i/64-1]
	}
	return w&(1<<(i%64)) != 0
}

// memberKey reads an object member's key and colon.
func (s *scanner) memberKey() error {
	if s.ws() != '"' {
		return errSyntax
	}
	if _, err := s.str(); err != nil {
		return err
	}
	return s.consume(':')
}

// object reads the object at s.i and calls member for each member, with the
// scanner at the value, which member must read (or skip). The key is only
// valid during the call.
func (s *scanner) object(member func(key []byte) error) error {
	if s.depth++; s.depth > maxDepth {
		return errSyntax
	}
	s.i++ // '{'
	if s.ws() == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if s.ws() != '"' {
			return errSyntax
		}
		k, err := s.str()
		if err != nil {
			return err
		}
		key := s.b[k.lo:k.hi]
		if k.esc {
			s.key = appendUnquoted(s.key[:0], key)
			key = s.key
		}
		if err := s.consume(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.ws() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return errSyntax
		}
	}
}

// array reads the array at s.i and calls elem for each element, with the
// scanner at the element, which elem must read.
func (s *scanner) array(elem func() error) error {
	if s.depth++; s.depth > maxDepth {
		return errSyntax
	}
	s.i++ // '['
	if s.ws() == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.ws() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return nil
		default:
			return errSyntax
		}
	}
}

// The typed readers below accept null for any field, as encoding/json
// leaves the field unchanged then, and report a value of another type as a
// *json.UnmarshalTypeError naming the field.

// stringField reads a string or null.
func (s *scanner) stringField(field string) (span, error) {
	switch s.ws() {
	case '"':
		return s.str()
	case 'n':
		return span{}, s.literal("null")
	}
	return span{}, s.typeError(field, reflect.TypeFor[string]())
}

// intField reads an integer or null.
func (s *scanner) intField(field string) (int64, error) {
	switch c := s.ws(); {
	case c == 'n':
		return 0, s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		at := s.i
		text, err := s.number()
		if err != nil {
			return 0, err
		}
		n, ok := parseInt(text)
		if !ok {
			return 0, &json.UnmarshalTypeError{Value: "number " + string(text), Type: reflect.TypeFor[int64](), Offset: int64(at), Field: field}
		}
		return n, nil
	}
	return 0, s.typeError(field, reflect.TypeFor[int64]())
}

// boolField reads true, false or null.
func (s *scanner) boolField(field string) (bool, error) {
	switch s.ws() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		return false, s.literal("null")
	}
	return false, s.typeError(field, reflect.TypeFor[bool]())
}

// objectField reads an object (calling member for each member) or null,
// and reports whether it was an object.
func (s *scanner) objectField(field string, member func(key []byte) error) (bool, error) {
	switch s.ws() {
	case '{':
		return true, s.object(member)
	case 'n':
		return false, s.literal("null")
	}
	return false, s.typeError(field, reflect.TypeFor[struct{}]())
}

// arrayField reads an array (calling elem for each element) or null.
func (s *scanner) arrayField(field string, elem func() error) error {
	switch s.ws() {
	case '[':
		return s.array(elem)
	case 'n':
		return s.literal("null")
	}
	return s.typeError(field, reflect.TypeFor[[]struct{}]())
}

// typeError skips the value at s.i, which does not fit field's type t, and
// describes it as encoding/json would. A value that does not even parse is
// a syntax error.
func (s *scanner) typeError(field string, t reflect.Type) error {
	at := s.i
	kind := "number"
	switch s.ws() {
	case '"':
		kind = "string"
	case '{':
		kind = "object"
	case '[':
		kind = "array"
	case 't', 'f':
		kind = "bool"
	}
	if err := s.skip(); err != nil {
		return err
	}
	return &json.UnmarshalTypeError{Value: kind, Type: t, Offset: int64(at), Field: field}
}

// parseInt parses a JSON number that is an integer within int64.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false // a fraction or an exponent
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case neg && n <= 1<<63:
		return -int64(n), true
	case !neg && n < 1<<63:
		return int64(n), true
	}
	return 0, false
}

// appendUnquoted appends the text of the string contents b (validated by
// scanner.str) to dst, exactly as encoding/json unquotes it: escapes
// decoded, a surrogate pair combined, and a lone surrogate or a byte that is
// not UTF-8 replaced by U+FFFD.
func appendUnquoted(dst, b []byte) []byte {
	for len(b) > 0 {
		// A run of bytes that need no work: copy it at once if it is UTF-8.
		n := bytes.IndexByte(b, '\\')
		if n < 0 {
			n = len(b)
		}
		if run := b[:n]; utf8.Valid(run) {
			dst = append(dst, run...)
		} else {
			for len(run) > 0 {
				r, size := utf8.DecodeRune(run)
				if r == utf8.RuneError && size == 1 {
					dst = utf8.AppendRune(dst, utf8.RuneError)
				} else {
					dst = append(dst, run[:size]...)
				}
				run = run[size:]
			}
		}
		b = b[n:]
		if len(b) == 0 {
			break
		}
		// An escape, validated by str.
		switch c := b[1]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(b[2:])
			b = b[6:]
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(b) >= 6 && b[0] == '\\' && b[1] == 'u' {
					r2 = hex4(b[2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					b = b[6:]
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
		b = b[2:]
	}
	return dst
}
