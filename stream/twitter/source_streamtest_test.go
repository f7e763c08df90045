package twitter_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/sourcetest"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/twitter"
)

// These tests drive the real client path (oauth1 signing, the HTTP
// transport, framing, decoding, reconnects) against the Twitter-compatible
// mock server of package streamtest.

var mockCreds = streamtest.Credentials{
	ConsumerKey:    "it-consumer-key-4c1d",
	ConsumerSecret: "it-consumer-secret-93be",
	AccessToken:    "it-access-token-0a77",
	AccessSecret:   "it-access-secret-d5e2",
}

func clientCreds() twitter.Credentials {
	return twitter.Credentials{
		ConsumerKey: mockCreds.ConsumerKey, ConsumerSecret: mockCreds.ConsumerSecret,
		AccessToken: mockCreds.AccessToken, AccessSecret: mockCreds.AccessSecret,
	}
}

func tweet(id string) []byte {
	return []byte(`{"created_at":"Tue Mar 15 14:00:03 +0000 2022","id_str":"` + id +
		`","text":"learning python ` + id + `","lang":"en","user":{"id_str":"42","screen_name":"gopher","name":"Gopher"}}`)
}

// client is a twitter.Source pointed at a mock server, with recorded
// back-off delays and captured logs.
type client struct {
	src    *twitter.Source
	sleeps *sourcetest.Sleeps
	log    *sourcetest.Logs
}

func newClient(t *testing.T, baseURL string, mutate func(*twitter.Config)) *client {
	t.Helper()
	c := &client{sleeps: &sourcetest.Sleeps{}, log: &sourcetest.Logs{}}
	cfg := twitter.Config{
		Credentials: clientCreds(),
		BaseURL:     baseURL,
		Track:       []string{"python"},
		Logger:      c.log.Logger(),
		Sleep:       c.sleeps.Sleep,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	src, err := twitter.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.src = src
	return c
}

// run streams until stop reports enough events; Run's error is returned.
func (c *client) run(t *testing.T, stop func([]stream.Event) bool) ([]stream.Event, error) {
	t.Helper()
	return sourcetest.Run(t, c.src, c.sleeps, stop)
}

func TestStreamtestSignatureAccepted(t *testing.T) {
	t.Parallel()
	srv, ts := streamtest.NewTestServer(t, streamtest.Config{Credentials: mockCreds, Lines: [][]byte{tweet("1"), tweet("2")}, KeepAlive: -1})
	c := newClient(t, ts.URL, func(cfg *twitter.Config) { cfg.Language = []string{"en"} })
	events, err := c.run(t, sourcetest.AfterStatuses(3))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if got := sourcetest.StatusIDs(events)[:2]; !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("ids %v", got)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || !reqs[0].Verified || reqs[0].Method != "POST" {
		t.Fatalf("requests %+v", reqs)
	}
	p := reqs[0].Params
	if p.Get("track") != "python" || p.Get("stall_warnings") != "true" || p.Get("language") != "en" {
		t.Errorf("params %v", p)
	}
}

func TestStreamtestSignatureRejected(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"AccessSecret", "ConsumerSecret", "ConsumerKey"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			srv, ts := streamtest.NewTestServer(t, streamtest.Config{Credentials: mockCreds})
			c := newClient(t, ts.URL, func(cfg *twitter.Config) {
				switch field {
				case "AccessSecret":
					cfg.Credentials.AccessSecret = "wrong-access-secret"
				case "ConsumerSecret":
					cfg.Credentials.ConsumerSecret = "wrong-consumer-secret"
				case "ConsumerKey":
					cfg.Credentials.ConsumerKey = "wrong-consumer-key"
				}
			})
			_, err := c.run(t, nil)
			if !errors.Is(err, stream.ErrPermanent) {
				t.Fatalf("Run = %v, want a permanent error", err)
			}
			want := "twitter: the stream rejected the credentials (HTTP 401 Unauthorized): check TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN and TWITTER_ACCESS_SECRET"
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "Could not authenticate you.") {
				t.Errorf("error %q\nwant it to start with %q and quote the server", err, want)
			}
			if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Verified {
				t.Errorf("requests %+v: want one, unverified", reqs)
			}
			if len(c.sleeps.Delays()) != 0 {
				t.Errorf("a 401 was retried: %v", c.sleeps.Delays())
			}
			for _, secret := range []string{"wrong-access-secret", "wrong-consumer-secret", mockCreds.AccessSecret, mockCreds.ConsumerSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals %q", secret)
				}
			}
		})
	}
}

func TestStreamtestScriptedStatusCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		codes []int
		want  []time.Duration
	}{
		{[]int{503, 503, 420, 200}, []time.Duration{5 * time.Second, 10 * time.Second, time.Minute}},
		{[]int{500, 502, 503, 504, 500, 503, 503, 503}, []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second,
			40 * time.Second, 80 * time.Second, 160 * time.Second, 320 * time.Second, 320 * time.Second}},
		{[]int{429, 429, 503}, []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.codes), func(t *testing.T) {
			t.Parallel()
			srv, ts := streamtest.NewTestServer(t, streamtest.Config{Credentials: mockCreds, StatusCodes: tt.codes, Lines: [][]byte{tweet("1")}})
			c := newClient(t, ts.URL, nil)
			if _, err := c.run(t, sourcetest.AfterStatuses(1)); !errors.Is(err, sourcetest.ErrStop) {
				t.Fatalf("Run = %v", err)
			}
			if got := c.sleeps.Delays(); !slices.Equal(got, tt.want) {
				t.Errorf("delays\n got %v\nwant %v", got, tt.want)
			}
			if got := srv.Connections(); got != len(tt.want)+1 {
				t.Errorf("%d connections, want %d", got, len(tt.want)+1)
			}
		})
	}
}

func TestStreamtestPermanentCodes(t *testing.T) {
	t.Parallel()
	for _, code := range []int{401, 403, 404, 406, 413, 416} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			srv, ts := streamtest.NewTestServer(t, streamtest.Config{Credentials: mockCreds, StatusCodes: []int{code}})
			c := newClient(t, ts.URL, nil)
			_, err := c.run(t, nil)
			var se *twitter.StatusError
			if !errors.Is(err, stream.ErrPermanent) || !errors.As(err, &se) || se.StatusCode != code {
				t.Fatalf("Run = %v, want a permanent %d", err, code)
			}
			if srv.Connections() != 1 {
				t.Errorf("%d connections, want 1", srv.Connections())
			}
		})
	}
}

// The server ends every stream after two statuses, with a disconnect
// message: each is a dropped established stream, reconnected at once, and
// Resend's duplicates are all emitted (the bot dedupes).
func TestStreamtestDisconnectEvery(t *testing.T) {
	t.Parallel()
	lines := [][]byte{tweet("1"), tweet("2"), tweet("3"), tweet("4"), tweet("5")}
	srv, ts := streamtest.NewTestServer(t, streamtest.Config{
		Credentials: mockCreds, Lines: lines, Once: true, KeepAlive: -1,
		DisconnectEvery: 2, DisconnectMessage: true, Resend: 1,
	})
	c := newClient(t, ts.URL, nil)
	events, err := c.run(t, func(evs []stream.Event) bool {
		return evs[len(evs)-1].Kind == stream.KindStatus && evs[len(evs)-1].Status.ID == "5"
	})
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if got, want := sourcetest.StatusIDs(events), []string{"1", "2", "2", "3", "3", "4", "4", "5"}; !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
	disconnects := 0
	for _, e := range events {
		if e.Kind == stream.KindDisconnect {
			disconnects++
			if e.Disconnect.Code != streamtest.DisconnectCode {
				t.Errorf("disconnect %+v", e.Disconnect)
			}
		}
	}
	if disconnects != 3 {
		t.Errorf("%d disconnect events, want 3", disconnects)
	}
	if got := c.sleeps.Delays(); !slices.Equal(got, []time.Duration{0, 0, 0}) {
		t.Errorf("delays %v, want three immediate reconnects", got)
	}
	if srv.Connections() != 4 {
		t.Errorf("%d connections, want 4", srv.Connections())
	}
	if recs := c.log.Records(t, "disconnecting"); len(recs) != 3 || recs[0]["level"] != "WARN" {
		t.Errorf("disconnect logs %v", recs)
	}
}

// A stream that goes silent (no keep-alives either) is abandoned after
// StallTimeout and reopened with the TCP back-off.
func TestStreamtestStall(t *testing.T) {
	t.Parallel()
	srv, ts := streamtest.NewTestServer(t, streamtest.Config{
		Credentials: mockCreds, Lines: [][]byte{tweet("1"), tweet("2"), tweet("3")}, StallAfter: 1, KeepAlive: -1,
	})
	c := newClient(t, ts.URL, func(cfg *twitter.Config) { cfg.StallTimeout = 200 * time.Millisecond })
	events, err := c.run(t, sourcetest.AfterStatuses(2))
	if !errors.Is(err, sourcetest.ErrStop) {
		t.Fatalf("Run = %v", err)
	}
	if got := sourcetest.StatusIDs(events); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("ids %v", got)
	}
	if got := c.sleeps.Delays(); !slices.Equal(got, []time.Duration{250 * time.Millisecond}) {
		t.Errorf("delays %v, want [250ms]", got)
	}
	if srv.Connections() != 2 {
		t.Errorf("%d connections, want 2", srv.Connections())
	}
	if recs := c.log.Records(t, "reconnecting"); len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["err"]), "stalled") {
		t.Errorf("reconnect logs %v", recs)
	}
}

// Every message kind through the real server: statuses and control events
// are emitted in order; the malformed and giant lines it injects are
// skipped and logged; limit notices are logged with their count.
func TestStreamtestEveryMessageKind(t *testing.T) {
	t.Parallel()
	for _, delimited := range []bool{false, true} {
		t.Run(fmt.Sprint("delimited=", delimited), func(t *testing.T) {
			t.Parallel()
			lines := [][]byte{
				tweet("1"),
				[]byte(`{"delete":{"status":{"id":1,"id_str":"1","user_id":42,"user_id_str":"42"}}}`),
				[]byte(`{"warning":{"code":"FALLING_BEHIND","message":"Your connection is falling behind","percent_full":60}}`),
				[]byte(`{"disconnect":{"code":12,"stream_name":"x","reason":"shed load"}}`),
				[]byte(`{"scrub_geo":{"user_id":42,"up_to_status_id":1}}`),
				tweet("2"),
			}
			srv, ts := streamtest.NewTestServer(t, streamtest.Config{
				Credentials: mockCreds, Lines: lines, Once: true, KeepAlive: -1,
				LimitEvery: 1, MalformedEvery: 2, GiantEvery: 3,
			})
			c := newClient(t, ts.URL, func(cfg *twitter.Config) { cfg.Delimited = delimited })
			events, err := c.run(t, sourcetest.AfterStatuses(2))
			if !errors.Is(err, sourcetest.ErrStop) {
				t.Fatalf("Run = %v", err)
			}
			var kinds []string
			for _, e := range events {
				kinds = append(kinds, e.Kind.String())
			}
			want := []string{"status", "limit", "delete", "limit", "warning", "limit", "disconnect", "limit", "limit", "status"}
			if !slices.Equal(kinds, want) {
				t.Errorf("kinds\n got %v\nwant %v", kinds, want)
			}
			if got := srv.Requests()[0].Params.Get("delimited"); (got == "length") != delimited {
				t.Errorf("delimited param %q", got)
			}
			if recs := c.log.Records(t, "malformed"); len(recs) != 2 {
				t.Errorf("%d malformed logs, want 2 (after messages 2 and 4)", len(recs))
			} else if p, _ := recs[0]["prefix"].(string); p == "" || len(p) > 120 || !strings.HasPrefix(streamtest.MalformedLine, p) {
				t.Errorf("malformed prefix %q", p)
			}
			if recs := c.log.Records(t, "oversized"); len(recs) != 1 {
				t.Errorf("%d oversized logs, want 1 (after message 3)", len(recs))
			} else if b, _ := recs[0]["bytes"].(float64); b < streamtest.DefaultGiantBytes {
				t.Errorf("oversized bytes %v", b)
			}
			if recs := c.log.Records(t, "limit notice"); len(recs) != 5 || recs[4]["track"] != 5.0 {
				t.Errorf("limit logs %v", recs)
			}
			if len(c.sleeps.Delays()) != 0 {
				t.Errorf("reconnects %v: skipped lines must not cost a connection", c.sleeps.Delays())
			}
		})
	}
}
