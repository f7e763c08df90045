package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/telegram/telegramtest"
	"github.com/streambot/streambot/stream"
)

const testToken = "123456:TEST-token"

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sleeps records the delays of an injected Sleep without sleeping: the
// harness's Sender waits through it (only for rate limits, which the harness
// disables), and TestOuterRetryDoesNotDuplicate's retry policy too.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

type harness struct {
	srv    *telegramtest.Server
	sender *Sender
	sleeps *sleeps
	logs   *syncBuffer
}

// newHarness starts a fake Bot API and a Sender for chats without rate
// limits, whose every wait is recorded in h.sleeps (so a test can check that
// the Sender never waits on its own).
func newHarness(t *testing.T, chats []string, mod ...func(*Config)) *harness {
	t.Helper()
	h := &harness{srv: telegramtest.NewServer(t, testToken), sleeps: &sleeps{}, logs: &syncBuffer{}}
	cfg := Config{
		Token:   testToken,
		BaseURL: h.srv.URL,
		Chats:   chats,
		Limits:  NoLimits(),
		Logger:  slog.New(slog.NewTextHandler(h.logs, nil)),
		Sleep:   h.sleeps.sleep,
	}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.sender = s
	return h
}

func status(id string) *stream.Status {
	return &stream.Status{ID: id, Source: "mock", Author: stream.Author{ScreenName: "gopher", Name: "Gopher"},
		Text: "status " + id, URL: "https://x.com/gopher/status/" + id}
}

// calls lists the recorded sendMessage requests as "chat:status".
func calls(srv *telegramtest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Method == "sendMessage" {
			out = append(out, fmt.Sprintf("%s:%d", r.ChatID, r.Status))
		}
	}
	return out
}

func TestNewChecksTokenWithGetMe(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1"})
	reqs := h.srv.Requests()
	if len(reqs) != 1 || reqs[0].Method != "getMe" {
		t.Fatalf("requests %+v, want one getMe", reqs)
	}
	if got := h.sender.Bot(); got != "@streambot_test_bot" {
		t.Errorf("Bot() = %q", got)
	}
}

func TestNewRejectsBadToken(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "other:token")
	_, err := New(context.Background(), Config{Token: testToken, BaseURL: srv.URL, Chats: []string{"1"}})
	if err == nil {
		t.Fatal("New succeeded with a token the server refuses")
	}
	want := "telegram: the Bot API rejected the token (HTTP 401 Unauthorized): check TELEGRAM_BOT_TOKEN"
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if !errors.Is(err, handlers.ErrDestinationGone) {
		t.Error("a rejected token is not classified as gone")
	}
	if len(srv.Requests()) != 1 {
		t.Errorf("%d requests, want the one getMe", len(srv.Requests()))
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, testToken)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no token", Config{Chats: []string{"1"}}, "no bot token"},
		{"token with a slash", Config{Token: "1:a/b", Chats: []string{"1"}}, "characters a token cannot have"},
		{"bad base URL", Config{Token: testToken, BaseURL: "ftp://x", Chats: []string{"1"}}, "TELEGRAM_API_URL"},
		{"base URL with a query", Config{Token: testToken, BaseURL: "https://x?y", Chats: []string{"1"}}, "TELEGRAM_API_URL"},
		{"no chats", Config{Token: testToken}, "no chats"},
		{"bad chat", Config{Token: testToken, Chats: []string{"1", "my group"}}, `chat "my group"`},
		{"short channel", Config{Token: testToken, Chats: []string{"@ab"}}, `chat "@ab"`},
		{"duplicate chat", Config{Token: testToken, Chats: []string{"1", " 1"}}, "listed twice"},
		{"bad template", Config{Token: testToken, Chats: []string{"1"}, Template: "<p>{{.Text}}</p>"}, "does not support the tag <p>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.cfg.BaseURL == "" {
				tc.cfg.BaseURL = srv.URL
			}
			_, err := New(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "telegram: ") {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("invalid configurations made %d requests", n)
	}
}

func TestPrintingTheConfigHidesTheToken(t *testing.T) {
	t.Parallel()
	cfg := Config{Token: testToken, Chats: []string{"4242"}}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg)
	for _, text := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", &cfg), fmt.Sprintf("%#v", cfg), logs.String()} {
		if strings.Contains(text, "TEST-token") || !strings.Contains(text, "4242") {
			t.Errorf("printed the token, or not the chats: %s", text)
		}
	}
}

func TestSendsToEveryChatInOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1", "-1002", "@somechannel"}, func(c *Config) { c.DisablePreview = true })
	if err := h.sender.Handle(context.Background(), status("7")); err != nil {
		t.Fatal(err)
	}
	sent := h.srv.Sent()
	var chats []string
	for _, r := range sent {
		chats = append(chats, r.ChatID)
		want := "<b>Gopher</b> (@gopher)\nstatus 7\n<a href=\"https://x.com/gopher/status/7\">https://x.com/gopher/status/7</a>"
		if r.Text != want || r.ParseMode != "HTML" {
			t.Errorf("sent %q (%s), want %q (HTML)", r.Text, r.ParseMode, want)
		}
		if got := r.Params.Get("link_preview_options"); got != `{"is_disabled":true}` {
			t.Errorf("link_preview_options = %q", got)
		}
	}
	if !slices.Equal(chats, []string{"1", "-1002", "@somechannel"}) {
		t.Errorf("sent to %v", chats)
	}
	if len(h.sleeps.get()) != 0 {
		t.Errorf("slept %v", h.sleeps.get())
	}
}

// wantRetryable fails the test unless err is retryable (not permanent, not
// gone) with exactly the retry delay delay (0: none, the caller's backoff).
func wantRetryable(t *testing.T, err error, delay time.Duration) {
	t.Helper()
	if !handlers.IsRetryable(err) || errors.Is(err, handlers.ErrPermanent) || errors.Is(err, handlers.ErrDestinationGone) {
		t.Errorf("err = %v, want retryable", err)
	}
	if d, ok := handlers.RetryDelay(err); d != delay || ok != (delay > 0) {
		t.Errorf("retry delay %v (%v), want %v: %v", d, ok, delay, err)
	}
}

func TestRouteTemplateSelectsOnRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1"}, func(c *Config) {
		c.RouteTemplates = map[string]string{"py": "<b>py</b> {{.Text}}", "go": "<b>go</b> {{.Text}}"}
	})
	for _, tc := range []struct {
		routes, matched []string
		want            string
	}{
		{nil, []string{"py"}, "<b>Gopher</b> (@gopher)\n"}, // Matched holds phrases, not routes: the default template
		{[]string{"py"}, []string{"python"}, "<b>py</b> "},
		{[]string{"other", "go", "py"}, nil, "<b>go</b> "}, // the first route that has a template
		{[]string{"other"}, nil, "<b>Gopher</b> (@gopher)\n"},
	} {
		st := status("1")
		st.Routes, st.Matched = tc.routes, tc.matched
		if err := h.sender.Handle(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		sent := h.srv.Sent()
		if got := sent[len(sent)-1].Text; !strings.HasPrefix(got, tc.want) {
			t.Errorf("routes %q matched %q: sent %q, want it to start with %q", tc.routes, tc.matched, got, tc.want)
		}
	}
}

func TestTooManyRequestsReturnsRetryAfterAndDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1", "2", "3"})
	h.srv.Enqueue("2", telegramtest.TooManyRequests(7), telegramtest.TooManyRequests(1))
	st := status("1")
	// One attempt per Handle: the 429 comes back with its retry_after, and
	// handing the same status again sends only to chat 2.
	wantRetryable(t, h.sender.Handle(context.Background(), st), 7*time.Second)
	if got, want := calls(h.srv), []string{"1:200", "2:429", "3:200"}; !slices.Equal(got, want) {
		t.Errorf("first attempt: calls %v, want %v", got, want)
	}
	wantRetryable(t, h.sender.Handle(context.Background(), st), time.Second)
	if err := h.sender.Handle(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if got, want := calls(h.srv), []string{"1:200", "2:429", "3:200", "2:429", "2:200"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if got := h.sleeps.get(); len(got) != 0 {
		t.Errorf("the Sender waited %v itself; waiting retry_after is the caller's job", got)
	}
	texts := map[string]int{}
	for _, r := range h.srv.Sent() {
		texts[r.ChatID+r.Text]++
	}
	for k, n := range texts {
		if n != 1 {
			t.Errorf("%q delivered %d times", k, n)
		}
	}
}

func TestTooManyRequestsInTheMiddleOfASplitMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1"}, func(c *Config) { c.Split = true })
	h.srv.Enqueue("1", telegramtest.OK(), telegramtest.TooManyRequests(3))
	s := status("1")
	s.Text = strings.Repeat("word ", 2000) // three messages
	wantRetryable(t, h.sender.Handle(context.Background(), s), 3*time.Second)
	if got, want := calls(h.srv), []string{"1:200", "1:429"}; !slices.Equal(got, want) {
		t.Fatalf("first attempt: calls %v, want %v", got, want)
	}
	if err := h.sender.Handle(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got, want := calls(h.srv), []string{"1:200", "1:429", "1:200", "1:200"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	reqs := h.srv.Requests()
	if reqs[2].Text != reqs[3].Text || reqs[2].Text == reqs[4].Text || reqs[1].Text == reqs[3].Text {
		t.Error("the retry did not resend the part that failed, and only it")
	}
	if got := h.sleeps.get(); len(got) != 0 {
		t.Errorf("the Sender waited %v itself", got)
	}
}

func TestBlockedChatIsDisabledAndOthersContinue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1", "2", "3"})
	h.srv.Block("2")
	err := h.sender.Handle(context.Background(), status("1"))
	if !errors.Is(err, handlers.ErrPermanent) || errors.Is(err, handlers.ErrDestinationGone) {
		t.Errorf("err = %v; want permanent (chat 2 never gets it) but not gone (1 and 3 work)", err)
	}
	if err == nil || !strings.Contains(err.Error(), "chat 2: sendMessage: Forbidden: bot was blocked by the user (HTTP 403)") {
		t.Errorf("err = %v", err)
	}
	if got := h.sender.Disabled(); !slices.Equal(got, []string{"2"}) {
		t.Errorf("Disabled() = %v", got)
	}
	if err := h.sender.Handle(context.Background(), status("2")); err != nil {
		t.Errorf("second status: %v", err)
	}
	if got, want := calls(h.srv), []string{"1:200", "2:403", "3:200", "1:200", "3:200"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if n := strings.Count(h.logs.String(), "chat disabled"); n != 1 {
		t.Errorf("%d 'chat disabled' log lines, want 1:\n%s", n, h.logs)
	}
	if len(h.sleeps.get()) != 0 {
		t.Errorf("a 403 was retried: slept %v", h.sleeps.get())
	}

	// When every chat is gone, the destination is.
	h.srv.Block("1")
	h.srv.Enqueue("3", telegramtest.Kicked())
	err = h.sender.Handle(context.Background(), status("3"))
	if !errors.Is(err, handlers.ErrDestinationGone) {
		t.Errorf("all chats blocked: err = %v, want gone", err)
	}
	err = h.sender.Handle(context.Background(), status("4"))
	if !errors.Is(err, handlers.ErrDestinationGone) || !strings.Contains(err.Error(), "every chat is disabled (1, 2, 3)") {
		t.Errorf("nothing left: err = %v", err)
	}
}

func TestMigrationIsFollowedAndRemembered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"-100", "2"})
	h.srv.Migrate("-100", -1009999)
	for _, id := range []string{"1", "2"} {
		if err := h.sender.Handle(context.Background(), status(id)); err != nil {
			t.Fatalf("status %s: %v", id, err)
		}
	}
	want := []string{"-100:400", "-1009999:200", "2:200", "-1009999:200", "2:200"}
	if got := calls(h.srv); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if n := strings.Count(h.logs.String(), "upgraded to a supergroup"); n != 1 {
		t.Errorf("%d migration log lines, want 1", n)
	}
	if len(h.sender.Disabled()) != 0 || len(h.sleeps.get()) != 0 {
		t.Errorf("disabled %v, slept %v", h.sender.Disabled(), h.sleeps.get())
	}
}

func TestBadRequestDropsTheMessageForThatChat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1", "2"})
	h.srv.Enqueue("1", telegramtest.BadRequest("can't parse entities: unsupported start tag"))
	err := h.sender.Handle(context.Background(), status("1"))
	if !errors.Is(err, handlers.ErrPermanent) || errors.Is(err, handlers.ErrDestinationGone) {
		t.Errorf("err = %v, want permanent", err)
	}
	if !strings.Contains(h.logs.String(), "dropping it for this chat") {
		t.Errorf("no drop log line:\n%s", h.logs)
	}
	if err := h.sender.Handle(context.Background(), status("2")); err != nil {
		t.Errorf("next status: %v", err)
	}
	if got, want := calls(h.srv), []string{"1:400", "2:200", "1:200", "2:200"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if len(h.sleeps.get()) != 0 || len(h.sender.Disabled()) != 0 {
		t.Errorf("a 400 was retried or disabled the chat")
	}
}

func TestServerErrorsAreRetryable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1"})
	h.srv.Enqueue("1", telegramtest.ServerError(500), telegramtest.HTMLPage(502), telegramtest.ServerError(503), telegramtest.ServerError(504))
	st := status("1")
	for i := range 4 {
		wantRetryable(t, h.sender.Handle(context.Background(), st), 0)
		if n := len(calls(h.srv)); n != i+1 {
			t.Fatalf("Handle %d made %d sends in all, want one each", i+1, n)
		}
	}
	if err := h.sender.Handle(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if got, want := calls(h.srv), []string{"1:500", "1:502", "1:503", "1:504", "1:200"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if got := h.sleeps.get(); len(got) != 0 {
		t.Errorf("the Sender backed off %v itself", got)
	}
	if n := strings.Count(h.logs.String(), "retrying"); n != 0 {
		t.Errorf("%d retry log lines, want none (the caller logs its retries):\n%s", n, h.logs)
	}
}

func TestOneAttemptPerHandle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1", "2"})
	h.srv.Always("2", telegramtest.ServerError(502))
	st := status("1")
	err := h.sender.Handle(context.Background(), st)
	wantRetryable(t, err, 0)
	if err == nil || !strings.Contains(err.Error(), "chat 2: sendMessage") {
		t.Errorf("err = %v, want it to name chat 2", err)
	}
	if got, want := calls(h.srv), []string{"1:200", "2:502"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v: one try of each chat", got, want)
	}
	wantRetryable(t, h.sender.Handle(context.Background(), st), 0)
	if got, want := calls(h.srv), []string{"1:200", "2:502", "2:502"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v: the same status again goes to chat 2 only", got, want)
	}
}

// TestFailureClassification checks the error of a Handle in which several
// chats failed: retryable when any failure is, waiting the longest
// retry_after; permanent only when every failure is; and that handing the
// same status again resends to the chats that failed retryably, only.
func TestFailureClassification(t *testing.T) {
	t.Parallel()
	type want int
	const (
		retryable want = iota
		permanent
		gone
	)
	tests := []struct {
		name    string
		replies map[string]telegramtest.Reply // by chat; the others accept
		want    want
		delay   time.Duration
		again   []string // the sends of a second Handle with the same status
	}{
		{"longest retry_after wins",
			map[string]telegramtest.Reply{"1": telegramtest.TooManyRequests(3), "2": telegramtest.TooManyRequests(9), "3": telegramtest.ServerError(502)},
			retryable, 9 * time.Second, []string{"1:200", "2:200", "3:200"}},
		{"retry_after and a permanent failure",
			map[string]telegramtest.Reply{"1": telegramtest.BadRequest("message is too long"), "3": telegramtest.TooManyRequests(5)},
			retryable, 5 * time.Second, []string{"3:200"}},
		{"server error and a blocked chat",
			map[string]telegramtest.Reply{"2": telegramtest.ServerError(500), "3": telegramtest.Blocked()},
			retryable, 0, []string{"2:200"}},
		{"every failure permanent",
			map[string]telegramtest.Reply{"1": telegramtest.BadRequest("message is too long"), "2": telegramtest.Blocked()},
			permanent, 0, []string{}},
		{"every chat blocked",
			map[string]telegramtest.Reply{"1": telegramtest.Blocked(), "2": telegramtest.Kicked(), "3": telegramtest.Blocked()},
			gone, 0, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, []string{"1", "2", "3"})
			for chat, r := range tc.replies {
				h.srv.Enqueue(chat, r)
			}
			st := status("1")
			err := h.sender.Handle(context.Background(), st)
			switch tc.want {
			case retryable:
				wantRetryable(t, err, tc.delay)
			case permanent:
				if !errors.Is(err, handlers.ErrPermanent) || errors.Is(err, handlers.ErrDestinationGone) {
					t.Errorf("err = %v, want permanent, not gone", err)
				}
			case gone:
				if !errors.Is(err, handlers.ErrDestinationGone) {
					t.Errorf("err = %v, want gone", err)
				}
			}
			if n := len(calls(h.srv)); n != 3 {
				t.Errorf("%d sends, want one per chat", n)
			}
			for chat := range tc.replies {
				if err == nil || !strings.Contains(err.Error(), "chat "+chat+": ") {
					t.Errorf("err = %v, want it to name chat %s", err, chat)
				}
			}
			err = h.sender.Handle(context.Background(), st)
			if len(tc.again) > 0 && err != nil {
				t.Errorf("second Handle: %v", err)
			}
			if got := calls(h.srv)[3:]; !slices.Equal(got, tc.again) {
				t.Errorf("second Handle sent %v, want %v", got, tc.again)
			}
		})
	}
}

// TestOuterRetryDoesNotDuplicate retries the Sender as package bot's
// delivery loop does: the retry policy owns the backoff, and the Sender's
// progress keeps chats that accepted from getting the status twice.
func TestOuterRetryDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1", "2", "3"})
	h.srv.Enqueue("2", telegramtest.ServerError(502), telegramtest.ServerError(502))
	rec := &sleeps{}
	outer := handlers.Retry(handlers.RetryPolicy{Jitter: -1, Sleep: rec.sleep, MaxAttempts: 5})(h.sender)
	if err := outer.Handle(context.Background(), status("1")); err != nil {
		t.Fatal(err)
	}
	want := []string{"1:200", "2:502", "3:200", "2:502", "2:200"}
	if got := calls(h.srv); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if got, want := rec.get(), []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("the outer policy waited %v, want its backoff %v", got, want)
	}
	// Another status is sent to everyone again.
	if err := h.sender.Handle(context.Background(), status("2")); err != nil {
		t.Fatal(err)
	}
	if got := calls(h.srv)[5:]; !slices.Equal(got, []string{"1:200", "2:200", "3:200"}) {
		t.Errorf("next status went to %v", got)
	}
}

func TestHangingAnswerTimesOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1"}, func(c *Config) {
		c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	})
	h.srv.Enqueue("1", telegramtest.Hang())
	err := h.sender.Handle(context.Background(), status("1"))
	wantRetryable(t, err, 0)
	if err == nil || !strings.Contains(err.Error(), "Client.Timeout") {
		t.Errorf("the error does not show the timeout: %v", err)
	}
	if err := h.sender.Handle(context.Background(), status("1")); err != nil {
		t.Fatal(err)
	}
	if got, want := calls(h.srv), []string{"1:0", "1:200"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}

func TestHandleStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1", "2"})
	h.srv.Enqueue("1", telegramtest.Hang())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.sender.Handle(ctx, status("1")) }()
	<-h.srv.Received() // getMe
	for len(calls(h.srv)) == 0 {
		<-h.srv.Received()
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || handlers.IsRetryable(err) {
		t.Errorf("err = %v, want Canceled", err)
	}
	if got := calls(h.srv); !slices.Equal(got, []string{"1:0"}) {
		t.Errorf("calls %v: chat 2 must not be tried after the context ended", got)
	}
}

func TestBotLevelFailureStopsAllChats(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1", "2"})
	h.srv.Enqueue("", telegramtest.Error(401, "Unauthorized"))
	err := h.sender.Handle(context.Background(), status("1"))
	if !errors.Is(err, handlers.ErrDestinationGone) || !strings.Contains(err.Error(), "check TELEGRAM_BOT_TOKEN") {
		t.Errorf("err = %v", err)
	}
	if got := calls(h.srv); !slices.Equal(got, []string{"1:401"}) {
		t.Errorf("calls %v, want only the first", got)
	}
	if len(h.sender.Disabled()) != 0 {
		t.Errorf("a bad token disabled chats: %v", h.sender.Disabled())
	}
}

// fakeClock advances on Sleep and records the waits.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	delays []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delays = append(c.delays, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits Limits
		chats  []string
		n      int
		want   []time.Duration
	}{
		{"per chat and per group", Limits{Chat: handlers.Rate{Every: time.Second, Burst: 1}, Group: handlers.PerMinute(20, 1)},
			[]string{"1", "-100"}, 3,
			// status 2: chat 1 waits 1 s, the group 2 s more (3 s apart);
			// status 3: chat 1 is ready, the group waits 3 s.
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{"burst", Limits{Chat: handlers.Rate{Every: time.Second, Burst: 3}}, []string{"1"}, 5,
			[]time.Duration{time.Second, time.Second}},
		{"channel names are groups", Limits{Chat: handlers.Rate{Every: time.Second, Burst: 1}, Group: handlers.PerMinute(20, 1)},
			[]string{"@channel"}, 2, []time.Duration{3 * time.Second}},
		{"global", Limits{Global: handlers.Rate{Every: 100 * time.Millisecond, Burst: 1}}, []string{"1", "2", "3"}, 1,
			[]time.Duration{100 * time.Millisecond, 100 * time.Millisecond}},
		{"defaults", DefaultLimits(), []string{"1"}, 5,
			// 3 a second, each 1/30 s after the last (global), then one a second.
			[]time.Duration{time.Second / 30, time.Second / 30, time.Second - 2*time.Second/30, time.Second}},
		{"disabled", Limits{}, []string{"1", "-2"}, 10, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			h := newHarness(t, tc.chats, func(c *Config) {
				l := tc.limits
				c.Limits = &l
				c.Now, c.Sleep = clk.Now, clk.Sleep
			})
			for i := range tc.n {
				if err := h.sender.Handle(context.Background(), status(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			if !approxEqual(clk.delays, tc.want) {
				t.Errorf("waits %v, want %v", clk.delays, tc.want)
			}
			if got := len(h.srv.Sent()); got != tc.n*len(tc.chats) {
				t.Errorf("sent %d, want %d", got, tc.n*len(tc.chats))
			}
		})
	}
}

// approxEqual compares durations to the microsecond (rate.Limiter computes
// in floating point).
func approxEqual(a, b []time.Duration) bool {
	return slices.EqualFunc(a, b, func(x, y time.Duration) bool { return (x - y).Abs() < time.Microsecond })
}

func TestNoRequestExceedsTheLimit(t *testing.T) {
	t.Parallel()
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprint("split=", split), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, []string{"1"}, func(c *Config) { c.Split = split })
			for i, text := range []string{strings.Repeat("😀", 10000), strings.Repeat("<&>", 5000), strings.Repeat("a", 4096)} {
				s := status(fmt.Sprint(i))
				s.Text = text
				if err := h.sender.Handle(context.Background(), s); err != nil {
					t.Fatalf("text %d: %v", i, err)
				}
			}
			for _, r := range h.srv.Requests() {
				if r.Method != "sendMessage" {
					continue
				}
				if r.Status != http.StatusOK {
					t.Errorf("Telegram refused a message: %d %s", r.Status, r.Description)
				}
				if n := telegramtest.UTF16Len(r.Visible()); n > MaxMessageLen {
					t.Errorf("a message of %d characters", n)
				}
			}
			if split && len(h.srv.Sent()) < 6 {
				t.Errorf("split sent only %d messages", len(h.srv.Sent()))
			}
		})
	}
}

func TestEscapedTextReachesTelegram(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1"})
	s := status("1")
	s.Author.Name = "<b>Boss</b>\u202e"
	s.Text = `</a><a href="javascript:alert(1)">x</a> &amp; <script>` + "\u200b"
	if err := h.sender.Handle(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	sent := h.srv.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d", len(sent))
	}
	want := "<b>&lt;b&gt;Boss&lt;/b&gt;</b> (@gopher)\n&lt;/a&gt;&lt;a href=&#34;javascript:alert(1)&#34;&gt;x&lt;/a&gt; &amp;amp; &lt;script&gt;\u200b\n" +
		`<a href="https://x.com/gopher/status/1">https://x.com/gopher/status/1</a>`
	if sent[0].Text != want {
		t.Errorf("sent %q\nwant %q", sent[0].Text, want)
	}
	wantVisible := "<b>Boss</b> (@gopher)\n" + `</a><a href="javascript:alert(1)">x</a> &amp; <script>` + "\u200b\nhttps://x.com/gopher/status/1"
	if got := sent[0].Visible(); got != wantVisible {
		t.Errorf("visible %q\nwant %q", got, wantVisible)
	}
}

func TestDisabledIsSafeConcurrently(t *testing.T) {
	t.Parallel()
	h := newHarness(t, []string{"1", "2"})
	h.srv.Block("1")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				h.sender.Disabled()
			}
		})
	}
	for i := range 5 {
		h.sender.Handle(context.Background(), status(fmt.Sprint(i)))
	}
	wg.Wait()
	if got := h.sender.Disabled(); !slices.Equal(got, []string{"1"}) {
		t.Errorf("Disabled() = %v", got)
	}
}
