package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// maxAnswer bounds how much of an answer is read; Bot API answers to the
// methods used here are small.
const maxAnswer = 1 << 20

// maxMigrations bounds how many migrations one send follows.
const maxMigrations = 3

// Sender sends statuses to Telegram chats. Create it with [New]. It is a
// handlers.Handler; Handle calls are serialized (package bot calls each
// destination from one goroutine anyway) and the other methods may be called
// at any time from any goroutine.
type Sender struct {
	api            *tgbotapi.BotAPI // a template, copied per call with a context-bound client
	client         *http.Client
	token          string
	format         *Formatter
	routeFormat    map[string]*Formatter // by route name (see Status.Routes)
	log            *slog.Logger
	global         handlers.Waiter
	disablePreview bool
	username       string

	sendMu sync.Mutex // serializes Handle and guards resume
	resume *progress  // see progress.go

	mu    sync.Mutex // guards the chats' id and disabled
	chats []*chat
}

type chat struct {
	name     string // as configured, for logs and Disabled
	id       string // where messages go now (changed by a migration)
	limit    handlers.Waiter
	disabled bool
}

// New validates cfg, checks the token with getMe (so a bad token fails here,
// with a message that says to check TELEGRAM_BOT_TOKEN) and returns a
// Sender. ctx bounds the getMe call only.
func New(ctx context.Context, cfg Config) (*Sender, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	f, err := NewFormatter(cfg.Template, cfg.Split)
	if err != nil {
		return nil, err
	}
	routeFormat := map[string]*Formatter{}
	for route, tmpl := range cfg.RouteTemplates {
		rf, err := NewFormatter(tmpl, cfg.Split)
		if err != nil {
			return nil, fmt.Errorf("telegram: template of route %q: %w", route, err)
		}
		routeFormat[route] = rf
	}
	s := &Sender{
		client:         cfg.HTTPClient,
		token:          cfg.Token,
		format:         f,
		routeFormat:    routeFormat,
		log:            cfg.Logger,
		disablePreview: cfg.DisablePreview,
	}
	limiter := func(r handlers.Rate) handlers.Waiter {
		l := r.NewLimiter()
		if l == nil {
			return nil
		}
		return &handlers.Limiter{Rate: l, Now: cfg.Now, Sleep: cfg.Sleep}
	}
	s.global = limiter(cfg.Limits.Global)
	for _, c := range cfg.Chats {
		r := cfg.Limits.Chat
		if isGroup(c) {
			r = cfg.Limits.Group
		}
		s.chats = append(s.chats, &chat{name: c, id: c, limit: limiter(r)})
	}

	endpoint := strings.ReplaceAll(cfg.BaseURL, "%", "%%") + "/bot%s/%s"
	api, err := tgbotapi.NewBotAPIWithClient(cfg.Token, endpoint, s.bound(ctx))
	if err != nil {
		return nil, Classify(callError("getMe", cfg.Token, err))
	}
	api.Client = nil // each call sets its own
	s.api = api
	s.username = api.Self.UserName
	s.log.Info("telegram: bot ready", "bot", s.Bot(), "chats", len(s.chats))
	return s, nil
}

// Bot returns the bot's @username, as getMe reported it.
func (s *Sender) Bot() string { return "@" + s.username }

// Disabled returns the configured chats that were disabled because they
// refuse the bot (blocked, kicked, chat not found), in configuration order.
// They stay disabled until the Sender is recreated.
func (s *Sender) Disabled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.chats {
		if c.disabled {
			out = append(out, c.name)
		}
	}
	return out
}

// Handle formats s and makes one attempt to send it to every enabled chat
// that does not have it yet, in configuration order, each chat waiting for
// its rate limits first. It does not retry: the caller (package bot's
// delivery loop) owns retries, and hands the same status again after a
// retryable failure; then only the chats that did not get it, or the parts of
// a split message they did not get, are sent (see progress). It blocks until
// every chat had its attempt or ctx ends.
//
// A chat that fails does not stop the others: a chat that refuses the bot
// (403) is disabled and logged once; a group that migrated is followed
// within the attempt; a message Telegram rejects (400) is dropped for that
// chat and logged. Only a failure of the bot itself (401, 404: bad token or
// endpoint) stops the remaining chats.
//
// The error is nil when every enabled chat got the status; otherwise it is a
// handlers.DeliveryError naming each chat that failed in this attempt:
// retryable when any failure is retryable, with the largest retry_after
// among them; permanent when every failure is permanent; gone when the bot
// is unusable or no chat is left enabled.
func (s *Sender) Handle(ctx context.Context, st *stream.Status) error {
	format := s.format
	for _, route := range st.Routes {
		if f := s.routeFormat[route]; f != nil {
			format = f
			break
		}
	}
	msgs, err := format.Format(st)
	if err != nil {
		s.log.Error("telegram: cannot format status: dropping it", "status", st.ID, "err", err)
		return handlers.Permanent(err)
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()

	key := statusKey(st)
	next := s.resume.start(key, len(msgs), len(s.chats))
	s.resume = nil

	var failures []chatFailure
	stopAll := false
	for i, c := range s.chats {
		if next[i] >= len(msgs) || s.isDisabled(c) {
			continue
		}
		err := s.deliver(ctx, c, msgs, &next[i])
		if err == nil {
			continue
		}
		failures = append(failures, chatFailure{chat: c.name, err: err})
		switch {
		case botLevel(err):
			s.log.Error("telegram: the Bot API refuses the bot: status not delivered", "status", st.ID, "err", err)
			stopAll = true
		case errors.Is(err, handlers.ErrDestinationGone):
			s.disable(c, err)
			next[i] = len(msgs)
		case errors.Is(err, handlers.ErrPermanent):
			s.log.Error("telegram: Telegram rejected the message: dropping it for this chat",
				"chat", c.name, "status", st.ID, "err", err)
			next[i] = len(msgs)
		case ctx.Err() != nil:
			stopAll = true
		}
		if stopAll {
			break
		}
	}

	enabled := s.enabledCount()
	if len(failures) == 0 {
		if enabled == 0 {
			return handlers.Gone(fmt.Errorf("telegram: status %s not delivered: every chat is disabled (%s)",
				st.ID, strings.Join(s.Disabled(), ", ")))
		}
		return nil
	}
	s.resume = &progress{key: key, parts: len(msgs), next: next}
	return newDeliveryError(st.ID, failures, enabled == 0)
}

// deliver makes one attempt to send msgs[*next:] to c, in order, and
// advances *next past each message Telegram accepted. It stops at the first
// failure and returns it, classified; following a migration
// (migrate_to_chat_id) to the new chat id is part of the attempt.
func (s *Sender) deliver(ctx context.Context, c *chat, msgs []string, next *int) error {
	migrations := 0
	for *next < len(msgs) {
		if err := s.wait(ctx, c); err != nil {
			return err
		}
		id := s.chatID(c)
		err := s.sendMessage(ctx, id, msgs[*next])
		var ae *APIError
		if errors.As(err, &ae) && ae.MigrateToChatID != 0 && migrations < maxMigrations {
			migrations++
			s.migrate(c, id, ae.MigrateToChatID)
			continue
		}
		if err != nil {
			return err
		}
		*next++
	}
	return nil
}

func (s *Sender) wait(ctx context.Context, c *chat) error {
	for _, w := range []handlers.Waiter{c.limit, s.global} {
		if w == nil {
			continue
		}
		if err := w.Wait(ctx); err != nil {
			return fmt.Errorf("telegram: waiting for the rate limit: %w", err)
		}
	}
	return nil
}

func (s *Sender) sendMessage(ctx context.Context, chatID, text string) error {
	params := tgbotapi.Params{"chat_id": chatID, "text": text, "parse_mode": "HTML"}
	if s.disablePreview {
		params["link_preview_options"] = `{"is_disabled":true}`
	}
	_, err := s.call(ctx, "sendMessage", params)
	return err
}

// call calls a Bot API method with ctx and returns its result or a
// classified, redacted error.
func (s *Sender) call(ctx context.Context, method string, params tgbotapi.Params) (json.RawMessage, error) {
	api := *s.api
	api.Client = s.bound(ctx)
	api.Debug = false
	resp, err := api.MakeRequest(method, params)
	if err != nil {
		return nil, Classify(callError(method, s.token, err))
	}
	return resp.Result, nil
}

func (s *Sender) chatID(c *chat) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.id
}

func (s *Sender) isDisabled(c *chat) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.disabled
}

func (s *Sender) enabledCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.chats {
		if !c.disabled {
			n++
		}
	}
	return n
}

func (s *Sender) migrate(c *chat, from string, to int64) {
	s.mu.Lock()
	c.id = strconv.FormatInt(to, 10)
	s.mu.Unlock()
	s.log.Warn("telegram: the group was upgraded to a supergroup: sending there from now on (update the configuration)",
		"chat", c.name, "from", from, "to", to)
}

func (s *Sender) disable(c *chat, err error) {
	s.mu.Lock()
	already := c.disabled
	c.disabled = true
	s.mu.Unlock()
	if !already {
		s.log.Error("telegram: chat disabled: it refuses the bot until a person acts (unblock or re-add the bot, then restart)",
			"chat", c.name, "err", err)
	}
}

// bound returns an HTTP client for tgbotapi that sends every request with
// ctx, recognizes answers that are not JSON, and redacts the token from
// errors.
func (s *Sender) bound(ctx context.Context) tgbotapi.HTTPClient {
	return &boundClient{ctx: ctx, c: s.client, secret: s.token}
}

type boundClient struct {
	ctx    context.Context
	c      *http.Client
	secret string
}

func (b *boundClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := b.c.Do(req.WithContext(b.ctx))
	if err != nil {
		return nil, redactError(err, b.secret)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, redactError(fmt.Errorf("reading the answer: %w", err), b.secret)
	}
	if !json.Valid(body) {
		return nil, &HTTPError{StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
			RetryAfter: retryAfterHeader(resp.Header.Get("Retry-After"))}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// retryAfterHeader parses a Retry-After header given in seconds.
func retryAfterHeader(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// chatFailure is one chat's failure to receive a status.
type chatFailure struct {
	chat string
	err  error
}

// deliveryFailures is the error of a Handle: every chat that failed.
type deliveryFailures struct {
	id       string
	failures []chatFailure
}

func (d *deliveryFailures) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "telegram: status %s not delivered to ", d.id)
	for i, f := range d.failures {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "chat %s: %s", f.chat, strings.TrimPrefix(f.err.Error(), "telegram: "))
	}
	return b.String()
}

// Unwrap returns each chat's error without its classification, which the
// DeliveryError around d sums up (so errors.Is(err, ErrPermanent) answers
// for the whole status, not for one chat).
func (d *deliveryFailures) Unwrap() []error {
	out := make([]error, len(d.failures))
	for i, f := range d.failures {
		out[i] = f.err
		if de, ok := f.err.(*handlers.DeliveryError); ok {
			out[i] = de.Err
		}
	}
	return out
}

func newDeliveryError(id string, failures []chatFailure, noneLeft bool) error {
	de := &handlers.DeliveryError{Err: &deliveryFailures{id: id, failures: failures}, Permanent: true, Gone: noneLeft}
	for _, f := range failures {
		if botLevel(f.err) {
			de.Gone = true
		}
		if !errors.Is(f.err, handlers.ErrPermanent) {
			de.Permanent = false
			if d, ok := handlers.RetryDelay(f.err); ok && d > de.RetryAfter {
				de.RetryAfter = d
			}
		}
	}
	if de.Gone || de.Permanent {
		de.Permanent, de.RetryAfter = true, 0
	}
	return de
}
