package mock

import (
	"context"
	"errors"
	"log/slog"
	"math/big"

	"golang.org/x/time/rate"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/twitter"
)

// Name is the Source name of the mock; statuses keep Status.Source "twitter"
// because they are decoded Twitter messages.
const Name = "mock"

// Config configures a mock Source. The zero value replays the embedded
// corpus as fast as the consumer takes it, forever.
type Config struct {
	// Lines are the v1.1 messages to replay; nil means the embedded corpus.
	Lines [][]byte
	// Rate is how many messages per second to emit; 0 means unpaced.
	Rate float64
	// Once replays the lines a single time and then returns, instead of looping.
	Once bool
	// Logger receives malformed and unknown lines; nil discards them.
	Logger *slog.Logger
}

// Source replays v1.1 messages. It implements stream.Source.
type Source struct {
	cfg Config
}

// New returns a mock Source.
func New(cfg Config) *Source {
	if cfg.Lines == nil {
		cfg.Lines = Corpus()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg}
}

// Name returns "mock".
func (s *Source) Name() string { return Name }

// Run decodes and emits the lines in order until ctx ends, emit fails, or,
// with Once, the lines are exhausted. Lines that do not decode are logged and
// skipped, as the Twitter source does.
//
// Each loop after the first shifts every status ID (and the IDs deletes
// refer to) by the span of the corpus's IDs, so a looping mock keeps
// producing new statuses instead of duplicates that dedupe would drop.
func (s *Source) Run(ctx context.Context, emit func(stream.Event) error) error {
	var limiter *rate.Limiter
	if s.cfg.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(s.cfg.Rate), 1)
	}
	span := IDSpan(s.cfg.Lines)
	offset := new(big.Int)
	for loop := 0; ; loop++ {
		emitted := 0
		for i, line := range s.cfg.Lines {
			if err := ctx.Err(); err != nil {
				return nil
			}
			if limiter != nil {
				if err := limiter.Wait(ctx); err != nil {
					return nil // ctx ended
				}
			}
			ev, err := twitter.Decode(line)
			if err != nil {
				s.cfg.Logger.Warn("mock: skipping line", "line", i+1, "err", err)
				continue
			}
			if loop > 0 {
				shift(&ev, offset)
			}
			if err := emit(ev); err != nil {
				return err
			}
			emitted++
		}
		if emitted == 0 {
			// Looping over lines that never decode would only spin and log.
			return &stream.PermanentError{Err: errors.New("mock: none of the lines is a Twitter v1.1 message")}
		}
		if s.cfg.Once {
			return nil
		}
		offset.Add(offset, span)
	}
}

// IDSpan returns the width of the range of status IDs in lines, so that
// adding multiples of it never collides with an ID of another loop. The mock
// stream server uses it to loop its content the same way.
func IDSpan(lines [][]byte) *big.Int {
	var lo, hi *big.Int
	for _, l := range lines {
		ev, err := twitter.Decode(l)
		if err != nil || ev.Kind != stream.KindStatus {
			continue
		}
		for _, id := range []string{ev.Status.ID, ev.Status.RetweetedID} {
			n, ok := new(big.Int).SetString(id, 10)
			if !ok {
				continue
			}
			if lo == nil || n.Cmp(lo) < 0 {
				lo = n
			}
			if hi == nil || n.Cmp(hi) > 0 {
				hi = n
			}
		}
	}
	if lo == nil {
		return big.NewInt(1)
	}
	return hi.Sub(hi, lo).Add(hi, big.NewInt(1))
}

// shift adds by to every status ID in ev. IDs are decimal strings of any
// length (math/big), so long runs never overflow.
func shift(ev *stream.Event, by *big.Int) {
	add := func(id string) string {
		n, ok := new(big.Int).SetString(id, 10)
		if !ok {
			return id
		}
		return n.Add(n, by).String()
	}
	switch ev.Kind {
	case stream.KindStatus:
		st := ev.Status
		st.ID = add(st.ID)
		st.RetweetedID = add(st.RetweetedID)
		st.URL = twitter.StatusURL(st.Author.ScreenName, st.ID)
	case stream.KindDelete:
		ev.Delete.StatusID = add(ev.Delete.StatusID)
	}
}
