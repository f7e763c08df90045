package bot_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/telegram"
	"github.com/streambot/streambot/handlers/telegram/telegramtest"
	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/mastodon"
	"github.com/streambot/streambot/stream/mastodon/mastodontest"
	"github.com/streambot/streambot/stream/track"
)

// TestMastodonStreamToTelegram runs the real path: the fake Mastodon
// instance (discovery, bearer token, server-sent events, a stream that
// closes every nine events and is reopened) → mastodon source → bot (route
// "python") → the fake Bot API.
//
// The script is the corpus, then a delete of a python post that is still
// queued, an edit that makes a non-matching post match, and a marker post.
// The first delivery is held until the route filter has seen the marker:
// the dispatcher handles events in order, so the delete was handled by
// then, and the deleted post, queued behind the held one, must not be sent.
func TestMastodonStreamToTelegram(t *testing.T) {
	t.Parallel()
	const (
		deletedID = "113500000000000005"
		editedID  = "113500000000000011"
		markerID  = "113500000000000021"
		editedAt  = "2024-11-05T10:30:00.000Z"
	)
	corpus := mastodontest.Corpus()
	var events []mastodontest.Event
	for _, doc := range corpus {
		events = append(events, mastodontest.Update(doc))
	}
	edit := withFields(t, corpus[10], map[string]any{"edited_at": editedAt, "content": "<p>Writing pythonic code is an art. Python code, that is.</p>"})
	marker := withFields(t, corpus[19], map[string]any{"id": markerID, "url": "https://social.example/@quinn/" + markerID,
		"content": "<p>marker: python &amp; friends</p>"})
	events = append(events, mastodontest.Delete(deletedID), mastodontest.Edit(edit), mastodontest.Update(marker))

	fake, inst := mastodontest.NewTestServer(t, mastodontest.Config{Events: events, CloseAfter: 9, Heartbeat: 10 * time.Millisecond})
	const token = "123456:TEST-telegram-token"
	tg := telegramtest.NewServer(t, token)

	src, err := mastodon.NewSource(mastodon.Config{
		InstanceURL: inst.URL,
		Token:       mastodontest.DemoToken,
		Sleep:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() }, // reconnect at once
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sender, err := telegram.New(ctx, telegram.Config{Token: token, BaseURL: tg.URL, Chats: []string{"42"}, Limits: telegram.NoLimits()})
	if err != nil {
		t.Fatal(err)
	}

	markerSeen, release := make(chan struct{}), make(chan struct{})
	var seenOnce, gateOnce sync.Once
	spy := func(next handlers.Handler) handlers.Handler {
		return handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
			if s.ID == markerID {
				seenOnce.Do(func() { close(markerSeen) })
			}
			return next.Handle(ctx, s)
		})
	}
	match := handlers.Match(track.MustCompile("python"))
	gate := handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
		gateOnce.Do(func() {
			select {
			case <-release:
			case <-ctx.Done():
			}
		})
		return sender.Handle(ctx, s)
	})
	go func() {
		select {
		case <-markerSeen:
			close(release)
		case <-ctx.Done():
		}
	}()

	b, err := bot.New(bot.Config{
		Source:        src,
		Routes:        []bot.Route{{Name: "python", Filter: func(next handlers.Handler) handlers.Handler { return spy(match(next)) }, Destinations: []string{"telegram"}}},
		Destinations:  []bot.Destination{{Name: "telegram", Handler: gate}},
		StatsInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()

	// The corpus's python posts but the deleted one, then the edit and the marker.
	var want []string
	for _, id := range mastodontest.CorpusPythonIDs() {
		if id != deletedID {
			want = append(want, id)
		}
	}
	want = append(want, editedID+"@"+editedAt, markerID)
	timeout := time.After(30 * time.Second) // bounds a failure only
	for len(tg.Sent()) < len(want) {
		select {
		case <-tg.Received():
		case err := <-done:
			t.Fatalf("bot stopped early: %v", err)
		case <-timeout:
			t.Fatalf("%d of %d messages reached Telegram", len(tg.Sent()), len(want))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	byID := map[string]string{} // status ID → the link its message must end with
	for _, doc := range append(corpus, marker) {
		ev, err := mastodon.Decode(mastodon.EventUpdate, doc)
		if err != nil {
			t.Fatal(err)
		}
		byID[ev.Status.ID] = ev.Status.URL
	}
	byID[editedID+"@"+editedAt] = byID[editedID]
	sent := tg.Sent()
	if len(sent) != len(want) {
		t.Fatalf("%d messages sent, want %d", len(sent), len(want))
	}
	for i, r := range sent {
		link := byID[want[i]]
		if !strings.HasSuffix(r.Text, `<a href="`+link+`">`+link+`</a>`) {
			t.Errorf("message %d is not status %s:\n%s", i, want[i], r.Text)
		}
		if _, err := telegramtest.ParseHTML(r.Text); err != nil || r.ParseMode != "HTML" || r.ChatID != "42" {
			t.Errorf("message %d: invalid HTML (%v) or parse_mode %q or chat %q", i, err, r.ParseMode, r.ChatID)
		}
		if strings.Contains(r.Text, mastodontest.DemoToken) {
			t.Errorf("message %d holds the token", i)
		}
	}
	exact := map[string]string{
		"113500000000000006": "<b>Dave</b> (@dave@fosstodon.example)\nCW: python packaging rant\nWhy do we still have setup.py, setup.cfg AND pyproject.toml?\n" +
			`<a href="https://fosstodon.example/@dave/113500000000000006">https://fosstodon.example/@dave/113500000000000006</a>`,
		"113500000000000007": "<b>Erin</b> (@erin)\nRT @alice: Finally moved our ETL jobs to Python 3.13. The free-threaded build is fun to play with.\n" +
			`<a href="https://social.example/@alice/113500000000000001">https://social.example/@alice/113500000000000001</a>`,
		editedID + "@" + editedAt: "<b>Hank</b> (@hank@code.example)\n(edited) Writing pythonic code is an art. Python code, that is.\n" +
			`<a href="https://code.example/@hank/113500000000000011">https://code.example/@hank/113500000000000011</a>`,
		markerID: "<b>Quinn</b> (@quinn)\nmarker: python &amp; friends\n" +
			`<a href="https://social.example/@quinn/113500000000000021">https://social.example/@quinn/113500000000000021</a>`,
	}
	for i, id := range want {
		if w, ok := exact[id]; ok && sent[i].Text != w {
			t.Errorf("status %s\n got %q\nwant %q", id, sent[i].Text, w)
		}
	}
	hostile := sent[slices.Index(want, "113500000000000008")].Text
	if strings.Contains(hostile, "<script>") || strings.Contains(hostile, "javascript:") || !strings.Contains(hostile, "&lt;script&gt;") {
		t.Errorf("hostile status reached Telegram as\n%s", hostile)
	}

	st := b.Stats()
	if st.Received != int64(len(corpus)+2) || st.Forwarded != int64(len(want)) || st.Deletes != 1 || st.Cancelled != 1 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
	// 24 events, nine per connection: the stream was reopened twice, and
	// each connection carried the token in its header only.
	var streams int
	for _, r := range fake.Requests() {
		if r.Attempt > 0 {
			streams++
			if r.Auth != "ok" || r.TokenInQuery {
				t.Errorf("stream request %+v", r)
			}
		}
	}
	if streams < 3 {
		t.Errorf("%d stream connections: the test did not exercise a reconnect", streams)
	}
}

// withFields returns the JSON document doc with fields replaced.
func withFields(t *testing.T, doc []byte, fields map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The Mastodon source reports its connection to the bot's health and metrics.
var _ bot.ObservableSource = (*mastodon.Source)(nil)
