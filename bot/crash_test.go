package bot_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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

// TestCrashChild is the bot process of TestKillNineResumesDelivery and
// TestKillNineRepeatedlyResumesDelivery: it runs
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
	// TELEGRAM_CHAT_ID is cmd/streambot's comma list of chats, one
	// destination; the test may name several destinations, separated by
	// ';' ("1,2;3": "telegram" sends to chats 1 and 2, "telegram-2" to 3).
	var dests []bot.Destination
	var names []string
	for i, chats := range strings.Split(os.Getenv("TELEGRAM_CHAT_ID"), ";") {
		// Telegram's per-chat limit, sped up: one message per chat every 20 ms.
		limits := &telegram.Limits{Chat: handlers.Rate{Every: 20 * time.Millisecond, Burst: 1}}
		sender, err := telegram.New(ctx, telegram.Config{
			Token: os.Getenv("TELEGRAM_BOT_TOKEN"), BaseURL: os.Getenv("TELEGRAM_API_URL"),
			Chats: strings.Split(chats, ","), Limits: limits,
		})
		if err != nil {
			t.Fatal(err)
		}
		name := "telegram"
		if i > 0 {
			name = fmt.Sprintf("telegram-%d", i+1)
		}
		dests = append(dests, bot.Destination{Name: name, Handler: sender})
		names = append(names, name)
	}
	store, err := bot.OpenOutbox(filepath.Join(os.Getenv("STREAMBOT_DATA"), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b, err := bot.New(bot.Config{
		Source:        src,
		Routes:        []bot.Route{{Name: "python", Filter: handlers.Match(track.MustCompile("python")), Destinations: names}},
		Destinations:  dests,
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

// crashRig is the outside of a crash test: a v1.1 stream server that sends
// a finite set of statuses, all of them again on every connection, a fake
// Telegram, a data directory, and the child's environment.
type crashRig struct {
	t        *testing.T
	tg       *telegramtest.Server
	srv      *streamtest.Server
	env      []string
	chats    []string // every chat, of every destination
	want     []string // the matched statuses' IDs, in stream order
	deadline <-chan time.Time
}

// newCrashRig serves 2n statuses, every other one matching, to a child
// whose destinations send to dests (a list of chats each); the whole test
// must end within timeout.
func newCrashRig(t *testing.T, n int, dests [][]string, timeout time.Duration) *crashRig {
	t.Helper()
	r := &crashRig{t: t, deadline: time.After(timeout)}
	var lines [][]byte
	for i := range 2 * n {
		id := fmt.Sprint(1000 + i)
		text := "unrelated chatter"
		if i%2 == 0 {
			text = fmt.Sprintf("python post %d", i)
			r.want = append(r.want, id)
		}
		lines = append(lines, fmt.Appendf(nil, `{"id_str":%q,"text":%q,"user":{"id_str":"1","screen_name":"alice","name":"Alice"},"entities":{},"lang":"en"}`, id, text))
	}
	// Every connection re-sends everything: the restarted bot must drop
	// what it had accepted (persisted dedupe) and take what it had not.
	// Resend counts the server's last deliveries over all connections, not
	// positions: with Resend: len(lines), a connection killed after
	// re-reading the first k lines would make the next one start at k+1.
	// A Resend beyond every delivery the test can make keeps each
	// connection starting at the first line.
	srv, ts := streamtest.NewTestServer(t, streamtest.Config{Lines: lines, Once: true, Resend: 1 << 20, KeepAlive: 50 * time.Millisecond})
	r.srv = srv
	const token = "123456:crash-test-token"
	r.tg = telegramtest.NewServer(t, token)
	var spec []string
	for _, d := range dests {
		r.chats = append(r.chats, d...)
		spec = append(spec, strings.Join(d, ","))
	}
	demo := streamtest.DemoCredentials()
	r.env = append(os.Environ(),
		"STREAMBOT_CRASH_CHILD=1", "STREAMBOT_DATA="+t.TempDir(),
		"TWITTER_CONSUMER_KEY="+demo.ConsumerKey, "TWITTER_CONSUMER_SECRET="+demo.ConsumerSecret,
		"TWITTER_ACCESS_TOKEN="+demo.AccessToken, "TWITTER_ACCESS_SECRET="+demo.AccessSecret,
		"TWITTER_STREAM_URL="+ts.URL,
		"TELEGRAM_BOT_TOKEN="+token, "TELEGRAM_CHAT_ID="+strings.Join(spec, ";"), "TELEGRAM_API_URL="+r.tg.URL,
	)
	return r
}

// start runs the bot process; done receives its exit (nil for status 0).
func (r *crashRig) start() (*exec.Cmd, <-chan error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = r.env
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
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

// kill sends SIGKILL and waits for the process to be gone.
func (r *crashRig) kill(cmd *exec.Cmd, done <-chan error) {
	if err := cmd.Process.Kill(); err != nil {
		r.t.Fatal(err)
	}
	<-done
}

// waitSent waits until until(messages sent) holds, woken by each Telegram
// request; the bot must not exit meanwhile.
func (r *crashRig) waitSent(what string, done <-chan error, until func([]telegramtest.Request) bool) {
	r.t.Helper()
	for !until(r.tg.Sent()) {
		select {
		case <-r.tg.Received():
		case err := <-done:
			r.t.Fatalf("%s: the bot exited: %v", what, err)
		case <-r.deadline:
			r.t.Fatalf("%s: timed out with %d messages sent", what, len(r.tg.Sent()))
		}
	}
}

// waitConnected polls (there is no event to wait on) until the stream
// server has seen more than conns connection attempts.
func (r *crashRig) waitConnected(what string, done <-chan error, conns int) {
	r.t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for r.srv.Connections() <= conns {
		select {
		case <-tick.C:
		case err := <-done:
			r.t.Fatalf("%s: the bot exited: %v", what, err)
		case <-r.deadline:
			r.t.Fatalf("%s: timed out before the bot connected to the stream", what)
		}
	}
}

// byChat maps each chat to the status IDs it was sent, in order.
func byChat(s []telegramtest.Request) map[string][]string {
	m := map[string][]string{}
	for _, r := range s {
		if id := statusURL.FindStringSubmatch(r.Text); id != nil {
			m[r.ChatID] = append(m[r.ChatID], id[1])
		}
	}
	return m
}

// allSent reports whether every wanted status reached every chat.
func (r *crashRig) allSent(s []telegramtest.Request) bool {
	m := byChat(s)
	for _, c := range r.chats {
		for _, id := range r.want {
			if !slices.Contains(m[c], id) {
				return false
			}
		}
	}
	return true
}

// drain starts the bot a last time, waits until every status reached
// every chat, stops it with SIGTERM and checks it exits cleanly.
func (r *crashRig) drain() {
	r.t.Helper()
	cmd, done := r.start()
	r.waitSent("last run", done, r.allSent)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		r.t.Fatal(err)
	}
	if err := <-done; err != nil {
		r.t.Fatalf("after SIGTERM: %v", err)
	}
}

// firstSeen is ids without repetitions, in order of first appearance.
func firstSeen(ids []string) []string {
	var first []string
	for _, id := range ids {
		if !slices.Contains(first, id) {
			first = append(first, id)
		}
	}
	return first
}

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
	r := newCrashRig(t, n, [][]string{{"1001", "1002"}}, 15*time.Second)

	cmd, done := r.start()
	r.waitSent("first run", done, func(s []telegramtest.Request) bool { return len(s) >= 12 })
	r.kill(cmd, done)
	atKill := len(r.tg.Sent())
	if atKill >= 2*n {
		t.Fatalf("%d messages sent before the kill: no backlog was queued", atKill)
	}
	r.drain()

	got := byChat(r.tg.Sent())
	for _, c := range r.chats {
		ids := got[c]
		first := firstSeen(ids)
		if !slices.Equal(first, r.want) {
			t.Errorf("chat %s: statuses out of order:\n got %q\nwant %q", c, first, r.want)
		}
		if dups := len(ids) - len(first); dups > crashAckWindow+1 {
			t.Errorf("chat %s: %d duplicates, want at most %d (the statuses in flight at the kill)", c, dups, crashAckWindow+1)
		}
		t.Logf("chat %s: %d messages for %d statuses (%d sent before the kill in all chats)", c, len(ids), len(r.want), atKill)
	}
}

// TestKillNineRepeatedlyResumesDelivery kills the bot with SIGKILL at
// several random moments (as it connects to the stream and ingests, or
// after a random number of messages), restarting it each time on the same
// data directory, then lets a last run drain and stops it with SIGTERM.
// Two destinations (one with two chats) each keep their own position.
//
// The v1.1 stream does not replay, so the fake sends every status again on
// every connection: what the bot had accepted (committed) at a kill must be
// delivered and not accepted again (persisted dedupe); what it had not is
// taken again. So every matched status must reach every chat; per chat the
// sequence only ever goes back at a restart, by at most AckWindow+1
// statuses (delivered but not acknowledged, and the one in flight), at most
// once per kill.
//
// The kill points come from a seed that is logged; STREAMBOT_CRASH_SEED=<seed>
// replays the same choices (the timing of the processes still varies).
func TestKillNineRepeatedlyResumesDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STREAMBOT_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("STREAMBOT_CRASH_SEED: %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	kills := 3 + rng.IntN(3)
	t.Logf("seed %d: %d kills (STREAMBOT_CRASH_SEED=%d to replay)", seed, kills, seed)

	const n = 40
	r := newCrashRig(t, n, [][]string{{"2001", "2002"}, {"2003"}}, 45*time.Second)
	for i := range kills {
		cmd, done := r.start()
		before, conns := len(r.tg.Sent()), r.srv.Connections()
		what := fmt.Sprintf("run %d", i+1)
		point := "as it connected to the stream"
		if k := rng.IntN(13); k == 0 {
			// As soon as the stream connects: while statuses are read,
			// matched and group-committed (and the backlog of the runs
			// before is being delivered).
			r.waitConnected(what, done, conns)
		} else {
			point = fmt.Sprintf("after %d new messages", k)
			r.waitSent(what, done, func(s []telegramtest.Request) bool { return len(s)-before >= k || r.allSent(s) })
		}
		r.kill(cmd, done)
		t.Logf("kill %d %s: %d new, %d sent in all", i+1, point, len(r.tg.Sent())-before, len(r.tg.Sent()))
	}
	r.drain()

	got := byChat(r.tg.Sent())
	pos := map[string]int{}
	for i, id := range r.want {
		pos[id] = i
	}
	const rewindMax = crashAckWindow + 1
	for _, c := range r.chats {
		ids := got[c]
		first := firstSeen(ids)
		if !slices.Equal(first, r.want) {
			t.Errorf("chat %s: statuses missing or out of order:\n got %q\nwant %q", c, first, r.want)
		}
		rewinds := 0
		for j := 1; j < len(ids); j++ {
			prev, cur := pos[ids[j-1]], pos[ids[j]]
			switch {
			case cur == prev+1:
			case cur <= prev && prev-cur+1 <= rewindMax:
				rewinds++
			default:
				t.Errorf("chat %s: %s follows %s: neither the next status nor a redelivery of at most %d (messages %q)", c, ids[j], ids[j-1], rewindMax, ids)
			}
		}
		if rewinds > kills {
			t.Errorf("chat %s: redelivered %d times after %d kills: %q", c, rewinds, kills, ids)
		}
		if dups := len(ids) - len(first); dups > kills*rewindMax {
			t.Errorf("chat %s: %d duplicates, want at most %d ((AckWindow+1) per kill)", c, dups, kills*rewindMax)
		}
		t.Logf("chat %s: %d messages for %d statuses, %d redeliveries", c, len(ids), len(r.want), rewinds)
	}
}
