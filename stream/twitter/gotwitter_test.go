package twitter_test

// These tests hold the v1.1 source to go-twitter, the library the project
// started from: its types are the reference for what a decoded tweet means,
// and its stock stream shows the gaps the source closes.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gotwitter "github.com/dghubble/go-twitter/twitter"
	"github.com/dghubble/oauth1"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// TestDecodeAgreesWithGoTwitterTypes decodes every tweet of the embedded
// corpus with our lean decoder and with go-twitter's full Tweet type, and
// checks that both read the same id, author, language, retweet and text.
func TestDecodeAgreesWithGoTwitterTypes(t *testing.T) {
	t.Parallel()
	tweets := 0
	for i, line := range mock.Corpus() {
		ev, err := twitter.Decode(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if ev.Kind != stream.KindStatus {
			continue
		}
		tweets++
		var ref gotwitter.Tweet
		if err := json.Unmarshal(line, &ref); err != nil {
			t.Fatalf("line %d: go-twitter cannot decode it: %v", i+1, err)
		}
		s := ev.Status
		content := &ref
		if ref.RetweetedStatus != nil {
			content = ref.RetweetedStatus
		}
		text := content.Text
		if content.ExtendedTweet != nil && content.ExtendedTweet.FullText != "" {
			text = content.ExtendedTweet.FullText
		}
		if ref.RetweetedStatus != nil {
			text = "RT @" + content.User.ScreenName + ": " + text
		}
		text = unescapeTwitter(text)
		switch {
		case s.ID != ref.IDStr:
			t.Errorf("line %d: ID %q, go-twitter %q", i+1, s.ID, ref.IDStr)
		case s.Author.ScreenName != ref.User.ScreenName || s.Author.Name != ref.User.Name:
			t.Errorf("line %d: author %+v, go-twitter %q/%q", i+1, s.Author, ref.User.ScreenName, ref.User.Name)
		case s.Lang != ref.Lang:
			t.Errorf("line %d: lang %q, go-twitter %q", i+1, s.Lang, ref.Lang)
		case s.IsRetweet != (ref.RetweetedStatus != nil) || s.IsQuote != (ref.QuotedStatus != nil):
			t.Errorf("line %d: retweet/quote flags differ", i+1)
		case s.Text != text:
			t.Errorf("line %d: text\n ours %q\n ref  %q", i+1, s.Text, text)
		}
		if ts, err := ref.CreatedAtTime(); err != nil || !ts.Equal(s.CreatedAt) {
			t.Errorf("line %d: created at %v, go-twitter %v (%v)", i+1, s.CreatedAt, ts, err)
		}
	}
	if tweets < 30 {
		t.Fatalf("only %d tweets compared", tweets)
	}
}

// unescapeTwitter undoes the only escaping Twitter applies to texts.
var unescapeTwitter = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace

// rewriteHost sends requests for stream.twitter.com to a test server. It
// rewrites a clone, as a RoundTripper must not modify its request.
type rewriteHost struct{ to *url.URL }

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	c := req.Clone(req.Context())
	c.URL.Scheme, c.URL.Host, c.Host = r.to.Scheme, r.to.Host, r.to.Host
	return http.DefaultTransport.RoundTrip(c)
}

// TestStockStreamStopsSilentlyOn401 documents the gap that made us read the
// stream ourselves: go-twitter's Streams.Filter, rejected with HTTP 401,
// closes its Messages channel without any error a caller could see, while
// our Source returns a permanent error naming the credentials to check.
func TestStockStreamStopsSilentlyOn401(t *testing.T) {
	t.Parallel()
	srv, ts := streamtest.NewTestServer(t, streamtest.Config{})
	to, _ := url.Parse(ts.URL)
	wrong := streamtest.DemoCredentials()
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: rewriteHost{to}})
	httpClient := oauth1.NewConfig(wrong.ConsumerKey, "not-the-secret").Client(ctx, oauth1.NewToken(wrong.AccessToken, wrong.AccessSecret))

	st, err := gotwitter.NewClient(httpClient).Streams.Filter(&gotwitter.StreamFilterParams{Track: []string{"python"}})
	if err != nil {
		t.Fatalf("Filter: %v", err)
	}
	select {
	case msg, ok := <-st.Messages:
		if ok {
			t.Fatalf("stock stream delivered %T after a 401", msg)
		}
	case <-time.After(10 * time.Second): // a bound on a failure, not synchronization
		t.Fatal("stock stream neither delivered nor closed")
	}
	if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Status != http.StatusUnauthorized {
		t.Fatalf("server saw %+v, want one 401", reqs)
	}
	// The stock stream has nothing more to say. Ours, on the same server:
	src, err := twitter.NewSource(twitter.Config{
		Credentials: twitter.Credentials{ConsumerKey: wrong.ConsumerKey, ConsumerSecret: "not-the-secret", AccessToken: wrong.AccessToken, AccessSecret: wrong.AccessSecret},
		BaseURL:     ts.URL,
		Track:       []string{"python"},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = src.Run(context.Background(), func(stream.Event) error { return nil })
	if !errors.Is(err, stream.ErrPermanent) {
		t.Fatalf("our source returned %v, want a permanent error", err)
	}
}

// recordingObserver records connection changes; safe for concurrent use.
type recordingObserver struct {
	mu     sync.Mutex
	events []string
}

func (r *recordingObserver) Connected() { r.add("connected") }
func (r *recordingObserver) Disconnected(reason string) {
	r.add("disconnected:" + reason)
}
func (r *recordingObserver) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func TestObserverHearsConnectionsAndReasons(t *testing.T) {
	t.Parallel()
	_, ts := streamtest.NewTestServer(t, streamtest.Config{StatusCodes: []int{503}, DisconnectEvery: 2, Once: true})
	demo := streamtest.DemoCredentials()
	src, err := twitter.NewSource(twitter.Config{
		Credentials: twitter.Credentials(demo),
		BaseURL:     ts.URL,
		Track:       []string{"python"},
		Sleep:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		t.Fatal(err)
	}
	obs := &recordingObserver{}
	src.Observe(obs)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	src.Run(ctx, func(ev stream.Event) error {
		if ev.Kind == stream.KindStatus {
			if n++; n == 4 {
				cancel()
			}
		}
		return nil
	})
	obs.mu.Lock()
	got := strings.Join(obs.events, " ")
	obs.mu.Unlock()
	if want := "disconnected:http connected disconnected:dropped connected"; !strings.HasPrefix(got, want) {
		t.Errorf("observer heard %q, want it to start with %q", got, want)
	}
}

// world is a locations filter that covers the globe. The mock server does
// not apply locations, so with it every generated status reaches the client
// and the server does not spend its time on statuses it filters out; the
// client matches "python" itself.
const world = "-180,-90,180,90"

// ingestServer serves generated statuses as fast as the client reads.
func ingestServer(b *testing.B) *url.URL {
	b.Helper()
	_, ts := streamtest.NewTestServer(b, streamtest.Config{Generator: mock.NewGenerator(1), KeepAlive: -1})
	u, _ := url.Parse(ts.URL)
	return u
}

// BenchmarkIngest reads, frames, decodes and matches generated statuses
// (2–6 KB each) from the mock server over loopback: our Source against
// go-twitter's stock Streams.Filter with a SwitchDemux, on the same bytes.
// Each op is one status. The server runs in the same process, so its cost
// (generating and writing each status) is included; cmd/streambench
// measures the client alone.
func BenchmarkIngest(b *testing.B) {
	m := track.MustCompile("python")
	demo := streamtest.DemoCredentials()
	b.Run("streambot", func(b *testing.B) {
		u := ingestServer(b)
		src, err := twitter.NewSource(twitter.Config{
			Credentials: twitter.Credentials(demo),
			BaseURL:     u.String(),
			Locations:   world,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n, matched := 0, 0
		b.ReportAllocs()
		b.ResetTimer()
		err = src.Run(ctx, func(ev stream.Event) error {
			if ev.Kind != stream.KindStatus {
				return nil
			}
			if m.Match(ev.Status) {
				matched++
			}
			if n++; n == b.N {
				cancel()
			}
			return nil
		})
		b.StopTimer()
		if err != nil || n < b.N || matched == 0 && b.N > 100 {
			b.Fatalf("Run: %v after %d statuses, %d matched", err, n, matched)
		}
	})
	b.Run("go-twitter", func(b *testing.B) {
		u := ingestServer(b)
		ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: rewriteHost{u}})
		httpClient := oauth1.NewConfig(demo.ConsumerKey, demo.ConsumerSecret).Client(ctx, oauth1.NewToken(demo.AccessToken, demo.AccessSecret))
		b.ReportAllocs()
		b.ResetTimer()
		st, err := gotwitter.NewClient(httpClient).Streams.Filter(&gotwitter.StreamFilterParams{Locations: strings.Split(world, ",")})
		if err != nil {
			b.Fatal(err)
		}
		n, matched := 0, 0
		demux := gotwitter.NewSwitchDemux()
		demux.Tweet = func(t *gotwitter.Tweet) {
			if m.Match(statusOf(t)) {
				matched++
			}
			n++
		}
		for msg := range st.Messages {
			demux.Handle(msg)
			if n == b.N {
				break
			}
		}
		b.StopTimer()
		st.Stop()
		if n < b.N || matched == 0 && b.N > 100 {
			b.Fatalf("stock stream ended after %d statuses, %d matched", n, matched)
		}
	})
}

// statusOf is the least a go-twitter user must build to match a tweet as
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

// generated returns n statuses of the load generator and their total size.
func generated(n int) ([][]byte, int64) {
	g := mock.NewGenerator(1)
	lines := make([][]byte, n)
	var size int64
	for i := range lines {
		lines[i] = g.Next(nil)
		size += int64(len(lines[i]))
	}
	return lines, size
}

// BenchmarkDecodeGenerated decodes the load generator's statuses (2–6 KB,
// with user objects, entities, extended tweets and nested retweets), the
// mix cmd/streambench streams: with Decode, and as go-twitter's stock stream
// does (into a map to classify the message, then into a Tweet). Each op is
// one status.
func BenchmarkDecodeGenerated(b *testing.B) {
	lines, size := generated(1000)
	b.Run("streambot", func(b *testing.B) {
		b.SetBytes(size / int64(len(lines)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := twitter.Decode(lines[i%len(lines)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("go-twitter", func(b *testing.B) {
		b.SetBytes(size / int64(len(lines)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			line := lines[i%len(lines)]
			var m map[string]any
			var t gotwitter.Tweet
			if json.Unmarshal(line, &m) != nil || json.Unmarshal(line, &t) != nil {
				b.Fatal("cannot decode")
			}
			i++
		}
	})
}
