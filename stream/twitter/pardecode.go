package twitter

import (
	"errors"
	"log/slog"
	"runtime"
	"sync"

	"github.com/streambot/streambot/stream"
)

// Decoding is most of what reading a fast stream costs. With more than one
// CPU, a connection is therefore read by a framing goroutine that copies
// messages into batches, a few goroutines decode the batches, and the
// goroutine that called Run emits the events in stream order, as before. A
// batch is submitted when it is full or when the buffer holds no further
// whole message (the next read may wait for the network), so a slow stream
// is emitted as soon as each message arrives.

const (
	decodeBatch   = 64 // messages in one batch
	batchesAhead  = 8  // batches submitted and not yet emitted
	maxDecoders   = 4
	arenaCapacity = 256 << 10
)

// parallelDecoding reports whether connections decode on several goroutines.
func parallelDecoding() bool { return runtime.GOMAXPROCS(0) > 1 }

// batch is a run of messages, copied into one arena, and once done is
// closed their decoded events.
type batch struct {
	arena []byte
	ends  []int // message i is arena[ends[i-1]:ends[i]]
	evs   []stream.Event
	errs  []error
	done  chan struct{}
	// oversized holds, at the index of an empty message, a line that was
	// skipped there: it is logged in order with the events.
	oversized map[int]*LineTooLongError
}

func (b *batch) msg(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.arena[start:b.ends[i]]
}

// readPipelined reads fr to its end, decoding on other goroutines, and
// calls handle for every message in order on the calling goroutine. It
// returns the error that ended the stream with a copy of the unterminated
// bytes that came with it, or the first error of handle, after calling
// stop to make the pending read return. Every goroutine it started has
// ended when it returns.
func readPipelined(fr *frameReader, decode func([]byte) (stream.Event, error),
	handle func(msg []byte, ev stream.Event, err error) error, stop func(), log *slog.Logger) (tail []byte, readErr, handleErr error) {
	work := make(chan *batch, batchesAhead)
	ordered := make(chan *batch, batchesAhead)
	free := make(chan *batch, batchesAhead+2)
	quit := make(chan struct{}) // the emitter gave up: the reader stops
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), maxDecoders) {
		wg.Go(func() {
			for b := range work {
				for i := range b.ends {
					if b.oversized[i] == nil {
						b.evs[i], b.errs[i] = decode(b.msg(i))
					}
				}
				close(b.done)
			}
		})
	}
	wg.Go(func() {
		defer close(work)
		defer close(ordered)
		var cur *batch
		submit := func() bool {
			if cur == nil {
				return true
			}
			b := cur
			cur = nil
			b.evs = append(b.evs[:0], make([]stream.Event, len(b.ends))...)
			b.errs = append(b.errs[:0], make([]error, len(b.ends))...)
			select {
			case ordered <- b:
			case <-quit:
				return false
			}
			work <- b
			return true
		}
		for {
			msg, err := fr.next()
			var tooLong *LineTooLongError
			if err != nil && !errors.As(err, &tooLong) {
				if submit() {
					tail, readErr = append([]byte(nil), msg...), err
				}
				return
			}
			if cur == nil {
				select {
				case cur = <-free:
				default:
					cur = &batch{arena: make([]byte, 0, arenaCapacity)}
				}
				cur.arena, cur.ends, cur.done = cur.arena[:0], cur.ends[:0], make(chan struct{})
				clear(cur.oversized)
			}
			if tooLong != nil {
				if cur.oversized == nil {
					cur.oversized = map[int]*LineTooLongError{}
				}
				cur.oversized[len(cur.ends)] = tooLong
			} else {
				cur.arena = append(cur.arena, msg...)
			}
			cur.ends = append(cur.ends, len(cur.arena))
			if (len(cur.ends) >= decodeBatch || !fr.hasMessage()) && !submit() {
				return
			}
		}
	})

	for b := range ordered {
		<-b.done
		for i := range b.ends {
			if tooLong := b.oversized[i]; tooLong != nil && handleErr == nil {
				log.Warn("twitter: skipping an oversized message", "bytes", tooLong.Size, "max", tooLong.Max)
			} else if handleErr == nil {
				handleErr = handle(b.msg(i), b.evs[i], b.errs[i])
				if handleErr != nil {
					close(quit)
					stop()
				}
			}
		}
		clear(b.evs) // let the statuses go
		select {
		case free <- b:
		default:
		}
	}
	wg.Wait()
	return tail, readErr, handleErr
}
