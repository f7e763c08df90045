package bot_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
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

// crashAckWindow is the child's AckWindow: after a SIGKILL at most
// crashAckWindow+1 statuses (those delivered but not yet durably
// acknowledged, and the one being sent) go out again to each chat.
const crashAckWindow = 2

// TestCrashChild is the bot process of TestKillNineResumesDelivery: it runs
// only when re-executed with STREAMBOT_CRASH_CHILD=1, configured through the
// same environment variables as cmd/streambot, and runs until SIGTERM (exit
// status 0) or SIGKILL.
func TestCrashChild(t *testing.T) {
	if os.Getenv("STREAMBOT_CRASH_CHILD") != "1" {
		t.Skip("the child process of TestKillNineResumesDelivery")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	src, err := twitter.NewSource(twitter.Config{
		Credentials: twitter.CredentialsFromEnv(os.Getenv),
		BaseURL:     os.Getenv(twitter.EnvStreamURL),
		Track:       []string{"python"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Telegram's per-chat limit, sped up: one message per chat every 20 ms.
	limits := &telegram.Limits{Chat: handlers.Rate{Every: 20 * time.Millisecond, Burst: 1}}
	sender, err := telegram.New(ctx, telegram.Config{
		Token: os.Getenv("TELEGRAM_BOT_TOKEN"), BaseURL: os.Getenv("TELEGRAM_API_URL"),
		Chats: strings.Split(os.Getenv("TELEGRAM_CHAT_ID"), ","), Limits: limits,
	})
	if err != nil {
		t.Fatal(err)
	}
	store, err := bot.OpenOutbox(filepath.Join(os.Getenv("STREAMBOT_DATA"), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b, err := bot.New(bot.Config{
		Source:        src,
		Routes:        []bot.Route{{Name: "python", Filter: handlers.Match(track.MustCompile("python")), Destinations: []string{"telegram"}}},
		Destinations:  []bot.Destination{{Name: "telegram", Handler: sender}},
		Store:         store,
		AckWindow:     crashAckWindow,
		StatsInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

var statusURL = regexp.MustCompile(`/status/(\d+)`)

// TestKillNineResumesDelivery kills the bot with SIGKILL while a backlog
// waits behind Telegram's per-chat limit, starts it again on the same data
// directory and checks that every matched status reaches every chat at
// least once, in order, with duplicates bounded by what was in flight.
func TestKillNineResumesDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	t.Parallel()
	const n = 40
	var lines [][]byte
	var want []string
	for i := range 2 * n {
		id := fmt.Sprint(1000 + i)
		text := "unrelated chatter"
		if i%2 == 0 {
			text = fmt.Sprintf("python post %d", i)
			want = append(want, id)
		}
		lines = append(lines, fmt.Appendf(nil, `{"id_str":%q,"text":%q,"user":{"id_str":"1","screen_name":"alice","name":"Alice"},"entities":{},"lang":"en"}`, id, text))
	}
	// Every connection re-sends everything: the restarted bot must drop
	// what it had accepted (persisted dedupe) and take what it had not.
	_, srv := streamtest.NewTestServer(t, streamtest.Config{Lines: lines, Once: true, Resend: len(lines), KeepAlive: 50 * time.Millisecond})
	const token = "123456:crash-test-token"
	tg := telegramtest.NewServer(t, token)
	chats := []string{"1001", "1002"}
	demo := streamtest.DemoCredentials()
	dir := t.TempDir()
	env := append(os.Environ(),
		"STREAMBOT_CRASH_CHILD=1", "STREAMBOT_DATA="+dir,
		"TWITTER_CONSUMER_KEY="+demo.ConsumerKey, "TWITTER_CONSUMER_SECRET="+demo.ConsumerSecret,
		"TWITTER_ACCESS_TOKEN="+demo.AccessToken, "TWITTER_ACCESS_SECRET="+demo.AccessSecret,
		"TWITTER_STREAM_URL="+srv.URL,
		"TELEGRAM_BOT_TOKEN="+token, "TELEGRAM_CHAT_ID="+strings.Join(chats, ","), "TELEGRAM_API_URL="+tg.URL,
	)
	start := func() (*exec.Cmd, <-chan error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = env
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			err := cmd.Wait()
			if err != nil {
				err = fmt.Errorf("%w\n%s", err, out.String())
			}
			done <- err
		}()
		return cmd, done
	}
	deadline := time.After(15 * time.Second)
	waitSent := func(what string, done <-chan error, until func([]telegramtest.Request) bool) {
		t.Helper()
		for !until(tg.Sent()) {
			select {
			case <-tg.Received():
			case err := <-done:
				t.Fatalf("%s: the bot exited: %v", what, err)
			case <-deadline:
				t.Fatalf("%s: timed out with %d messages sent", what, len(tg.Sent()))
			}
		}
	}

	cmd, done := start()
	waitSent("first run", done, func(s []telegramtest.Request) bool { return len(s) >= 12 })
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-done
	atKill := len(tg.Sent())
	if atKill >= 2*n {
		t.Fatalf("%d messages sent before the kill: no backlog was queued", atKill)
	}

	cmd, done = start()
	byChat := func(s []telegramtest.Request) map[string][]string {
		m := map[string][]string{}
		for _, r := range s {
			if id := statusURL.FindStringSubmatch(r.Text); id != nil {
				m[r.ChatID] = append(m[r.ChatID], id[1])
			}
		}
		return m
	}
	waitSent("after restart", done, func(s []telegramtest.Request) bool {
		m := byChat(s)
		for _, c := range chats {
			for _, id := range want {
				if !slices.Contains(m[c], id) {
					return false
				}
			}
		}
		return true
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("after SIGTERM: %v", err)
	}

	got := byChat(tg.Sent())
	for _, c := range chats {
		ids := got[c]
		var first []string
		for _, id := range ids {
			if !slices.Contains(first, id) {
				first = append(first, id)
			}
		}
		if !slices.Equal(first, want) {
			t.Errorf("chat %s: statuses out of order:\n got %q\nwant %q", c, first, want)
		}
		if dups := len(ids) - len(first); dups > crashAckWindow+1 {
			t.Errorf("chat %s: %d duplicates, want at most %d (the statuses in flight at the kill)", c, dups, crashAckWindow+1)
		}
		t.Logf("chat %s: %d messages for %d statuses (%d sent before the kill in all chats)", c, len(ids), len(want), atKill)
	}
}
