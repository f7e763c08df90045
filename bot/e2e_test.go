package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/telegram"
	"github.com/streambot/streambot/handlers/telegram/telegramtest"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// hostile is a v1.1 status whose text (HTML-escaped, as Twitter sends it)
// and name (not escaped, as Twitter sends it) try to break Telegram's HTML
// or a reader's screen.
const hostile = `{"id_str":"1700000000000000001","text":"python &lt;b&gt;bold&lt;/b&gt; &amp;amp; &lt;a href=\"javascript:alert(1)\"&gt;x&lt;/a&gt; \u202etxt.exe \u200b\u200d 🐍🐍🐍🐍🐍🐍🐍🐍","user":{"id_str":"9","screen_name":"mallory","name":"<i>Mal</i>"},"entities":{"hashtags":[],"urls":[],"user_mentions":[]},"lang":"en"}`

// long is a status whose text is far over Telegram's 4,096 characters.
var long = fmt.Sprintf(`{"id_str":"1700000000000000002","text":"python %s","user":{"id_str":"9","screen_name":"longwinded","name":"L"},"entities":{"hashtags":[],"urls":[],"user_mentions":[]},"lang":"en"}`,
	strings.Repeat("🐍 python ", 1500))

// TestTwitterStreamToTelegram runs the real path: the mock stream server
// (OAuth1-verified, \r\n framing, a disconnect that forces a reconnect with
// re-sent statuses) → twitter source → bot → the fake Bot API.
func TestTwitterStreamToTelegram(t *testing.T) {
	t.Parallel()
	lines := [][]byte{
		[]byte(`{"id_str":"1","text":"first python post","user":{"id_str":"1","screen_name":"alice","name":"Alice"},"entities":{},"lang":"en"}`),
		[]byte(`{"id_str":"2","text":"not matching","user":{"id_str":"1","screen_name":"alice","name":"Alice"},"entities":{},"lang":"en"}`),
		[]byte(hostile),
		[]byte(`{"limit":{"track":5}}`),
		[]byte(long),
		[]byte(`{"id_str":"3","text":"last python &amp; go","user":{"id_str":"2","screen_name":"bob","name":"Bob"},"entities":{},"lang":"en"}`),
	}
	stream, srv := streamtest.NewTestServer(t, streamtest.Config{
		Lines: lines, Once: true, KeepAlive: 10 * time.Millisecond,
		DisconnectEvery: 3, Resend: 2, // every reconnect re-sends the last two
	})
	const token = "123456:TEST-telegram-token"
	tg := telegramtest.NewServer(t, token)

	demo := streamtest.DemoCredentials()
	src, err := twitter.NewSource(twitter.Config{
		Credentials: twitter.Credentials{
			ConsumerKey: demo.ConsumerKey, ConsumerSecret: demo.ConsumerSecret,
			AccessToken: demo.AccessToken, AccessSecret: demo.AccessSecret,
		},
		BaseURL: srv.URL,
		Track:   []string{"python"},
		Sleep:   func(ctx context.Context, _ time.Duration) error { return ctx.Err() }, // reconnect at once
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sender, err := telegram.New(ctx, telegram.Config{
		Token: token, BaseURL: tg.URL, Chats: []string{"-100200300", "42"}, Limits: telegram.NoLimits(),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.New(bot.Config{
		Source:        src,
		Routes:        []bot.Route{{Name: "python", Filter: handlers.Match(track.MustCompile("python")), Destinations: []string{"telegram"}}},
		Destinations:  []bot.Destination{{Name: "telegram", Handler: sender}},
		StatsInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()

	// 4 matching statuses × 2 chats; wait for them, then stop.
	for len(tg.Sent()) < 8 {
		select {
		case <-tg.Received():
		case err := <-done:
			t.Fatalf("bot stopped early: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	sent := tg.Sent()
	if len(sent) != 8 {
		t.Fatalf("%d messages sent, want 8 (4 statuses × 2 chats, each once despite re-sends)", len(sent))
	}
	wantByChat := map[string][]string{}
	for _, r := range sent {
		if r.ParseMode != "HTML" {
			t.Errorf("parse_mode = %q", r.ParseMode)
		}
		if n := telegramtest.UTF16Len(r.Visible()); n > telegramtest.MaxTextLen {
			t.Errorf("a message of %d characters reached Telegram", n)
		}
		if _, err := telegramtest.ParseHTML(r.Text); err != nil {
			t.Errorf("invalid HTML sent: %v\n%s", err, r.Text)
		}
		wantByChat[r.ChatID] = append(wantByChat[r.ChatID], r.Text)
	}
	first := "<b>Alice</b> (@alice)\nfirst python post\n<a href=\"https://x.com/alice/status/1\">https://x.com/alice/status/1</a>"
	evil := "<b>&lt;i&gt;Mal&lt;/i&gt;</b> (@mallory)\npython &lt;b&gt;bold&lt;/b&gt; &amp;amp; &lt;a href=&#34;javascript:alert(1)&#34;&gt;x&lt;/a&gt; txt.exe \u200b\u200d 🐍🐍🐍🐍🐍🐍🐍🐍\n<a href=\"https://x.com/mallory/status/1700000000000000001\">https://x.com/mallory/status/1700000000000000001</a>"
	last := "<b>Bob</b> (@bob)\nlast python &amp; go\n<a href=\"https://x.com/bob/status/3\">https://x.com/bob/status/3</a>"
	for _, chat := range []string{"-100200300", "42"} {
		msgs := wantByChat[chat]
		if len(msgs) != 4 {
			t.Fatalf("chat %s got %d messages, want 4", chat, len(msgs))
		}
		if msgs[0] != first || msgs[3] != last {
			t.Errorf("chat %s: first/last message\n got %q\n     %q", chat, msgs[0], msgs[3])
		}
		if msgs[1] != evil {
			t.Errorf("chat %s: hostile status\n got %q\nwant %q", chat, msgs[1], evil)
		}
		if !strings.HasSuffix(msgs[2], `<a href="https://x.com/longwinded/status/1700000000000000002">https://x.com/longwinded/status/1700000000000000002</a>`) ||
			!strings.Contains(msgs[2], "…") {
			t.Errorf("chat %s: the long status lost its link or its ellipsis: ...%s", chat, msgs[2][len(msgs[2])-200:])
		}
	}
	st := b.Stats()
	if st.Duplicates == 0 || stream.Connections() < 2 {
		t.Errorf("duplicates %d over %d connections: the test did not exercise a reconnect with re-sends", st.Duplicates, stream.Connections())
	}
	// The server filters on track too, so the non-matching status never arrives.
	if st.Forwarded != 4 || st.Received != 4 || st.Limits == 0 {
		t.Errorf("stats = %+v", st)
	}
}

// The Twitter source reports its connection to the bot's health and metrics.
var _ bot.ObservableSource = (*twitter.Source)(nil)
