package bot_test

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/telegram"
	"github.com/streambot/streambot/handlers/telegram/telegramtest"
	"github.com/streambot/streambot/stream/x"
	"github.com/streambot/streambot/stream/x/xtest"
)

// The posts of the embedded xtest corpus that each route's rule matches,
// in corpus order; one post matches both.
var (
	xPythonIDs = []string{"1790412385563459584", "1790412478453567488", "1790412512330395725", "1790412547285807104",
		"1790412616508571648", "1790412650897625088", "1790412719525269504", "1790412822432915456", "1790412856834605056",
		"1790412994441416704", "1790413028813737984"}
	xGolangIDs = []string{"1790412417993412608", "1790412581930782720", "1790412685152567296", "1790412856834605056",
		"1790412925612883968", "1790412960035536896"}
)

var xPostLink = regexp.MustCompile(`https://x\.com/[^/"]+/status/(\d+)`)

// TestXStreamToTelegram runs the real path for X: the fake X API (rule
// sync, bearer token, "\r\n" framing, heartbeats, operational disconnects
// that force reconnects, re-sent posts) → x source with one rule per route
// → bot routing by rule tags → one Telegram chat per route.
func TestXStreamToTelegram(t *testing.T) {
	t.Parallel()
	fake, api := xtest.NewTestServer(t, xtest.Config{
		Heartbeat:  10 * time.Millisecond,
		CloseAfter: 4, // an operational disconnect after every 4 posts
		Resend:     2, // every new connection re-sends the last two
	})
	if _, err := fake.AddRule("rust", "stale-route"); err != nil { // left by an earlier configuration
		t.Fatal(err)
	}
	const token = "123456:TEST-telegram-token"
	tg := telegramtest.NewServer(t, token)

	src, err := x.NewSource(x.Config{
		BearerToken: xtest.DemoToken,
		BaseURL:     api.URL,
		Rules: []x.Rule{
			{Tag: "python", Value: "python"},
			{Tag: "golang", Value: "golang OR #go"},
		},
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }, // reconnect at once
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chats := map[string]string{"python": "-1001111111111", "golang": "-1002222222222"}
	var routes []bot.Route
	var dests []bot.Destination
	for _, name := range []string{"python", "golang"} {
		sender, err := telegram.New(ctx, telegram.Config{
			Token: token, BaseURL: tg.URL, Chats: []string{chats[name]}, Limits: telegram.NoLimits(),
		})
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, bot.Route{Name: name, Filter: handlers.Tagged(name), Destinations: []string{"tg-" + name}})
		dests = append(dests, bot.Destination{Name: "tg-" + name, Handler: sender})
	}
	b, err := bot.New(bot.Config{Source: src, Routes: routes, Destinations: dests, StatsInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()

	want := len(xPythonIDs) + len(xGolangIDs)
	timeout := time.After(30 * time.Second) // bounds a failure only
	for len(tg.Sent()) < want {
		select {
		case <-tg.Received():
		case err := <-done:
			t.Fatalf("bot stopped early: %v", err)
		case <-timeout:
			t.Fatalf("%d of %d messages reached Telegram", len(tg.Sent()), want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := map[string][]string{}
	for _, r := range tg.Sent() {
		m := xPostLink.FindStringSubmatch(r.Text)
		if m == nil {
			t.Errorf("message without a post link: %q", r.Text)
			continue
		}
		if _, err := telegramtest.ParseHTML(r.Text); err != nil {
			t.Errorf("invalid HTML sent: %v\n%s", err, r.Text)
		}
		got[r.ChatID] = append(got[r.ChatID], m[1])
	}
	if g := got[chats["python"]]; !slices.Equal(g, xPythonIDs) {
		t.Errorf("python chat got\n %v\nwant\n %v", g, xPythonIDs)
	}
	if g := got[chats["golang"]]; !slices.Equal(g, xGolangIDs) {
		t.Errorf("golang chat got\n %v\nwant\n %v", g, xGolangIDs)
	}
	if len(got) != 2 {
		t.Errorf("messages went to chats %v", got)
	}

	st := b.Stats()
	if fake.Connections() < 2 || st.Disconnects == 0 || st.Duplicates == 0 {
		t.Errorf("%d connections, %d disconnects, %d duplicates: the test did not exercise a reconnect with re-sent posts",
			fake.Connections(), st.Disconnects, st.Duplicates)
	}
	if st.Received != 16 || st.Matched != 16 || st.Forwarded != 17 {
		t.Errorf("stats = %+v", st)
	}
	var tags []string
	for _, r := range fake.Rules() {
		tags = append(tags, r.Tag+"="+r.Value)
	}
	slices.Sort(tags)
	if want := []string{"golang=golang OR #go", "python=python"}; !slices.Equal(tags, want) {
		t.Errorf("rules on the fake %v, want %v (the stale one deleted)", tags, want)
	}
}

// The X source reports its connection to the bot's health and metrics.
var _ bot.ObservableSource = (*x.Source)(nil)
