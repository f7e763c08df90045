package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambot/streambot/stream/bluesky/jetstreamtest"
	"github.com/streambot/streambot/stream/mastodon/mastodontest"
	"github.com/streambot/streambot/stream/x/xtest"
)

// TestTodaysSourcesThroughTheCommand runs the command with -source x,
// bluesky and mastodon against each network's fake, configured only by the
// environment variables a user sets, and checks what reaches the console
// and the JSONL file.
func TestTodaysSourcesThroughTheCommand(t *testing.T) {
	t.Parallel()
	tests := map[string]func(t *testing.T) map[string]string{
		"bluesky": func(t *testing.T) map[string]string {
			_, srv := jetstreamtest.NewTestServer(t, jetstreamtest.Config{})
			return map[string]string{"JETSTREAM_URL": srv.URL}
		},
		"mastodon": func(t *testing.T) map[string]string {
			_, srv := mastodontest.NewTestServer(t, mastodontest.Config{})
			return map[string]string{"MASTODON_URL": srv.URL, "MASTODON_TOKEN": mastodontest.DemoToken}
		},
		"x": func(t *testing.T) map[string]string {
			_, srv := xtest.NewTestServer(t, xtest.Config{})
			return map[string]string{"X_API_URL": srv.URL, "X_BEARER_TOKEN": xtest.DemoToken}
		},
	}
	for source, fake := range tests {
		t.Run(source, func(t *testing.T) {
			t.Parallel()
			vars := fake(t)
			dir := t.TempDir()
			jsonl := filepath.Join(dir, "out.jsonl")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stdout := syncBuffer{lines: make(chan struct{}, 1)}
			var stderr syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, []string{"-source", source, "-jsonl", jsonl, "-stdout", "-data", dir},
					func(k string) string { return vars[k] }, &stdout, &stderr)
			}()
			const enough = 3
			for strings.Count(stdout.String(), "\n") < enough {
				select {
				case <-stdout.lines:
				case code := <-done:
					t.Fatalf("exit %d before %d posts; stderr:\n%s", code, enough, stderr.String())
				}
			}
			cancel()
			if code := <-done; code != exitOK {
				t.Fatalf("exit status %d, stderr:\n%s", code, stderr.String())
			}
			console := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			data, err := os.ReadFile(jsonl)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if len(lines) != len(console) {
				t.Errorf("%d JSONL lines but %d console lines: every destination gets every post", len(lines), len(console))
			}
			seen := map[string]bool{}
			for _, l := range lines {
				var rec struct {
					ID, Source, Text, URL string
					Matched, Routes       []string
				}
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Fatalf("bad JSONL line %q: %v", l, err)
				}
				// X matches on the server (the route's rule tag), so no
				// phrases are known locally; every other source matches here.
				matched := len(rec.Matched) > 0 || source == "x"
				if rec.Source != source || rec.URL == "" || !matched || len(rec.Routes) == 0 || seen[rec.ID] {
					t.Errorf("line %s: want source %s, a URL, a match, a route and a new ID", l, source)
				}
				if !strings.Contains(strings.ToLower(rec.Text), "python") {
					t.Errorf("forwarded a post without python: %q", rec.Text)
				}
				seen[rec.ID] = true
			}
		})
	}
}
