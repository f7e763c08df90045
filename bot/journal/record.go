package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/streambot/streambot/stream"
)

// Record is one entry of the log: an accepted status, or a tombstone.
type Record struct {
	// Seq is the record's position in the log, assigned by Append: 1, 2, ...
	Seq uint64
	// Time is when the record was appended.
	Time time.Time
	// Status is the accepted status; nil for a tombstone and for an
	// unreadable record.
	Status *stream.Status
	// Deleted, for a tombstone, is the ID of the status the stream deleted.
	Deleted string
	// To holds the indexes (in Options.Consumers) of the consumers the
	// record is for. A tombstone is for none.
	To []int
	// Err is set when the stored record could not be decoded: it is handed
	// to every consumer so that each counts it failed and moves on.
	Err error
}

// ErrCorrupt matches, through errors.Is, every error about stored bytes that
// do not decode: a checksum mismatch, a truncated record, an unknown version.
var ErrCorrupt = errors.New("corrupt record")

// recordVersion is the first byte of every encoded record.
const recordVersion = 1

// Record kinds.
const (
	kindStatus = 1
	kindDelete = 2
)

// Status flags.
const (
	flagRetweet = 1 << iota
	flagQuote
	flagReply
	flagCreatedAt // CreatedAt is set
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends r's encoded form to b: a uvarint length, a CRC-32C
// of the payload, then the payload. ids maps a consumer index to its
// stored id.
//
// Payload (version 1): version, kind, time (seconds varint, nanoseconds
// uvarint), the consumer ids (count, then each, uvarint), then for a
// status its fields as uvarint-length-prefixed strings, lists as a count
// followed by their strings; for a tombstone the deleted ID.
func appendRecord(b []byte, r *Record, ids []uint64) []byte {
	// The payload is written after room for the longest length prefix and
	// the checksum, then moved up against the prefix actually needed.
	const room = binary.MaxVarintLen64 + 4
	start := len(b)
	b = append(b, make([]byte, room)...)
	p := b
	kind := byte(kindStatus)
	if r.Status == nil {
		kind = kindDelete
	}
	p = append(p, recordVersion, kind)
	p = appendTime(p, r.Time)
	p = binary.AppendUvarint(p, uint64(len(r.To)))
	for _, c := range r.To {
		p = binary.AppendUvarint(p, ids[c])
	}
	if s := r.Status; s != nil {
		p = appendStrings(p, s.ID, s.Source, s.Author.ID, s.Author.ScreenName, s.Author.Name, s.Text, s.URL, s.Lang, s.RetweetedID)
		var flags byte
		if s.IsRetweet {
			flags |= flagRetweet
		}
		if s.IsQuote {
			flags |= flagQuote
		}
		if s.IsReply {
			flags |= flagReply
		}
		if !s.CreatedAt.IsZero() {
			flags |= flagCreatedAt
		}
		p = append(p, flags)
		if !s.CreatedAt.IsZero() {
			p = appendTime(p, s.CreatedAt)
		}
		p = appendList(p, s.Hashtags)
		p = appendList(p, s.Mentions)
		p = binary.AppendUvarint(p, uint64(len(s.URLs)))
		for _, u := range s.URLs {
			p = appendStrings(p, u.Expanded, u.Display)
		}
		p = appendList(p, s.Matched)
		p = appendList(p, s.Rules)
		p = appendList(p, s.Routes)
		p = appendBytes(p, s.Raw)
	} else {
		p = appendStrings(p, r.Deleted)
	}
	payload := p[start+room:]
	var head [room]byte
	h := binary.AppendUvarint(head[:0], uint64(len(payload)))
	h = binary.LittleEndian.AppendUint32(h, crc32.Checksum(payload, castagnoli))
	n := copy(p[start:], h)
	copy(p[start+n:], payload)
	return p[:start+n+len(payload)]
}

// appendTime writes t as Unix seconds, nanoseconds and its zone's offset
// in seconds east of UTC, so that it decodes to the same clock reading (in
// a fixed zone of that offset; UTC for offset 0).
func appendTime(b []byte, t time.Time) []byte {
	_, offset := t.Zone()
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	return binary.AppendVarint(b, int64(offset))
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendStrings(b []byte, vs ...string) []byte {
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

func appendList(b []byte, vs []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	return appendStrings(b, vs...)
}

// nextRecord splits the first encoded record off b: its checksummed
// payload and the rest. An error means b cannot be split any further.
func nextRecord(b []byte) (payload, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) || uint64(len(b)-k)-n < 4 {
		return nil, nil, fmt.Errorf("%w: truncated record", ErrCorrupt)
	}
	b = b[k:]
	sum := binary.LittleEndian.Uint32(b)
	payload, rest = b[4:4+n], b[4+n:]
	if crc32.Checksum(payload, castagnoli) != sum {
		return nil, rest, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return payload, rest, nil
}

// decoder reads a payload. Strings are substrings of one copy of the
// payload, so a decoded status costs one allocation for all its text.
type decoder struct {
	s   string
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrCorrupt, what)
	}
	d.s = ""
}

func (d *decoder) byte(what string) byte {
	if len(d.s) == 0 {
		d.fail(what)
		return 0
	}
	c := d.s[0]
	d.s = d.s[1:]
	return c
}

func (d *decoder) uvarint(what string) uint64 {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if i >= len(d.s) {
			break
		}
		c := d.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			d.s = d.s[i+1:]
			return x
		}
	}
	d.fail(what)
	return 0
}

func (d *decoder) varint(what string) int64 {
	u := d.uvarint(what)
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) time(what string) time.Time {
	sec, ns, offset := d.varint(what), d.uvarint(what), d.varint(what)
	if ns >= 1e9 || offset < -24*3600 || offset > 24*3600 {
		d.fail(what)
		return time.Time{}
	}
	if offset == 0 {
		return time.Unix(sec, int64(ns)).UTC()
	}
	return time.Unix(sec, int64(ns)).In(time.FixedZone("", int(offset)))
}

func (d *decoder) string(what string) string {
	n := d.uvarint(what)
	if n > uint64(len(d.s)) {
		d.fail(what)
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

// count reads a list length, refusing one the rest of the payload cannot
// hold (every element takes at least a byte).
func (d *decoder) count(what string) int {
	n := d.uvarint(what)
	if n > uint64(len(d.s)) || n > math.MaxInt32 {
		d.fail(what)
		return 0
	}
	return int(n)
}

func (d *decoder) list(what string) []string {
	n := d.count(what)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.string(what)
	}
	return out
}

// decodeRecord decodes a payload split off by nextRecord. byID maps a
// stored consumer id to its index; ids of unknown consumers are left out
// of To.
func decodeRecord(payload []byte, byID map[uint64]int) (*Record, error) {
	d := decoder{s: string(payload)}
	if v := d.byte("version"); v != recordVersion {
		return nil, fmt.Errorf("%w: unknown record version %d", ErrCorrupt, v)
	}
	kind := d.byte("kind")
	r := &Record{Time: d.time("time")}
	for n := d.count("consumers"); n > 0; n-- {
		if c, ok := byID[d.uvarint("consumer")]; ok {
			r.To = append(r.To, c)
		}
	}
	switch kind {
	case kindStatus:
		s := &stream.Status{}
		s.ID, s.Source = d.string("id"), d.string("source")
		s.Author.ID, s.Author.ScreenName, s.Author.Name = d.string("author"), d.string("author"), d.string("author")
		s.Text, s.URL, s.Lang, s.RetweetedID = d.string("text"), d.string("url"), d.string("lang"), d.string("retweeted id")
		flags := d.byte("flags")
		s.IsRetweet, s.IsQuote, s.IsReply = flags&flagRetweet != 0, flags&flagQuote != 0, flags&flagReply != 0
		if flags&flagCreatedAt != 0 {
			s.CreatedAt = d.time("created at")
		}
		s.Hashtags, s.Mentions = d.list("hashtags"), d.list("mentions")
		if n := d.count("urls"); n > 0 {
			s.URLs = make([]stream.URL, n)
			for i := range s.URLs {
				s.URLs[i] = stream.URL{Expanded: d.string("url"), Display: d.string("url")}
			}
		}
		s.Matched, s.Rules, s.Routes = d.list("matched"), d.list("rules"), d.list("routes")
		if raw := d.string("raw"); raw != "" {
			s.Raw = []byte(raw)
		}
		r.Status = s
	case kindDelete:
		r.Deleted = d.string("deleted id")
	default:
		return nil, fmt.Errorf("%w: unknown record kind %d", ErrCorrupt, kind)
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

// peekIDs decodes only the header of a payload — whether it is a tombstone
// and the stored ids of the consumers it is for — which is what a restart
// needs to rebuild the consumers' queues without decoding statuses.
func peekIDs(p []byte, ids []uint64) ([]uint64, bool, error) {
	bad := fmt.Errorf("%w: bad record header", ErrCorrupt)
	if len(p) < 2 || p[0] != recordVersion {
		return ids, false, bad
	}
	tomb := p[1] == kindDelete
	p = p[2:]
	var vals [4]uint64 // time seconds, nanoseconds, zone offset, consumer count
	for i := range vals {
		v, k := binary.Uvarint(p)
		if k <= 0 {
			return ids, false, bad
		}
		vals[i], p = v, p[k:]
	}
	for n := vals[3]; n > 0; n-- {
		id, k := binary.Uvarint(p)
		if k <= 0 {
			return ids, false, bad
		}
		p = p[k:]
		ids = append(ids, id)
	}
	return ids, tomb, nil
}
