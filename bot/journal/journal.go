package journal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Defaults for the zero fields of Options.
const (
	DefaultAckWindow   = 1024
	DefaultCommitDelay = 2 * time.Millisecond
	DefaultCommitBatch = 1024
	DefaultTail        = 8192
	DefaultQueueCap    = 100_000
	DefaultWindow      = 100_000
)

// CursorInterval bounds how often a cursor is committed on its own: a
// stream that rarely matches would otherwise cost an fsync per event. A
// cursor riding with records is always written.
const CursorInterval = time.Second

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal: closed")

// Log is what package bot needs of a delivery log; [Journal] implements it
// (in memory or on a Storage), and journaltest's conformance suite checks
// any implementation.
type Log interface {
	// Append adds records in order, for the consumers each names, and
	// records cursor (when not empty) as the source's position after
	// them. It assigns each record's Seq and Time. It blocks while too
	// much is waiting to be committed, until ctx ends. Records must not
	// be modified afterwards.
	Append(ctx context.Context, recs []*Record, cursor string) error
	// Consumer returns the consumer at index i of Options.Consumers.
	Consumer(i int) Consumer
	// Seal says no more records will be appended: a consumer that has
	// delivered everything gets io.EOF from Next.
	Seal()
	// Close commits what is left (acks, the newest cursor) and stops.
	Close() error
}

// Consumer reads one destination's records in order. Next and Ack are
// called from one goroutine; Depth and Oldest from any.
type Consumer interface {
	// Next returns the next record for this consumer, waiting until there
	// is one; io.EOF after Seal once all are delivered and after Close, or
	// ctx's error. A record stays in flight until it is acked: after a
	// restart the records in flight are the first delivered again. Next
	// may be called again before Ack (a sink that buffers acks a batch at
	// once); it then returns the record after the last one.
	Next(ctx context.Context) (*Record, error)
	// Ack marks the records in flight up to and including seq done
	// (delivered, refused for good, or skipped on purpose). Acking a seq
	// below them does nothing.
	Ack(seq uint64)
	// Depth is the number of records waiting, those in flight included.
	Depth() int
	// Oldest is when the oldest record in flight was appended; zero when
	// none is.
	Oldest() time.Time
	// Dropped counts the records the queue cap dropped.
	Dropped() int64
}

// ConsumerOptions configures one consumer.
type ConsumerOptions struct {
	// Name identifies the consumer durably (the destination's name).
	Name string
	// Cap bounds the records waiting (the one in flight not counted);
	// beyond it the oldest are dropped. 0 means DefaultQueueCap.
	Cap int
}

// Options configures a Journal.
type Options struct {
	// Consumers are the destinations, in the order Record.To indexes them.
	Consumers []ConsumerOptions
	// AckWindow bounds, per consumer, the records acked but not yet
	// committed: after a crash at most AckWindow+1 records per consumer
	// are delivered again. 0 means DefaultAckWindow.
	AckWindow int
	// CommitDelay is how long the committer waits for more records before
	// a group commit, CommitBatch the most records in one; 0 means the
	// defaults, a negative CommitDelay commits at once.
	CommitDelay time.Duration
	CommitBatch int
	// Tail is how many committed records stay in memory as live values for
	// the consumers that keep up; older ones are read back from Storage
	// when a consumer reaches them. 0 means DefaultTail. Without Storage
	// every record stays in memory until every consumer is past it.
	Tail int
	// Window is how many accepted status IDs (and as many deleted ones)
	// are remembered across restarts; 0 means DefaultWindow.
	Window int
	// Source names the source whose cursor Append records.
	Source string
	// OnCursor, when set, is called by the committer after a cursor was
	// committed.
	OnCursor func(cursor string)
	// OnCommit, when set, is called by the committer after each commit
	// (tests).
	OnCommit func()
	// Logger receives the journal's logs; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Recovery is what a Journal found in its Storage at Open.
type Recovery struct {
	// Seen and Deleted are the remembered status IDs, oldest first.
	Seen, Deleted []string
	// Cursor is the committed position of Options.Source, if any.
	Cursor string
	// Queued holds the records waiting per configured consumer.
	Queued map[string]int
	// Orphans holds the records waiting for stored consumers that are not
	// configured any more: they are kept (not delivered) until the
	// consumer is configured again.
	Orphans map[string]int
}

// Journal is the delivery log. Create it with Open; it runs a committer
// goroutine until Close.
type Journal struct {
	st          Storage // nil: memory only
	opt         Options
	log         *slog.Logger
	cons        []*consumer
	consumerIDs []uint64       // by consumer index: the id stored in records
	byID        map[uint64]int // stored id -> consumer index
	allTo       []int          // every consumer index

	mu          sync.Mutex
	tail        []*Record // the records memStart..memStart+len-1 held in memory
	memStart    uint64
	head        uint64 // the seq the next record gets
	durable     uint64 // every record below is committed
	snapshotted uint64 // every record below is in a commit written or being written
	chunks      []Span // the stored chunks
	orphans     []orphan
	ids         []idsEntry // the stored IDs entries, oldest first
	idsCount    int        // the accepted status IDs they hold
	cursor      string     // the newest cursor appended
	committed   string     // the newest cursor committed
	cursorAt    time.Time
	dropChunks  []Span
	sealed      bool
	closing     bool
	progress    chan struct{} // closed and replaced after each commit
	kick        chan struct{} // wakes the committer
	full        chan struct{} // a batch is ready: commit without waiting
	stopped     chan struct{} // the committer returned
	closed      chan struct{} // Close was called
	err         error         // why the committer stopped, if it failed
}

type idsEntry struct {
	key uint64
	n   int // accepted status IDs: the window counts these
}

// orphan is a stored consumer that is not configured: its mark is kept and
// the chunks holding its waiting records are never dropped.
type orphan struct {
	name   string
	mark   Mark
	chunks map[uint64]bool
}

// Open loads st (nil: a log in memory) and starts the committer.
func Open(st Storage, opt Options) (*Journal, *Recovery, error) {
	opt = opt.withDefaults()
	j := &Journal{
		st: st, opt: opt, log: opt.Logger,
		head: 1, durable: 1, memStart: 1,
		progress: make(chan struct{}), kick: make(chan struct{}, 1), full: make(chan struct{}, 1),
		stopped: make(chan struct{}), closed: make(chan struct{}),
	}
	rec := &Recovery{Queued: map[string]int{}, Orphans: map[string]int{}}
	stored := &Stored{Next: 1, Consumers: map[string]Mark{}, Cursors: map[string]string{}}
	if st != nil {
		var err error
		if stored, err = st.Load(); err != nil {
			return nil, nil, err
		}
	}
	if stored.Migrated != "" {
		j.log.Warn("journal: " + stored.Migrated)
	}
	j.head = max(stored.Next, 1)
	j.durable, j.snapshotted, j.memStart = j.head, j.head, j.head
	j.chunks = stored.Chunks
	rec.Cursor = stored.Cursors[opt.Source]
	j.cursor, j.committed = rec.Cursor, rec.Cursor
	for _, e := range stored.IDs {
		rec.Seen = append(rec.Seen, e.Seen...)
		rec.Deleted = append(rec.Deleted, e.Deleted...)
		j.ids = append(j.ids, idsEntry{key: e.Key, n: len(e.Seen)})
		j.idsCount += len(e.Seen)
	}
	rec.Seen = tailOf(rec.Seen, opt.Window)
	rec.Deleted = tailOf(rec.Deleted, opt.Window)

	var nextID uint64 = 1
	for _, m := range stored.Consumers {
		nextID = max(nextID, m.ID+1)
	}
	byID := map[uint64]int{}
	for i, co := range opt.Consumers {
		m, ok := stored.Consumers[co.Name]
		if !ok {
			m = Mark{ID: nextID, Floor: j.head}
			nextID++
		}
		c := &consumer{j: j, idx: i, name: co.Name, cap: co.Cap, mark: m, stored: ok, notify: make(chan struct{}, 1)}
		byID[m.ID] = i
		j.cons = append(j.cons, c)
		j.consumerIDs = append(j.consumerIDs, m.ID)
		j.allTo = append(j.allTo, i)
	}
	for name, m := range stored.Consumers {
		if !slices.ContainsFunc(opt.Consumers, func(c ConsumerOptions) bool { return c.Name == name }) {
			j.orphans = append(j.orphans, orphan{name: name, mark: m, chunks: map[uint64]bool{}})
		}
	}
	j.byID = byID
	if err := j.rebuild(rec); err != nil {
		return nil, nil, err
	}
	go j.commitLoop()
	return j, rec, nil
}

func (o Options) withDefaults() Options {
	if o.AckWindow <= 0 {
		o.AckWindow = DefaultAckWindow
	}
	if o.CommitDelay == 0 {
		o.CommitDelay = DefaultCommitDelay
	}
	if o.CommitBatch <= 0 {
		o.CommitBatch = DefaultCommitBatch
	}
	if o.Tail <= 0 {
		o.Tail = DefaultTail
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	for i := range o.Consumers {
		if o.Consumers[i].Cap <= 0 {
			o.Consumers[i].Cap = DefaultQueueCap
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func tailOf(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// rebuild reads the stored chunks' record headers to refill each
// consumer's queue: the records for it at or above its floor, and the one
// it had in flight. A record whose header does not decode is queued for
// every consumer that has not passed it, so that each counts it failed.
// An orphaned consumer's waiting records pin their chunks.
func (j *Journal) rebuild(rec *Recovery) error {
	var ids []uint64
	for _, sp := range j.chunks {
		first, end := sp.First, sp.End
		if !j.chunkNeeded(first, end) {
			continue
		}
		b, err := j.st.Chunk(sp)
		if err != nil {
			return err
		}
		herr := eachRecord(b, sp, func(seq uint64, payload []byte, perr error) {
			var tomb bool
			if perr == nil {
				ids, tomb, perr = peekIDs(payload, ids[:0])
			}
			if tomb {
				return
			}
			for _, c := range j.cons {
				want := seq == c.mark.InFlight || seq >= c.mark.Floor
				if want && (perr != nil || slices.Contains(ids, c.mark.ID)) {
					c.enqueue(seq)
				}
			}
			for k := range j.orphans {
				o := &j.orphans[k]
				want := seq == o.mark.InFlight || seq >= o.mark.Floor
				if want && (perr != nil || slices.Contains(ids, o.mark.ID)) {
					o.chunks[first] = true
					rec.Orphans[o.name]++
				}
			}
		})
		if herr != nil {
			j.log.Error("journal: a stored chunk is unreadable: its records are counted failed", "first", first, "records", end-first, "err", herr)
		}
	}
	for _, c := range j.cons {
		c.trim()
		rec.Queued[c.name] = c.queue.len()
	}
	return nil
}

// chunkNeeded reports whether some consumer may still need a record of the
// chunk [first, end) by its stored mark.
func (j *Journal) chunkNeeded(first, end uint64) bool {
	for _, c := range j.cons {
		if end > c.mark.Floor || (c.mark.InFlight >= first && c.mark.InFlight < end) {
			return true
		}
	}
	for _, o := range j.orphans {
		if end > o.mark.Floor || (o.mark.InFlight >= first && o.mark.InFlight < end) {
			return true
		}
	}
	return false
}

// Consumer implements Log.
func (j *Journal) Consumer(i int) Consumer { return j.cons[i] }

// Append implements Log.
func (j *Journal) Append(ctx context.Context, recs []*Record, cursor string) error {
	now := j.opt.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	// Backpressure: at most what one group commit takes waits for it.
	for j.err == nil && !j.closing && j.head-j.durable >= uint64(chunksPerCommit*j.opt.CommitBatch) {
		progress := j.progress
		j.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			j.mu.Lock()
			return ctx.Err()
		}
		j.mu.Lock()
	}
	if j.closing || j.sealed {
		return ErrClosed
	}
	if j.err != nil {
		return j.err
	}
	for _, r := range recs {
		r.Seq, r.Time = j.head, now
		j.head++
		j.tail = append(j.tail, r)
		if r.Status == nil {
			continue
		}
		for _, i := range r.To {
			c := j.cons[i]
			c.enqueue(r.Seq)
			c.trim()
			poke(c.notify)
		}
	}
	if cursor != "" {
		j.cursor = cursor
	}
	poke(j.kick)
	if j.head-j.durable >= uint64(j.opt.CommitBatch) {
		poke(j.full)
	}
	return nil
}

// Seal implements Log.
func (j *Journal) Seal() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.sealed = true
	for _, c := range j.cons {
		poke(c.notify)
	}
}

// Close implements Log: it commits what is left, then stops the committer.
// It returns the error that stopped the committer, if any (what was not
// committed then is lost).
func (j *Journal) Close() error {
	j.mu.Lock()
	again := j.closing
	j.closing = true
	j.mu.Unlock()
	if !again {
		close(j.closed)
	}
	poke(j.kick)
	<-j.stopped
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range j.cons {
		poke(c.notify)
	}
	return j.err
}

// record returns the record seq from memory, or nil when it must be read
// from Storage. Call with j.mu held.
func (j *Journal) record(seq uint64) *Record {
	if seq < j.memStart || seq >= j.head {
		return nil
	}
	return j.tail[seq-j.memStart]
}

// chunkOf returns the stored chunk holding seq. Call with j.mu held.
func (j *Journal) chunkOf(seq uint64) (first, end uint64, ok bool) {
	i, found := slices.BinarySearchFunc(j.chunks, seq, func(s Span, seq uint64) int { return cmp.Compare(s.First, seq) })
	if !found {
		i--
	}
	if i < 0 {
		return 0, 0, false
	}
	return j.chunks[i].First, j.chunks[i].End, seq < j.chunks[i].End
}

// readChunk decodes the stored chunk [first, end) into records. A record
// that does not decode becomes an unreadable record for to.
func (j *Journal) readChunk(first, end uint64) []*Record {
	out := make([]*Record, 0, end-first)
	bad := func(seq uint64, err error) *Record {
		return &Record{Seq: seq, To: j.allTo, Err: fmt.Errorf("journal: record %d: %w", seq, err)}
	}
	b, err := j.st.Chunk(Span{first, end})
	if err != nil {
		for seq := first; seq < end; seq++ {
			out = append(out, bad(seq, err))
		}
		return out
	}
	eachRecord(b, Span{first, end}, func(seq uint64, payload []byte, err error) {
		var r *Record
		if err == nil {
			r, err = decodeRecord(payload, j.byID)
		}
		if err != nil {
			out = append(out, bad(seq, err))
			return
		}
		r.Seq = seq
		out = append(out, r)
	})
	return out
}

// eachRecord calls each for every seq of the chunk b holding the records
// sp, with the record's checksummed payload, or with the error that makes
// it unreadable: a bad header makes every record unreadable, a checksum
// mismatch only its own, a cut length every record from there on. It
// returns the header's error, if any.
func eachRecord(b []byte, sp Span, each func(seq uint64, payload []byte, err error)) error {
	n, body, herr := splitChunk(b)
	if herr == nil && uint64(n) != sp.End-sp.First {
		herr = fmt.Errorf("%w: the chunk holds %d records, not %d", ErrCorrupt, n, sp.End-sp.First)
	}
	err := herr
	for seq := sp.First; seq < sp.End; seq++ {
		if err != nil {
			each(seq, nil, err)
			continue
		}
		payload, rest, perr := nextRecord(body)
		if perr != nil && rest == nil { // the records cannot be split any further
			err = perr
		}
		body = rest
		each(seq, payload, perr)
	}
	return herr
}

// errMissing is the error of a record a consumer waits for that Storage
// does not hold.
func errMissing(seq uint64) error {
	return fmt.Errorf("journal: record %d: %w: not in storage", seq, ErrCorrupt)
}

// poke signals c without blocking (c has a buffer of one).
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
