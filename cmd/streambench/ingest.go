package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gotwitter "github.com/dghubble/go-twitter/twitter"
	"github.com/dghubble/oauth1"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// seed is the generator's seed: every measurement streams the same bytes.
const seed = 1

// world is a locations filter covering the globe. The mock server does not
// apply locations, so every generated status reaches the client (which
// matches "python" itself) and the server spends no time on statuses it
// would filter out.
const world = "-180,-90,180,90"

// ingestResult is what an ingest child measured over its window.
type ingestResult struct {
	Statuses   int64   `json:"statuses"`
	Matched    int64   `json:"matched"`
	Bytes      int64   `json:"bytes"`
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	GOMAXPROCS int     `json:"gomaxprocs"`
}

func (r ingestResult) rate() float64 { return float64(r.Statuses) / r.Seconds }

// recordedStatuses is how many statuses the replay server loops over:
// about 60 MB of the generator's output.
const recordedStatuses = 20_000

// measureIngest measures both clients, one after the other, on the same
// bytes: the output of a streamtest server, recorded once and replayed at
// full speed by a loopback server that only writes (the mock server itself
// spends more CPU per status generating, decoding and flushing it than our
// client does reading it, see README). Then it measures our client against
// the live mock server as well, which the server's speed bounds.
func measureIngest(ctx context.Context, o *options, progress func(string, ...any)) ([]row, error) {
	recorded, err := recordStream(ctx, recordedStatuses, url.Values{"locations": {world}})
	if err != nil {
		return nil, err
	}
	u, stop, err := serveLoopback(replay(recorded.data))
	if err != nil {
		return nil, err
	}
	var ours, stock, live ingestResult
	for _, c := range []struct {
		child string
		res   *ingestResult
	}{{"ingest-streambot", &ours}, {"ingest-gotwitter", &stock}} {
		if err := startChild(ctx, o, c.child, u, 0, 1, c.res); err != nil {
			stop()
			return nil, err
		}
		progress("%s: %.0f statuses/s", c.child, c.res.rate())
	}
	stop()
	o.stockIngest = &stock

	srv, err := streamtest.NewServer(streamtest.Config{Generator: mock.NewGenerator(seed), KeepAlive: -1})
	if err != nil {
		return nil, err
	}
	u, stop, err = serveLoopback(srv)
	if err != nil {
		return nil, err
	}
	cpu0, t0 := cpuTime(), time.Now()
	err = startChild(ctx, o, "ingest-streambot", u, 0, 1, &live)
	// This process runs nothing but the server meanwhile.
	serverLoad := (cpuTime() - cpu0).Seconds() / time.Since(t0).Seconds()
	srv.Close()
	stop()
	if err != nil {
		return nil, err
	}
	progress("ingest-streambot from the live mock server: %.0f statuses/s", live.rate())

	note := func(r ingestResult) string {
		s := fmt.Sprintf("GOMAXPROCS=%d, %.0f statuses per CPU-second, %.0f%% matched",
			r.GOMAXPROCS, float64(r.Statuses)/r.CPUSeconds, 100*float64(r.Matched)/float64(r.Statuses))
		if r.Bytes > 0 {
			s += fmt.Sprintf(", %.1f KB/status", float64(r.Bytes)/float64(r.Statuses)/1000)
		}
		return s
	}
	return []row{
		row{Name: "ingest: twitter.Source, read+frame+decode+match", Value: ours.rate(), Unit: "statuses/s", Note: note(ours)}.
			atLeast(100_000, ">= 100,000"),
		{Name: "ingest: go-twitter Filter+SwitchDemux, + match", Value: stock.rate(), Unit: "statuses/s", Note: note(stock)},
		row{Name: "ingest: ratio ours / stock", Value: ours.rate() / stock.rate(), Unit: "x"}.
			atLeast(5, ">= 5x"),
		{Name: "ingest: twitter.Source from the live mock server", Value: live.rate(), Unit: "statuses/s",
			Note: fmt.Sprintf("the server's bound: it used %.0f%% of a core to generate, decode and write; client %s", 100*serverLoad, note(live))},
	}, nil
}

// recording is a stream recorded from a streamtest server.
type recording struct {
	data     []byte // "\r\n"-framed messages, as a client receives them
	statuses int
	matched  int // statuses that track "python" matches, as the bot's route does

	// Where the statuses' own IDs occur in data ("id", "id_str" and any
	// other whole occurrence), for replayNewIDs.
	ids     []idField
	idSpan  uint64 // the IDs' range: a loop shifts them all by this much
	maxLoop uint64 // the last loop whose shifted IDs keep their width
}

// idField is one occurrence of a status ID in a recording.
type idField struct {
	off, width int
	id         uint64
}

// recordStream reads n statuses from a streamtest server with the
// generator, filtered by filter (the statuses/filter parameters), and
// returns the stream's bytes as a client receives them.
func recordStream(ctx context.Context, n int, filter url.Values) (*recording, error) {
	srv, err := streamtest.NewServer(streamtest.Config{Generator: mock.NewGenerator(seed), KeepAlive: -1})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	u, stop, err := serveLoopback(srv)
	if err != nil {
		return nil, err
	}
	defer stop()
	d := streamtest.DemoCredentials()
	client := oauth1.NewConfig(d.ConsumerKey, d.ConsumerSecret).Client(ctx, oauth1.NewToken(d.AccessToken, d.AccessSecret))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u+streamtest.FilterPath, strings.NewReader(filter.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("recording the mock stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("recording the mock stream: HTTP %d", resp.StatusCode)
	}
	rec := &recording{}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	for rec.statuses < n {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("recording the mock stream: %w", err)
		}
		rec.add(line)
	}
	rec.finish()
	return rec, nil
}

// pythonMatcher is the bot's route filter in the e2e and memory
// measurements, and what a recording's match ratio counts.
var pythonMatcher = track.MustCompile("python")

// add appends one message ("\r\n"-terminated) to the recording.
func (rec *recording) add(line []byte) {
	off := len(rec.data)
	rec.data = append(rec.data, line...)
	ev, err := twitter.Decode(bytes.TrimRight(line, "\r\n"))
	if err != nil || ev.Kind != stream.KindStatus {
		return
	}
	rec.statuses++
	if pythonMatcher.Match(ev.Status) {
		rec.matched++
	}
	id, err := strconv.ParseUint(ev.Status.ID, 10, 64)
	if err != nil {
		return
	}
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	for i := 0; ; {
		j := bytes.Index(line[i:], []byte(ev.Status.ID))
		if j < 0 {
			break
		}
		start, end := i+j, i+j+len(ev.Status.ID)
		if (start == 0 || !isDigit(line[start-1])) && (end == len(line) || !isDigit(line[end])) {
			rec.ids = append(rec.ids, idField{off: off + start, width: end - start, id: id})
		}
		i = end
	}
}

// finish sets the shift between loops: the IDs' range, so that no loop
// repeats an ID of another.
func (rec *recording) finish() {
	if len(rec.ids) == 0 {
		return
	}
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for _, f := range rec.ids {
		lo, hi = min(lo, f.id), max(hi, f.id)
	}
	rec.idSpan = hi - lo + 1
	rec.maxLoop = math.MaxUint64
	for _, f := range rec.ids {
		widest := uint64(math.MaxUint64) // the largest number of f.width digits
		if f.width < 20 {
			widest = uint64(math.Pow10(f.width)) - 1
		}
		rec.maxLoop = min(rec.maxLoop, (widest-f.id)/rec.idSpan)
	}
}

func (rec *recording) bytesPerStatus() float64 { return float64(len(rec.data)) / float64(rec.statuses) }

// replay serves stream, a recorded v1.1 stream, in a loop and as fast as
// the client reads, in 64 KiB writes, to any request.
func replay(stream []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for r.Context().Err() == nil {
			if !writeChunks(w, stream) {
				return
			}
		}
	})
}

// replayNewIDs is replay for a client that drops statuses it has seen (the
// bot's dedupe): each loop over the recording, counted server-wide so that
// a reconnecting client gets new ones too, rewrites the statuses' own IDs
// in place to new ones of the same width (the loop's number times the IDs'
// range added), as streamtest does when it loops. Between loops it only
// rewrites those digits; the rest of its work is writing, as replay's.
// The stream ends after the last loop that keeps the IDs' width (tens of
// thousands of loops).
func replayNewIDs(rec *recording) http.Handler {
	var loops atomic.Uint64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		buf := bytes.Clone(rec.data) // this stream's copy, rewritten between loops
		var digits [20]byte
		for r.Context().Err() == nil {
			loop := loops.Add(1) - 1
			if loop > rec.maxLoop {
				return
			}
			for _, f := range rec.ids {
				copy(buf[f.off:f.off+f.width], strconv.AppendUint(digits[:0], f.id+loop*rec.idSpan, 10))
			}
			if !writeChunks(w, buf) {
				return
			}
		}
	})
}

// writeChunks writes b in 64 KiB writes and reports whether all went.
func writeChunks(w io.Writer, b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), 64<<10)
		if _, err := w.Write(b[:n]); err != nil {
			return false
		}
		b = b[n:]
	}
	return true
}

// meter counts statuses and ends the measurement: it ignores the warm-up,
// then measures for the window.
type meter struct {
	w                        windows
	began, start             time.Time
	cpu0                     time.Duration
	n, matched, bytes, count int64 // count: statuses since the window began
	res                      ingestResult
}

func newMeter(w windows) *meter { return &meter{w: w, began: time.Now()} }

// add records one status and reports whether the window is over.
func (m *meter) add(size int, matched bool) bool {
	m.n++
	if m.start.IsZero() {
		if m.n%256 == 0 && time.Since(m.began) >= m.w.warmup {
			m.start, m.cpu0 = time.Now(), cpuTime()
		}
		return false
	}
	m.count++
	m.bytes += int64(size)
	if matched {
		m.matched++
	}
	if m.count%256 != 0 {
		return false
	}
	elapsed := time.Since(m.start)
	if elapsed < m.w.ingest {
		return false
	}
	m.res = ingestResult{
		Statuses: m.count, Matched: m.matched, Bytes: m.bytes, Seconds: elapsed.Seconds(),
		CPUSeconds: (cpuTime() - m.cpu0).Seconds(), GOMAXPROCS: gomaxprocs(),
	}
	return true
}

// errWindowOver ends a client's stream when its window is over.
var errWindowOver = errors.New("window over")

// ingestStreambot measures twitter.Source.
func ingestStreambot(ctx context.Context, serverURL string, w windows) (ingestResult, error) {
	src, err := twitter.NewSource(twitter.Config{Credentials: twitter.Credentials(streamtest.DemoCredentials()), BaseURL: serverURL, Locations: world})
	if err != nil {
		return ingestResult{}, err
	}
	m := track.MustCompile("python")
	mt := newMeter(w)
	err = src.Run(ctx, func(ev stream.Event) error {
		if ev.Kind == stream.KindStatus && mt.add(len(ev.Status.Raw), m.Match(ev.Status)) {
			return errWindowOver
		}
		return nil
	})
	if !errors.Is(err, errWindowOver) {
		return ingestResult{}, fmt.Errorf("the stream ended before the window: %v", err)
	}
	return mt.res, nil
}

// rewriteHost sends go-twitter's requests for stream.twitter.com to the
// mock server. It rewrites a clone: a RoundTripper must not modify its
// request.
type rewriteHost struct{ to *url.URL }

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	c := req.Clone(req.Context())
	c.URL.Scheme, c.URL.Host, c.Host = r.to.Scheme, r.to.Host, r.to.Host
	return http.DefaultTransport.RoundTrip(c)
}

// ingestGoTwitter measures go-twitter's stock stream: Streams.Filter and a
// SwitchDemux whose Tweet handler builds what the matcher needs.
func ingestGoTwitter(ctx context.Context, serverURL string, w windows) (ingestResult, error) {
	to, err := url.Parse(serverURL)
	if err != nil {
		return ingestResult{}, err
	}
	d := streamtest.DemoCredentials()
	httpCtx := context.WithValue(ctx, oauth1.HTTPClient, &http.Client{Transport: rewriteHost{to}})
	client := oauth1.NewConfig(d.ConsumerKey, d.ConsumerSecret).Client(httpCtx, oauth1.NewToken(d.AccessToken, d.AccessSecret))
	st, err := gotwitter.NewClient(client).Streams.Filter(&gotwitter.StreamFilterParams{Locations: strings.Split(world, ",")})
	if err != nil {
		return ingestResult{}, err
	}
	defer st.Stop()
	m := track.MustCompile("python")
	mt := newMeter(w)
	over := false
	demux := gotwitter.NewSwitchDemux()
	demux.Tweet = func(t *gotwitter.Tweet) {
		over = mt.add(0, m.Match(statusOf(t))) // go-twitter keeps no raw bytes to count
	}
	for msg := range st.Messages {
		demux.Handle(msg)
		if over {
			return mt.res, nil
		}
	}
	return ingestResult{}, errors.New("the stock stream ended before the window")
}

// statusOf is the least a go-twitter user builds to match a tweet as
// Twitter does: the full text and the entities, of the original for a
// retweet.
func statusOf(t *gotwitter.Tweet) *stream.Status {
	c := t
	if t.RetweetedStatus != nil {
		c = t.RetweetedStatus
	}
	s := &stream.Status{ID: t.IDStr, Text: c.Text}
	ents := c.Entities
	if x := c.ExtendedTweet; x != nil && x.FullText != "" {
		s.Text, ents = x.FullText, x.Entities
	}
	if ents != nil {
		for _, h := range ents.Hashtags {
			s.Hashtags = append(s.Hashtags, h.Text)
		}
		for _, u := range ents.UserMentions {
			s.Mentions = append(s.Mentions, u.ScreenName)
		}
		for _, u := range ents.Urls {
			s.URLs = append(s.URLs, stream.URL{Expanded: u.ExpandedURL, Display: u.DisplayURL})
		}
	}
	return s
}
