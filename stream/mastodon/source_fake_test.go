package mastodon

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/sourcetest"
	"github.com/streambot/streambot/stream/mastodon/mastodontest"
)

// The whole corpus through the fake, with multi-line data, CRLF line ends
// and a stream that closes every six events: every status arrives once, in
// order, mapped as Decode maps the original document.
func TestCorpusThroughFake(t *testing.T) {
	t.Parallel()
	corpus := mastodontest.Corpus()
	srv, ts := mastodontest.NewTestServer(t, mastodontest.Config{MultiLineData: true, CRLF: true, CloseAfter: 6, Token: testToken})
	h := newHarness(t, ts.URL)
	events, err := h.run(t, afterStatuses(len(corpus)))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if len(events) != len(corpus) {
		t.Fatalf("%d events, want %d", len(events), len(corpus))
	}
	for i, ev := range events {
		want, err := Decode(EventUpdate, corpus[i])
		if err != nil {
			t.Fatalf("corpus[%d]: %v", i, err)
		}
		got := *ev.Status
		if !strings.Contains(string(got.Raw), "\n") {
			t.Errorf("status %s: Raw is not the multi-line data: %.80s", got.ID, got.Raw)
		}
		got.Raw, want.Status.Raw = nil, nil
		if !reflect.DeepEqual(got, *want.Status) {
			t.Errorf("status %d\n got %+v\nwant %+v", i, got, *want.Status)
		}
	}
	// 20 events, 6 per connection: four connections, each reopened at once.
	if got := h.sleeps.Delays(); !slices.Equal(got, []time.Duration{0, 0, 0}) {
		t.Errorf("delays %v", got)
	}
	var streams int
	for _, r := range srv.Requests() {
		if r.Attempt == 0 {
			continue
		}
		streams++
		if r.Auth != "ok" || r.TokenInQuery || len(r.Query) != 0 || r.Accept != "text/event-stream" || r.Path != mastodontest.PublicPath {
			t.Errorf("stream request %+v", r)
		}
	}
	if streams != 4 {
		t.Errorf("%d stream requests, want 4", streams)
	}
}

func TestDiscoveryWithFake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       mastodontest.Config
		wantPaths []string // instance requests, in order
		streaming bool     // the stream came from the separate server
		wantErr   string
	}{
		{"v2", mastodontest.Config{}, []string{mastodontest.InstanceV2Path}, false, ""},
		{"v1 fallback", mastodontest.Config{NoInstanceV2: true}, []string{mastodontest.InstanceV2Path, mastodontest.InstanceV1Path}, false, ""},
		{"instance itself", mastodontest.Config{NoInstanceV2: true, NoInstanceV1: true}, []string{mastodontest.InstanceV2Path, mastodontest.InstanceV1Path}, false, ""},
		{"separate host", mastodontest.Config{SeparateStreamingHost: true}, []string{mastodontest.InstanceV2Path}, true, ""},
		{"separate host via v1", mastodontest.Config{SeparateStreamingHost: true, NoInstanceV2: true}, []string{mastodontest.InstanceV2Path, mastodontest.InstanceV1Path}, true, ""},
		{"unusable announcement", mastodontest.Config{StreamingURL: "gopher://streaming.example"}, []string{mastodontest.InstanceV2Path, mastodontest.InstanceV1Path}, false, ""},
		{"separate host not announced", mastodontest.Config{SeparateStreamingHost: true, NoInstanceV2: true, NoInstanceV1: true},
			[]string{mastodontest.InstanceV2Path, mastodontest.InstanceV1Path}, false, EnvURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Token = testToken
			tt.cfg.Statuses = [][]byte{[]byte(statusData("1", "hello"))}
			srv, ts := mastodontest.NewTestServer(t, tt.cfg)
			h := newHarness(t, ts.URL)
			events, err := h.run(t, afterStatuses(1))
			if tt.wantErr != "" {
				if !errors.Is(err, stream.ErrPermanent) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run = %v, want a permanent error naming %s", err, tt.wantErr)
				}
			} else if !errors.Is(err, sourcetest.ErrStop) || len(events) != 1 {
				t.Fatalf("Run = %v, %d events", err, len(events))
			}
			var paths []string
			for _, r := range srv.Requests() {
				switch {
				case r.Attempt == 0:
					paths = append(paths, r.Path)
				case r.Streaming != tt.streaming:
					t.Errorf("stream request to the separate server: %v, want %v", r.Streaming, tt.streaming)
				}
			}
			if !slices.Equal(paths, tt.wantPaths) {
				t.Errorf("instance requests %q, want %q", paths, tt.wantPaths)
			}
		})
	}
}

// With hashtags, one connection per tag, merged: every tagged status comes
// once per tag it has, each stream in its own order.
func TestHashtagFanIn(t *testing.T) {
	t.Parallel()
	tagged := func(id string, tags ...string) []byte {
		var ts []string
		for _, tg := range tags {
			ts = append(ts, `{"name":"`+tg+`"}`)
		}
		return []byte(`{"id":"` + id + `","content":"x","account":{"id":"1","acct":"alice"},"tags":[` + strings.Join(ts, ",") + `]}`)
	}
	srv, ts := mastodontest.NewTestServer(t, mastodontest.Config{Token: testToken, Statuses: [][]byte{
		tagged("1", "python"), tagged("2", "golang"), tagged("3", "cooking"), tagged("4", "Python", "golang"),
		tagged("5", "python"), tagged("6", "golang"),
	}})
	h := newHarness(t, ts.URL, func(c *Config) { c.Hashtags = []string{"python", "#golang"} })
	events, err := h.run(t, afterStatuses(6))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	ids := statusIDs(events)
	got := slices.Sorted(slices.Values(ids))
	if want := []string{"1", "2", "4", "4", "5", "6"}; !slices.Equal(got, want) {
		t.Fatalf("statuses %q, want %q in some order", ids, want)
	}
	order := func(sub ...string) {
		i := 0
		for _, id := range ids {
			if i < len(sub) && id == sub[i] {
				i++
			}
		}
		if i != len(sub) {
			t.Errorf("statuses %q: %q out of order", ids, sub)
		}
	}
	order("1", "4", "5")
	order("2", "4", "6")
	var tags []string
	for _, r := range srv.Requests() {
		if r.Attempt > 0 {
			if r.Path != mastodontest.HashtagPath || r.Auth != "ok" {
				t.Errorf("stream request %+v", r)
			}
			tags = append(tags, r.Query.Get("tag"))
		}
	}
	if slices.Sort(tags); !slices.Equal(tags, []string{"golang", "python"}) {
		t.Errorf("tags requested %q", tags)
	}
	if got := h.obs.Events(); !slices.Equal(got, []string{"connected"}) {
		t.Errorf("observer %q, want one connected once both streams were open", got)
	}
	sourcetest.NoGoroutines(t, loopFrame(h.src))
}

// A permanent failure of one hashtag stream stops the others.
func TestHashtagPermanentFailureStopsAll(t *testing.T) {
	t.Parallel()
	_, ts := mastodontest.NewTestServer(t, mastodontest.Config{Token: testToken, StatusCodes: []int{200, 200, 403}})
	h := newHarness(t, ts.URL, func(c *Config) { c.Hashtags = []string{"a", "b", "c"} })
	_, err := h.run(t, nil)
	var se *StatusError
	if !errors.Is(err, stream.ErrPermanent) || !errors.As(err, &se) || se.StatusCode != 403 || !strings.Contains(err.Error(), "hashtag:") {
		t.Fatalf("Run = %v", err)
	}
	sourcetest.NoGoroutines(t, loopFrame(h.src))
}

// An emit error stops every hashtag stream and is Run's result.
func TestHashtagEmitError(t *testing.T) {
	t.Parallel()
	_, ts := mastodontest.NewTestServer(t, mastodontest.Config{Token: testToken})
	h := newHarness(t, ts.URL, func(c *Config) { c.Hashtags = []string{"python", "photography", "baking"} })
	events, err := h.run(t, afterStatuses(1))
	if !errors.Is(err, sourcetest.ErrStop) || len(events) != 1 {
		t.Fatalf("Run = %v after %d events", err, len(events))
	}
	sourcetest.NoGoroutines(t, loopFrame(h.src))
}

func TestPublicLocalWithFake(t *testing.T) {
	t.Parallel()
	srv, ts := mastodontest.NewTestServer(t, mastodontest.Config{Token: testToken})
	h := newHarness(t, ts.URL, func(c *Config) { c.Local = true })
	// The corpus has eleven statuses by local accounts.
	events, err := h.run(t, afterStatuses(11))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatal(err)
	}
	for _, ev := range events {
		if a := ev.Status.Author.ScreenName; strings.Contains(a, "@") {
			t.Errorf("a remote account's status on the local stream: %s by %s", ev.Status.ID, a)
		}
	}
	if r := srv.Requests(); r[len(r)-1].Path != mastodontest.PublicLocalPath {
		t.Errorf("last request %+v", r[len(r)-1])
	}
}

// Scripted 503s with Retry-After, then a stream that stalls every two
// events: the schedule is the HTTP back-off (Retry-After is shorter), and
// stalls reconnect until every status came, once and in order.
func TestFaultsWithFake(t *testing.T) {
	t.Parallel()
	var statuses [][]byte
	var want []string
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		statuses = append(statuses, []byte(statusData(id, "s"+id)))
		want = append(want, id)
	}
	srv, ts := mastodontest.NewTestServer(t, mastodontest.Config{Token: testToken, Statuses: statuses,
		StatusCodes: []int{503, 503, 200}, RetryAfter: 2, Stall: true, StallAfter: 2})
	timers := sourcetest.NewTimers()
	h := newHarness(t, ts.URL, func(c *Config) {
		c.StallTimeout = 42 * time.Second
		c.afterFunc = timers.AfterFunc
	})
	// The fake sends a connection's events once: a stall timer that fired
	// early would lose one, so the test fires it when the server is silent.
	stop, wait := stallAfter(t, timers, 5, 2, 4)
	events, err := h.run(t, stop)
	wait()
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatal(err)
	}
	if got := statusIDs(events); !slices.Equal(got, want) {
		t.Errorf("statuses %q, want %q", got, want)
	}
	delays := h.sleeps.Delays()
	if len(delays) != 4 || delays[0] != 5*time.Second || delays[1] != 10*time.Second || delays[2] != 250*time.Millisecond {
		t.Errorf("delays %v", delays)
	}
	if n := srv.Connections(); n != 5 {
		t.Errorf("%d connections, want 5 (two refused, three streams)", n)
	}
}

// A wrong token: 401 from the fake, a permanent error naming MASTODON_TOKEN.
func TestWrongTokenWithFake(t *testing.T) {
	t.Parallel()
	srv, ts := mastodontest.NewTestServer(t, mastodontest.Config{})
	h := newHarness(t, ts.URL)
	_, err := h.run(t, nil)
	if !errors.Is(err, stream.ErrPermanent) || !strings.Contains(err.Error(), EnvToken) || !strings.Contains(err.Error(), "Invalid access token") {
		t.Fatalf("Run = %v", err)
	}
	if r := srv.Requests(); r[len(r)-1].Auth != "invalid" {
		t.Errorf("fake saw %+v", r[len(r)-1])
	}
}
