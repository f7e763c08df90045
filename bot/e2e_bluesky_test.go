package bot_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/telegram"
	"github.com/streambot/streambot/handlers/telegram/telegramtest"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/bluesky"
	"github.com/streambot/streambot/stream/bluesky/jetstreamtest"
	"github.com/streambot/streambot/stream/track"
)

// The record keys of the corpus posts that mention python, in stream order,
// and the one of them the corpus deletes soon after.
var (
	blueskyPython = []string{"3l3qo2vutsw2b", "3l3qo33pkdf2d", "3l3qo3a7hxk2e", "3l3qo3oz5sb2g",
		"3l3qo4c2rrd2i", "3l3qo4jnqvk2j", "3l3qo5sfcjo2o", "3l3qo6ekl3b2r"}
	blueskyDeleted = "3l3qo4jnqvk2j"
)

// committedSource is the Jetstream source with a signal on every Committed
// call from the bot; package bot still sees a stream.Resumer and an
// ObservableSource.
type committedSource struct {
	*bluesky.Source
	committed chan struct{} // buffered, coalesced
}

func (s *committedSource) Committed(cursor string) {
	s.Source.Committed(cursor)
	select {
	case s.committed <- struct{}{}:
	default:
	}
}

// newBlueskySource returns the source for the fake at url. The first
// reconnect waits until the bot has committed a cursor (at most a second
// after the events, see bot's cursor interval), so that it resumes from a
// committed cursor minus the rewind rather than live; it gives up after 10
// s, which only bounds a failure. Later ones wait for the next commit or
// the back-off, whichever comes first.
func newBlueskySource(t *testing.T, url string) *committedSource {
	t.Helper()
	s := &committedSource{committed: make(chan struct{}, 1)}
	first := true
	src, err := bluesky.NewSource(bluesky.Config{
		URL: url,
		Sleep: func(ctx context.Context, d time.Duration) error {
			if first {
				d, first = 10*time.Second, false
			}
			tm := time.NewTimer(d)
			defer tm.Stop()
			select {
			case <-s.committed:
			case <-tm.C:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Source = src
	return s
}

// blueskyBot wires src to a fake Telegram chat through the route "python".
func blueskyBot(t *testing.T, ctx context.Context, src stream.Source, tg *telegramtest.Server, store bot.Store) *bot.Bot {
	t.Helper()
	sender, err := telegram.New(ctx, telegram.Config{Token: tg.Token, BaseURL: tg.URL, Chats: []string{"42"}, Limits: telegram.NoLimits()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.New(bot.Config{
		Source:        src,
		Routes:        []bot.Route{{Name: "python", Filter: handlers.Match(track.MustCompile("python")), Destinations: []string{"telegram"}}},
		Destinations:  []bot.Destination{{Name: "telegram", Handler: sender}},
		Store:         store,
		StatsInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var postLink = regexp.MustCompile(`https://bsky\.app/profile/[^/"]+/post/([a-z0-9]+)`)

// sentKeys returns the record keys of the posts the fake Telegram received.
func sentKeys(t *testing.T, tg *telegramtest.Server) []string {
	t.Helper()
	var keys []string
	for _, r := range tg.Sent() {
		m := postLink.FindStringSubmatch(r.Text)
		if m == nil {
			t.Fatalf("a message without a post link: %q", r.Text)
		}
		if _, err := telegramtest.ParseHTML(r.Text); err != nil {
			t.Errorf("invalid HTML sent: %v\n%s", err, r.Text)
		}
		keys = append(keys, m[1])
	}
	return keys
}

// runUntilSent runs b until Telegram has received the post with record key
// last (destinations deliver in order, so everything before it is done),
// then stops it.
func runUntilSent(t *testing.T, ctx context.Context, b *bot.Bot, tg *telegramtest.Server, last string) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	timeout := time.After(30 * time.Second)
	for !slices.Contains(sentKeys(t, tg), last) {
		select {
		case <-tg.Received():
		case err := <-done:
			t.Fatalf("bot stopped early: %v", err)
		case <-timeout:
			t.Fatalf("post %s never reached Telegram; sent %q", last, sentKeys(t, tg))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// corpusTimes maps each corpus post's record key to its time_us.
func corpusTimes(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, l := range jetstreamtest.Corpus() {
		var m struct {
			TimeUS int64 `json:"time_us"`
			Commit struct {
				RKey string `json:"rkey"`
			} `json:"commit"`
		}
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		if m.Commit.RKey != "" {
			out[m.Commit.RKey] = m.TimeUS
		}
	}
	return out
}

// TestBlueskyStreamToTelegram runs the real path: the fake Jetstream
// (closing every connection after 10 events, so the source reconnects from
// the committed cursor minus 5 s and re-reads) → bluesky source → bot →
// the fake Bot API. Every python post arrives once, in order; the deleted
// one is either delivered or cancelled, and the stats agree.
func TestBlueskyStreamToTelegram(t *testing.T) {
	t.Parallel()
	jet, srv := jetstreamtest.NewTestServer(t, jetstreamtest.Config{CloseAfter: 10})
	tg := telegramtest.NewServer(t, "123456:TEST-telegram-token")
	src := newBlueskySource(t, srv.URL)
	b := blueskyBot(t, t.Context(), src, tg, nil)
	runUntilSent(t, t.Context(), b, tg, blueskyPython[len(blueskyPython)-1])

	got := sentKeys(t, tg)
	deliveredDeleted := slices.Contains(got, blueskyDeleted)
	want := slices.DeleteFunc(slices.Clone(blueskyPython), func(k string) bool { return k == blueskyDeleted && !deliveredDeleted })
	if !slices.Equal(got, want) {
		t.Fatalf("posts sent to Telegram\n got %q\nwant %q (each once, in stream order)", got, want)
	}
	st := b.Stats()
	ds := st.Destinations["telegram"]
	if wantCancelled := map[bool]int64{true: 0, false: 1}[deliveredDeleted]; ds.Cancelled != wantCancelled || ds.Forwarded != int64(len(got)) {
		t.Errorf("deleted post delivered %v, but stats say forwarded %d, cancelled %d", deliveredDeleted, ds.Forwarded, ds.Cancelled)
	}
	if st.Deletes == 0 {
		t.Error("the delete did not reach the bot") // more than one when a replay re-reads it
	}
	conns := jet.Connections()
	if len(conns) < 2 {
		t.Fatalf("%d connections: the test did not exercise a reconnect", len(conns))
	}
	if conns[1].Cursor == "" || conns[1].First >= conns[0].Last {
		t.Errorf("second connection from cursor %q started at %d, before the first ended at %d? want a rewound replay",
			conns[1].Cursor, conns[1].First, conns[0].Last)
	}
	if st.Duplicates == 0 {
		t.Error("no duplicate was dropped: the replay re-sent nothing")
	}
	// The text of the hostile post reached Telegram escaped.
	for _, r := range tg.Sent() {
		if strings.Contains(r.Text, "3l3qo4c2rrd2i") && !strings.Contains(r.Text, "python &lt;b&gt;bold&lt;/b&gt; &amp;amp;") {
			t.Errorf("hostile post sent as %q", r.Text)
		}
	}
}

// TestBlueskyResumesFromStoredCursor: a second bot on the same outbox
// resumes the stream from the cursor the first one committed, minus the
// rewind, and the posts it re-reads are not sent again.
func TestBlueskyResumesFromStoredCursor(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	tg := telegramtest.NewServer(t, "123456:TEST-telegram-token")
	times := corpusTimes(t)
	last := blueskyPython[len(blueskyPython)-1]

	// Run 1: the whole corpus.
	_, srv1 := jetstreamtest.NewTestServer(t, jetstreamtest.Config{})
	ob, err := bot.OpenOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	runUntilSent(t, t.Context(), blueskyBot(t, t.Context(), newBlueskySource(t, srv1.URL), tg, ob), tg, last)
	snap, err := ob.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}
	stored := snap.Cursors[bluesky.SourceName]
	if want := strconv.FormatInt(times[last], 10); stored != want {
		t.Fatalf("stored cursor %q, want %s, the time_us of the last post read", stored, want)
	}
	firstRun := len(tg.Sent())

	// Run 2: the same stream plus one new python post.
	newPost := jetstreamtest.Post(times[last]+1_000_000, "did:plc:z72i7hdynmk6r22z27h6tvur", "3l3qo7newpy2s", "python again, after the restart")
	jet2, srv2 := jetstreamtest.NewTestServer(t, jetstreamtest.Config{Events: append(jetstreamtest.Corpus(), newPost)})
	ob2, err := bot.OpenOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ob2.Close()
	b2 := blueskyBot(t, t.Context(), newBlueskySource(t, srv2.URL), tg, ob2)
	runUntilSent(t, t.Context(), b2, tg, "3l3qo7newpy2s")

	conns := jet2.Connections()
	if want := strconv.FormatInt(times[last]-5_000_000, 10); len(conns) == 0 || conns[0].Cursor != want {
		t.Fatalf("second run's first connection %+v, want cursor %s (stored minus 5 s)", conns, want)
	}
	if got := sentKeys(t, tg)[firstRun:]; !slices.Equal(got, []string{"3l3qo7newpy2s"}) {
		t.Errorf("second run sent %q, want only the new post (the re-read ones are known)", got)
	}
	if st := b2.Stats(); st.Duplicates < 2 {
		t.Errorf("second run dropped %d duplicates, want the re-read python posts", st.Duplicates)
	}
}

// The Jetstream source reports its connection and resumes.
var (
	_ bot.ObservableSource = (*bluesky.Source)(nil)
	_ stream.Resumer       = (*committedSource)(nil)
)
