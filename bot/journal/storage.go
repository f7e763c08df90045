package journal

import (
	"encoding/binary"
	"fmt"
)

// Storage keeps a Journal's records and marks durably. [OpenBolt] returns
// the bbolt implementation; a Journal with a nil Storage is the same log
// in memory, with nothing surviving the process.
//
// Records are stored in chunks of up to Options.CommitBatch records, in
// order, keyed by the span of sequence numbers they hold; a group commit
// writes one or more. A chunk is written once and deleted once, when no
// consumer needs any of its records.
//
// A Journal calls Load once, in Open, then Commit from one goroutine (its
// committer) while consumers call Chunk concurrently. A Storage is used by
// one Journal at a time.
type Storage interface {
	// Load returns everything stored. An error means the storage cannot be
	// used; Open returns it.
	Load() (*Stored, error)
	// Commit applies c atomically and durably: after it returns nil all of
	// it survives a crash; after an error none of it was applied and the
	// Journal retries it.
	Commit(c *Commit) error
	// Chunk returns the encoded chunk of the records s. The caller must
	// not modify the bytes.
	Chunk(s Span) ([]byte, error)
}

// Stored is what a Storage holds when it is loaded.
type Stored struct {
	// Next is the sequence number the next record gets (1 for a new log).
	Next uint64
	// Chunks holds the records of every stored chunk, in ascending order.
	Chunks []Span
	// Consumers holds every consumer's mark, by name.
	Consumers map[string]Mark
	// Cursors holds each resumable source's committed position, by source
	// name.
	Cursors map[string]string
	// IDs are the remembered status IDs, one entry per commit, oldest first.
	IDs []IDs
	// Migrated, when not empty, says what opening the storage migrated
	// from an older layout; the Journal logs it.
	Migrated string
}

// Mark is a consumer's durable position.
type Mark struct {
	// ID is the consumer's number in stored records; it never changes.
	ID uint64
	// Floor: every record below it is done for this consumer, except
	// InFlight. Records in flight (delivered, not acked) are at or above
	// it.
	Floor uint64
	// InFlight, when not 0, is a record below Floor that is delivered again
	// first. The Journal writes 0; Load accepts marks that set it.
	InFlight uint64
}

// IDs are the status IDs one commit accepted and deleted: the dedupe
// window and the deletes, kept apart from the records so that they outlive
// retention.
type IDs struct {
	// Key orders the entries: the first sequence number of the commit.
	Key uint64
	// Seen are the IDs of accepted statuses; Deleted the IDs of tombstones.
	Seen, Deleted []string
}

// Commit is one group commit.
type Commit struct {
	// First is the sequence number of the first record appended; Next the
	// one after the last (Next == First when the commit appends nothing).
	First, Next uint64
	// Chunks are the encoded chunks of those records, in order.
	Chunks []EncodedChunk
	// Marks replaces the marks of the consumers it names.
	Marks map[string]Mark
	// Cursor, when set, replaces that source's stored position.
	Cursor *Cursor
	// IDs, when set, is remembered.
	IDs *IDs
	// DropChunks names chunks to delete, DropIDs IDs entries (by Key).
	DropChunks []Span
	DropIDs    []uint64
}

// EncodedChunk is one chunk to store: its records and their encoding.
type EncodedChunk struct {
	Span
	Data []byte
}

// Span is the sequence numbers [First, End): the records of one chunk.
type Span struct {
	First, End uint64
}

// Cursor is a resumable source's position (stream.Resumer).
type Cursor struct {
	// Source is the source's name; Position its opaque cursor.
	Source, Position string
}

// chunkVersion is the first byte of every chunk.
const chunkVersion = 1

// chunkHeader starts a chunk: its version and number of records.
func chunkHeader(b []byte, n int) []byte {
	return binary.AppendUvarint(append(b, chunkVersion), uint64(n))
}

// splitChunk checks a chunk's header and returns its record count and the
// encoded records.
func splitChunk(b []byte) (int, []byte, error) {
	if len(b) < 2 || b[0] != chunkVersion {
		return 0, nil, fmt.Errorf("%w: bad chunk header", ErrCorrupt)
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > uint64(len(b)) {
		return 0, nil, fmt.Errorf("%w: bad chunk header", ErrCorrupt)
	}
	return int(n), b[1+k:], nil
}

// encodeIDs and decodeIDs are the stored form of IDs (without the key).
func encodeIDs(v *IDs) []byte {
	b := appendList(nil, v.Seen)
	return appendList(b, v.Deleted)
}

func decodeIDs(key uint64, b []byte) (IDs, error) {
	d := decoder{s: string(b)}
	v := IDs{Key: key, Seen: d.list("seen ids"), Deleted: d.list("deleted ids")}
	return v, d.err
}

// encodeMark and decodeMark are the stored form of a Mark.
func encodeMark(m Mark) []byte {
	b := binary.AppendUvarint(nil, m.ID)
	b = binary.AppendUvarint(b, m.Floor)
	return binary.AppendUvarint(b, m.InFlight)
}

func decodeMark(b []byte) (Mark, error) {
	d := decoder{s: string(b)}
	m := Mark{ID: d.uvarint("mark"), Floor: d.uvarint("mark"), InFlight: d.uvarint("mark")}
	return m, d.err
}
