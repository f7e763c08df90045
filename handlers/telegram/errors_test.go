package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/telegram/telegramtest"
)

type verdict int

const (
	ok verdict = iota
	retryable
	permanent
	gone
	canceled
)

func (v verdict) String() string {
	return [...]string{"ok", "retryable", "permanent", "gone", "canceled"}[v]
}

func verdictOf(err error) verdict {
	switch {
	case err == nil:
		return ok
	case errors.Is(err, handlers.ErrDestinationGone):
		return gone
	case errors.Is(err, handlers.ErrPermanent):
		return permanent
	case errors.Is(err, context.Canceled):
		return canceled
	case handlers.IsRetryable(err):
		return retryable
	}
	panic("unclassified")
}

// TestClassifyEveryAnswer sends one message against a fake that answers
// each way the Bot API (or what stands in front of it) can, and checks the
// classification of what came back.
func TestClassifyEveryAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		reply   telegramtest.Reply
		want    verdict
		delay   time.Duration
		message string
	}{
		{"200", telegramtest.OK(), ok, 0, ""},
		{"400", telegramtest.BadRequest("message is too long"), permanent, 0, "telegram: sendMessage: Bad Request: message is too long (HTTP 400)"},
		{"400 can't parse", telegramtest.BadRequest("can't parse entities: unsupported start tag"), permanent, 0, "can't parse entities"},
		{"400 migrate", telegramtest.Migrated(-1001), permanent, 0, "migrated to chat -1001"},
		{"400 chat not found", telegramtest.BadRequest("chat not found"), gone, 0, "chat not found"},
		{"401", telegramtest.Error(401, "Unauthorized"), gone, 0, "check TELEGRAM_BOT_TOKEN"},
		{"403 blocked", telegramtest.Blocked(), gone, 0, "bot was blocked by the user (HTTP 403)"},
		{"403 kicked", telegramtest.Kicked(), gone, 0, "kicked"},
		{"404", telegramtest.Error(404, "Not Found"), gone, 0, "check TELEGRAM_BOT_TOKEN and TELEGRAM_API_URL"},
		{"409", telegramtest.Error(409, "Conflict: terminated by other getUpdates request"), permanent, 0, "HTTP 409"},
		{"413", telegramtest.Error(413, "Request Entity Too Large"), permanent, 0, "HTTP 413"},
		{"420", telegramtest.Reply{Code: 420, Description: "Flood", RetryAfter: 5}, retryable, 5 * time.Second, "retry after 5s"},
		{"429", telegramtest.TooManyRequests(7), retryable, 7 * time.Second, "Too Many Requests: retry after 7 (HTTP 429, retry after 7s)"},
		{"429 without retry_after", telegramtest.Error(429, "Too Many Requests"), retryable, 0, "HTTP 429"},
		{"500", telegramtest.ServerError(500), retryable, 0, "HTTP 500"},
		{"502", telegramtest.ServerError(502), retryable, 0, "HTTP 502"},
		{"503", telegramtest.ServerError(503), retryable, 0, "HTTP 503"},
		{"504", telegramtest.ServerError(504), retryable, 0, "HTTP 504"},
		{"502 HTML page", telegramtest.HTMLPage(502), retryable, 0, "HTTP 502 with a body that is not the Bot API's JSON (text/html)"},
		{"200 HTML page", telegramtest.Reply{Code: 200, Body: "<html>hi</html>", ContentType: "text/html"}, retryable, 0, "not the Bot API's JSON"},
		{"404 HTML page", telegramtest.HTMLPage(404), permanent, 0, "HTTP 404 with a body"},
		{"hang", telegramtest.Hang(), retryable, 0, "Client.Timeout exceeded"},
	}
	srv := telegramtest.NewServer(t, testToken)
	s, err := New(context.Background(), Config{Token: testToken, BaseURL: srv.URL, Chats: []string{"1"},
		HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		// Sequential: the replies are scripted on one shared server.
		t.Run(tc.name, func(t *testing.T) {
			srv.Enqueue("", tc.reply)
			before := len(srv.Requests())
			err := s.sendMessage(context.Background(), "1", "hello")
			if got := verdictOf(err); got != tc.want {
				t.Errorf("verdict %v, want %v (err %v)", got, tc.want, err)
			}
			if d, _ := handlers.RetryDelay(err); d != tc.delay {
				t.Errorf("retry delay %v, want %v", d, tc.delay)
			}
			if err != nil && !strings.Contains(err.Error(), tc.message) {
				t.Errorf("err %q does not contain %q", err, tc.message)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "telegram: ") {
				t.Errorf("err %q lacks the component", err)
			}
			if Classify(err) != err {
				t.Error("classifying again changed the error")
			}
			if got := len(srv.Requests()) - before; got != 1 {
				t.Errorf("the fake saw %d requests, want 1", got)
			}
		})
	}
	var ae *APIError
	srv.Enqueue("", telegramtest.Migrated(-1001))
	if err := s.sendMessage(context.Background(), "1", "x"); !errors.As(err, &ae) || ae.MigrateToChatID != -1001 || ae.Code != 400 {
		t.Errorf("migration: %#v", ae)
	}
}

func TestClassifyTransportFailures(t *testing.T) {
	t.Parallel()
	// A closed server: connection refused, a *url.Error.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	s := &Sender{api: &tgbotapi.BotAPI{Token: testToken}, client: &http.Client{}, token: testToken}
	s.api.SetAPIEndpoint(closed.URL + "/bot%s/%s")
	err := s.sendMessage(context.Background(), "1", "x")
	var ue *url.Error
	if verdictOf(err) != retryable || !errors.As(err, &ue) {
		t.Errorf("network error: %v (%T), want a retryable *url.Error", err, err)
	}
	if strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), "/bot<redacted>/sendMessage") {
		t.Errorf("network error not redacted: %v", err)
	}

	// The caller's deadline, while the server hangs.
	srv := telegramtest.NewServer(t, testToken)
	s.api.SetAPIEndpoint(srv.URL + "/bot%s/%s")
	srv.Enqueue("", telegramtest.Hang())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = s.sendMessage(ctx, "1", "x")
	if verdictOf(err) != retryable || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v, want retryable DeadlineExceeded", err)
	}

	// The caller's cancellation is not retryable.
	srv.Enqueue("", telegramtest.Hang())
	cctx, ccancel := context.WithCancel(context.Background())
	go func() {
		for len(srv.Requests()) < 2 {
			<-srv.Received()
		}
		ccancel()
	}()
	if err := s.sendMessage(cctx, "1", "x"); verdictOf(err) != canceled {
		t.Errorf("cancel: %v, want Canceled", err)
	}
}

func TestClassifyErrorValues(t *testing.T) {
	t.Parallel()
	syntaxErr := json.Unmarshal([]byte("<html>"), &map[string]any{})
	tests := []struct {
		name  string
		err   error
		want  verdict
		delay time.Duration
	}{
		{"nil", nil, ok, 0},
		{"library error value", tgbotapi.Error{Code: 403, Message: "Forbidden: bot was kicked"}, gone, 0},
		{"library error pointer", &tgbotapi.Error{Code: 400, Message: "Bad Request: message is too long"}, permanent, 0},
		{"upload with retry_after and code 0", &tgbotapi.Error{ResponseParameters: tgbotapi.ResponseParameters{RetryAfter: 9}}, retryable, 9 * time.Second},
		{"upload with migration and code 0", &tgbotapi.Error{ResponseParameters: tgbotapi.ResponseParameters{MigrateToChatID: -5}}, permanent, 0},
		{"wrapped API error", fmt.Errorf("x: %w", &APIError{Code: 429, RetryAfter: 3}), retryable, 3 * time.Second},
		{"500 with retry_after", &APIError{Code: 500, RetryAfter: 2}, retryable, 2 * time.Second},
		{"HTTP 429 page with Retry-After", &HTTPError{StatusCode: 429, RetryAfter: 4 * time.Second}, retryable, 4 * time.Second},
		{"HTTP 408 page", &HTTPError{StatusCode: 408}, retryable, 0},
		{"HTTP 401 page", &HTTPError{StatusCode: 401}, permanent, 0},
		{"JSON syntax error", syntaxErr, retryable, 0},
		{"unexpected EOF", io.ErrUnexpectedEOF, retryable, 0},
		{"url error", &url.Error{Op: "Post", URL: "http://x", Err: errors.New("connection reset")}, retryable, 0},
		{"net error", &net.OpError{Op: "dial", Err: errors.New("refused")}, retryable, 0},
		{"deadline", context.DeadlineExceeded, retryable, 0},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), canceled, 0},
		{"already classified", handlers.Permanent(&APIError{Code: 500}), permanent, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(tc.err)
			if v := verdictOf(got); v != tc.want {
				t.Errorf("verdict %v, want %v (%v)", v, tc.want, got)
			}
			if d, _ := handlers.RetryDelay(got); d != tc.delay {
				t.Errorf("delay %v, want %v", d, tc.delay)
			}
			if tc.err != nil && !errors.Is(got, tc.err) {
				t.Error("the classified error does not wrap the original")
			}
		})
	}
}

// TestTokenNeverLeaks runs a Sender with a distinctive token against servers
// that fail in every way and looks for the token in every error (and every
// error it wraps) and every log line.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	const secret = "987654321:AAH-SuperSecret_token-DO-NOT-LEAK"
	forms := []string{secret, url.PathEscape(secret), url.QueryEscape(secret), "SuperSecret"}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	var errs []error

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	base := Config{Token: secret, Chats: []string{"1", "-2"}, Logger: logger, Limits: NoLimits(),
		HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}}

	// New: network error, wrong token (401), HTML instead of JSON, hang.
	cfg := base
	cfg.BaseURL = closed.URL
	_, err := New(context.Background(), cfg)
	errs = append(errs, err)
	other := telegramtest.NewServer(t, "111:other")
	cfg.BaseURL = other.URL
	_, err = New(context.Background(), cfg)
	errs = append(errs, err)
	srv := telegramtest.NewServer(t, secret)
	cfg.BaseURL = srv.URL
	srv.Enqueue("", telegramtest.HTMLPage(502))
	_, err = New(context.Background(), cfg)
	errs = append(errs, err)
	srv.Enqueue("", telegramtest.Hang())
	_, err = New(context.Background(), cfg)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("New %d succeeded", i)
		}
	}

	// Handle: 401 (revoked), a description that echoes the token, HTML,
	// hang, 429, 403, and finally the server gone.
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Enqueue("1", telegramtest.Error(401, "Unauthorized"))
	srv.Enqueue("1", telegramtest.BadRequest("invalid token "+secret), telegramtest.HTMLPage(502), telegramtest.HTMLPage(502),
		telegramtest.Hang(), telegramtest.Hang(), telegramtest.TooManyRequests(1))
	srv.Enqueue("-2", telegramtest.Kicked())
	for i := range 7 { // one attempt each: every scripted answer is used
		errs = append(errs, s.Handle(context.Background(), status(fmt.Sprint(i))))
	}
	srv.Close()
	errs = append(errs, s.Handle(context.Background(), status("last")))

	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		for _, e := range chain(err) {
			for _, text := range []string{e.Error(), fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
				for _, f := range forms {
					if strings.Contains(text, f) {
						t.Errorf("the token leaks in an error: %s", text)
					}
				}
			}
		}
	}
	if n < 8 {
		t.Errorf("only %d failures: the test did not exercise the failures", n)
	}
	for _, f := range forms {
		if strings.Contains(logs.String(), f) {
			t.Errorf("the token leaks in the logs:\n%s", logs)
		}
	}
	for _, want := range []string{"redacted", "check TELEGRAM_BOT_TOKEN", "not the Bot API's JSON", "Client.Timeout", "chat disabled"} {
		if !strings.Contains(logs.String()+fmt.Sprint(errs), want) {
			t.Errorf("no %q in the errors and logs: a failure mode was not exercised", want)
		}
	}
}

// chain returns err and every error it wraps.
func chain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, chain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, chain(e)...)
		}
	}
	return out
}
