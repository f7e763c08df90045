package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// wantIDs are the statuses of the embedded corpus that track "python"
// forwards, in stream order (checked by hand against stream/mock/corpus.jsonl).
var wantIDs = []string{
	"1503732764107793684", "1503732781904802494", "1503732805284836112", "1503732821596586619",
	"1503732849353255880", "1503732854973039682", "1503732889754169936", "1503732910758874052",
	"1503732934924877338", "1503732954513894257", "1503732973869929743", "1503733014860073666",
	"1503733028245783418", "1503733050714797656", "1503733064152875464", "1503733097396299747",
	"1503733133661170965",
}

// deletedID is a matching status that the corpus deletes six messages
// later: whether it went out before the delete arrived depends on timing,
// so both outcomes are correct, as long as every destination agrees.
const deletedID = "1503733014860073666"

// expected returns wantIDs, without deletedID unless got contains it.
func expected(got []string) []string {
	if slices.Contains(got, deletedID) {
		return wantIDs
	}
	return slices.DeleteFunc(slices.Clone(wantIDs), func(id string) bool { return id == deletedID })
}

func noEnv(string) string { return "" }

// syncBuffer is a bytes.Buffer safe for the bot's goroutines and the test.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan struct{} // optional: signalled on every write
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lines != nil {
		select {
		case b.lines <- struct{}{}:
		default:
		}
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestEndToEndMockToConsoleAndJSONL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "out.jsonl")
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{
		"-rate", "0", "-mock-loop=false", "-jsonl", jsonl, "-stdout",
		"-data", filepath.Join(dir, "state"), "-workers", "4",
	}, noEnv, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit status %d, stderr:\n%s", code, stderr.String())
	}

	// Console: one readable line per forwarded status, in stream order.
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	var consoleIDs []string
	for _, l := range lines {
		consoleIDs = append(consoleIDs, l[strings.LastIndex(l, "/")+1:])
	}
	if want := expected(consoleIDs); !slices.Equal(consoleIDs, want) {
		t.Fatalf("console ids\n got %q\nwant %q\n%s", consoleIDs, want, stdout.String())
	}
	if want := "@maya_codes (Maya Okafor): Finally migrated our ETL jobs from Python 2 to Python 3.10. Only took three years, two reorgs and a lot of coffee. — https://x.com/maya_codes/status/1503732764107793684"; lines[0] != want {
		t.Errorf("first line\n got %q\nwant %q", lines[0], want)
	}

	// JSONL: the same statuses in the same order, with the required fields.
	f, err := os.Open(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct {
			ID, Source, Author, Text, URL string
			Matched                       []string
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("jsonl line %q: %v", sc.Text(), err)
		}
		if rec.Source != "twitter" || rec.Author == "" || rec.Text == "" || rec.URL == "" || !slices.Equal(rec.Matched, []string{"python"}) {
			t.Errorf("incomplete record %+v", rec)
		}
		ids = append(ids, rec.ID)
	}
	if want := expected(ids); !slices.Equal(ids, want) {
		t.Errorf("jsonl ids\n got %q\nwant %q", ids, want)
	}
	forwarded := fmt.Sprintf("stats.forwarded=%d", len(ids)+len(consoleIDs))
	if !strings.Contains(stderr.String(), "bot stopped") || !strings.Contains(stderr.String(), forwarded) ||
		!strings.Contains(stderr.String(), "stats.matched=17") {
		t.Errorf("no summary line with matched=17 and %s in stderr:\n%s", forwarded, stderr.String())
	}
}

func TestJSONLAloneTurnsConsoleOff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"-rate", "0", "-mock-loop=false", "-jsonl", filepath.Join(dir, "o.jsonl"), "-data", dir}, noEnv, &stdout, &stderr)
	if code != exitOK || stdout.String() != "" {
		t.Errorf("exit %d, stdout %q: want 0 and nothing on stdout", code, stdout.String())
	}
}

func TestInterruptStopsWithSummaryAndExitZero(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := syncBuffer{lines: make(chan struct{}, 1)}
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-rate", "0", "-data", t.TempDir(), "-log-format", "json"}, noEnv, &stdout, &stderr)
	}()
	<-stdout.lines // the looping mock is forwarding
	cancel()       // what SIGINT/SIGTERM do through signal.NotifyContext
	if code := <-done; code != exitOK {
		t.Fatalf("exit status %d after interrupt, stderr:\n%s", code, stderr.String())
	}
	var summary map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("-log-format json wrote a non-JSON line %q", l)
		}
		if rec["msg"] == "bot stopped" {
			summary = rec
		}
	}
	stats, _ := summary["stats"].(map[string]any)
	for _, k := range []string{"received", "matched", "forwarded", "dropped"} {
		if _, ok := stats[k]; !ok {
			t.Errorf("summary lacks %q: %v", k, summary)
		}
	}
}

func TestBadUsageExitsTwo(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-bogus"},
		{"-source", "nope"},
		{"-rate", "-1"},
		{"-track", strings.Repeat("x", 61)},
		{"-track", " , "},
		{"-log-format", "xml"},
		{"-log-level", "loud"},
		{"-queue-cap", "0"},
		{"-stdout=false"},
		{"-mock-file", "/nonexistent/file.jsonl"},
		{"extra-argument"},
		{"-config", "/nonexistent/streambot.yaml"},
		{"-metrics", "nonsense"},
		{"-config", "streambot.yaml", "-track", "golang"},
		{"-hashtags", "python"},                         // mastodon only
		{"-follow", "12"},                               // twitter only
		{"-source", "x"},                                // no X_BEARER_TOKEN
		{"-source", "mastodon"},                         // no MASTODON_URL or MASTODON_TOKEN
		{"-source", "bluesky", "-stall-timeout", "-1s"}, // negative
	} {
		var stdout, stderr syncBuffer
		if code := run(context.Background(), append(args, "-data", t.TempDir()), noEnv, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit status %d, want %d", args, code, exitUsage)
		}
		if !strings.Contains(stderr.String(), "streambot:") && !strings.Contains(stderr.String(), "Usage") {
			t.Errorf("%q: no explanation on stderr: %q", args, stderr.String())
		}
	}
}

// An unreachable Telegram at start is a runtime failure (exit 1), not a
// usage error: the same command may work once the network is back.
func TestUnreachableTelegramAtStartExitsOne(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	env := map[string]string{"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_CHAT_ID": "42", "TELEGRAM_API_URL": closed}
	var stdout, stderr syncBuffer
	if code := run(context.Background(), []string{"-data", t.TempDir()}, func(k string) string { return env[k] }, &stdout, &stderr); code != exitFailure {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitFailure, stderr.String())
	}
	if strings.Contains(stderr.String(), "123:abc") {
		t.Errorf("the token leaked: %s", stderr.String())
	}
}

func TestSourceDefaultsToTwitterWithCredentials(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"TWITTER_CONSUMER_KEY": "k", "TWITTER_CONSUMER_SECRET": "s",
		"TWITTER_ACCESS_TOKEN": "t", "TWITTER_ACCESS_SECRET": "a",
	}
	o, err := parseFlags(nil, func(k string) string { return env[k] }, &syncBuffer{})
	if err != nil || o.source != "twitter" {
		t.Errorf("with all four credentials: source %q, err %v; want twitter", o.source, err)
	}
	delete(env, "TWITTER_ACCESS_SECRET")
	o, err = parseFlags(nil, func(k string) string { return env[k] }, &syncBuffer{})
	if err != nil || o.source != "mock" {
		t.Errorf("with three credentials: source %q, err %v; want mock", o.source, err)
	}
}

func TestConfigFileRoutesToDestinations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "streambot.yaml")
	os.WriteFile(cfg, []byte(`
source: {type: mock, rate: 0, once: true}
destinations:
  - {name: py, type: jsonl, path: `+filepath.Join(dir, "py.jsonl")+`}
  - {name: rust, type: jsonl, path: `+filepath.Join(dir, "rust.jsonl")+`}
routes:
  - {name: python-en, track: python, languages: [en], retweets: false, replies: false, destinations: [py]}
  - {name: rustaceans, track: "rust,rustlang", destinations: [rust, py]}
`), 0o600)
	var stdout, stderr syncBuffer
	if code := run(context.Background(), []string{"-config", cfg, "-data", dir, "-stats-interval", "0"}, noEnv, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	phrases := []string{"python", "rust", "rustlang"}
	read := func(name string) (ids, routes []string) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
			var rec struct {
				ID, Lang string
				Retweet  bool
				Matched  []string
				Routes   []string
			}
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Retweet {
				t.Errorf("%s: retweet %s passed a route that drops retweets", name, rec.ID)
			}
			if len(rec.Matched) == 0 || slices.ContainsFunc(rec.Matched, func(p string) bool { return !slices.Contains(phrases, p) }) {
				t.Errorf("%s: status %s matched %q, want track phrases", name, rec.ID, rec.Matched)
			}
			ids = append(ids, rec.ID)
			routes = append(routes, rec.Routes...)
		}
		return ids, routes
	}
	pyIDs, pyRoutes := read("py.jsonl")
	rustIDs, rustRoutes := read("rust.jsonl")
	if len(rustIDs) == 0 || !slices.Equal(slices.Compact(rustRoutes), []string{"rustaceans"}) {
		t.Errorf("rust destination: ids %q routes %q", rustIDs, rustRoutes)
	}
	for _, id := range rustIDs {
		if !slices.Contains(pyIDs, id) {
			t.Errorf("rust status %s did not also reach py, which the rust route names", id)
		}
	}
	if !slices.Contains(pyRoutes, "python-en") || stdout.String() != "" {
		t.Errorf("py routes %q; stdout %q", pyRoutes, stdout.String())
	}
}
