package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streambot/streambot/handlers/telegram/telegramtest"
	"github.com/streambot/streambot/stream/streamtest"
)

// Distinctive secret values: none may appear in anything streambot prints.
var secrets = streamtest.Credentials{
	ConsumerKey:    "ck-SECRET-5f1e",
	ConsumerSecret: "cs-SECRET-9a7b",
	AccessToken:    "at-SECRET-33c2",
	AccessSecret:   "as-SECRET-0d4e",
}

const tgToken = "987654:tg-SECRET-token-77aa"

func secretEnv(streamURL, telegramURL string, creds streamtest.Credentials) func(string) string {
	env := map[string]string{
		"TWITTER_CONSUMER_KEY": creds.ConsumerKey, "TWITTER_CONSUMER_SECRET": creds.ConsumerSecret,
		"TWITTER_ACCESS_TOKEN": creds.AccessToken, "TWITTER_ACCESS_SECRET": creds.AccessSecret,
		"TWITTER_STREAM_URL": streamURL,
		"TELEGRAM_BOT_TOKEN": tgToken, "TELEGRAM_CHAT_ID": "4242", "TELEGRAM_API_URL": telegramURL,
	}
	return func(k string) string { return env[k] }
}

func assertNoSecrets(t *testing.T, outputs ...string) {
	t.Helper()
	all := strings.Join(outputs, "\n")
	for _, s := range []string{secrets.ConsumerKey, secrets.ConsumerSecret, secrets.AccessToken, secrets.AccessSecret, tgToken, "tg-SECRET"} {
		if strings.Contains(all, s) {
			t.Errorf("output contains the secret %q:\n%s", s, all)
		}
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	_, stream := streamtest.NewTestServer(t, streamtest.Config{Credentials: secrets, Once: true})
	tg := telegramtest.NewServer(t, tgToken)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		// "rust" matches corpus statuses within the per-chat burst.
		done <- run(ctx, []string{"-track", "rust", "-data", t.TempDir(), "-log-level", "debug", "-stdout"},
			secretEnv(stream.URL, tg.URL, secrets), &stdout, &stderr)
	}()
	for len(tg.Sent()) < 1 {
		select {
		case <-tg.Received():
		case code := <-done:
			t.Fatalf("streambot exited early with %d:\n%s", code, stderr.String())
		case <-t.Context().Done():
		}
		if dl, ok := t.Deadline(); ok && time.Until(dl) < 5*time.Second {
			t.Fatalf("no telegram messages; requests %+v\nstderr:\n%s", tg.Requests(), stderr.String())
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit status %d:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "bot stopped") {
		t.Fatalf("no summary in:\n%s", stderr.String())
	}
	assertNoSecrets(t, stdout.String(), stderr.String())
}

func TestRejectedTwitterCredentialsExitOneWithAClearError(t *testing.T) {
	t.Parallel()
	_, stream := streamtest.NewTestServer(t, streamtest.Config{Credentials: secrets})
	wrong := secrets
	wrong.ConsumerSecret = "cs-SECRET-wrong"
	var stdout, stderr syncBuffer
	env := secretEnv(stream.URL, "", wrong)
	noTelegram := func(k string) string {
		if strings.HasPrefix(k, "TELEGRAM_") {
			return ""
		}
		return env(k)
	}
	code := run(context.Background(), []string{"-data", t.TempDir()}, noTelegram, &stdout, &stderr)
	if code != exitFailure {
		t.Fatalf("exit status %d, want %d:\n%s", code, exitFailure, stderr.String())
	}
	if !strings.Contains(stderr.String(), "401") || !strings.Contains(stderr.String(), "TWITTER_CONSUMER_SECRET") {
		t.Errorf("the error does not say 401 and which credentials to check:\n%s", stderr.String())
	}
	assertNoSecrets(t, stdout.String(), stderr.String(), "cs-SECRET-wrong")
	if strings.Contains(stderr.String(), "cs-SECRET-wrong") {
		t.Error("the wrong secret was printed")
	}
}

func TestRejectedTelegramTokenFailsAtStart(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t, "111:the-right-token")
	env := secretEnv("", tg.URL, streamtest.Credentials{})
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"-data", filepath.Join(t.TempDir(), "d")}, env, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("exit status %d, want %d:\n%s", code, exitUsage, stderr.String())
	}
	if !strings.Contains(stderr.String(), "TELEGRAM_BOT_TOKEN") {
		t.Errorf("the error does not name TELEGRAM_BOT_TOKEN:\n%s", stderr.String())
	}
	assertNoSecrets(t, stdout.String(), stderr.String())
}
