package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream"
)

// Format selects the body of the POST.
type Format string

// The formats a Sender can post.
const (
	// JSON posts a handlers.Record (the JSONL sink's record), or the output
	// of Config.Template, which must then be a JSON document.
	JSON Format = "json"
	// Slack posts {"text": ...}, with &, < and > escaped as Slack requires.
	Slack Format = "slack"
	// Discord posts {"content": ..., "allowed_mentions": {"parse": []}}: at
	// most 2000 characters, and no @everyone, role or user pings.
	Discord Format = "discord"
)

// Limits and defaults.
const (
	// DefaultTimeout bounds each request when Config.HTTPClient is nil.
	DefaultTimeout = 10 * time.Second
	// MaxDiscordLen is Discord's limit on content (counted here in UTF-16
	// code units, which is never less than Discord's count).
	MaxDiscordLen = 2000
	// MaxSlackLen is Slack's limit on text; longer text is truncated.
	MaxSlackLen = 40000
)

// DefaultTextTemplate is the message text of the Slack and Discord formats:
// the author, the full text, and the link, on three lines.
const DefaultTextTemplate = "{{if .Name}}{{.Name}} (@{{.Author}}){{else}}@{{.Author}}{{end}}\n{{.Text}}\n{{.URL}}"

// DefaultLimit returns the rate limit New uses when Config.Limit is nil:
// Slack allows about one message a second per webhook; Discord 5 requests
// per 2 s and 30 messages a minute per channel, so one every 2 s; a generic
// JSON endpoint has no limit.
func DefaultLimit(f Format) handlers.Rate {
	switch f {
	case Slack:
		return handlers.Rate{Every: time.Second, Burst: 1}
	case Discord:
		return handlers.PerMinute(30, 1)
	}
	return handlers.Rate{}
}

// Config configures a webhook destination.
type Config struct {
	// URL receives the POSTs. Required; http or https. It is treated as a
	// secret and never appears in errors or logs beyond its scheme and host.
	URL string
	// Format selects the body; "" means JSON.
	Format Format
	// Template is an optional text/template executed over the status's
	// handlers.Record. For JSON it renders the whole body, which must be a
	// JSON document (the json function encodes a value, e.g.
	// {"msg": {{json .Text}}}); for Slack and Discord it renders the message
	// text, "" meaning DefaultTextTemplate. Functions: json, join.
	Template string
	// Headers are added to every request (e.g. Authorization). Their values
	// are treated as secrets.
	Headers map[string]string
	// HTTPClient makes the requests; nil means a client with DefaultTimeout
	// that does not follow redirects.
	HTTPClient *http.Client
	// Limit is New's rate limit; nil means DefaultLimit(Format), a zero Rate
	// means no limit.
	Limit *handlers.Rate
	// Now is the clock of the rate limiter and of Retry-After dates; nil
	// means time.Now.
	Now func() time.Time
	// Sleep waits for the rate limiter; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// String shows cfg with its URL reduced to scheme and host and its header
// values redacted, so that fmt output of a Config never carries a secret.
func (cfg Config) String() string {
	type plain Config // without methods, so Sprintf does not recurse
	if u, err := url.Parse(cfg.URL); err == nil {
		cfg.URL = showURL(u)
	} else {
		cfg.URL = "<redacted>"
	}
	if cfg.Headers != nil {
		shown := make(map[string]string, len(cfg.Headers))
		for k := range cfg.Headers {
			shown[k] = "<redacted>"
		}
		cfg.Headers = shown
	}
	return fmt.Sprintf("%+v", plain(cfg))
}

// GoString is String, so %#v does not reveal the secrets either.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue keeps the secrets out of slog output.
func (cfg Config) LogValue() slog.Value { return slog.StringValue(cfg.String()) }

// New returns the webhook destination: a Sender behind the rate limit, so
// every POST waits for its turn. It makes one attempt per Handle and returns
// the Sender's classified error: retrying is the caller's job (package bot's
// delivery loop), which waits the error's handlers.RetryDelay when the
// server sent Retry-After.
func New(cfg Config) (handlers.Handler, error) {
	s, err := NewSender(cfg)
	if err != nil {
		return nil, err
	}
	limit := DefaultLimit(s.format)
	if cfg.Limit != nil {
		limit = *cfg.Limit
	}
	var wait handlers.Waiter
	if l := limit.NewLimiter(); l != nil {
		wait = &handlers.Limiter{Rate: l, Now: cfg.Now, Sleep: cfg.Sleep}
	}
	return handlers.RateLimitWaiter(wait)(s), nil
}

// Sender POSTs one status per Handle, once, and classifies the failure. It
// is safe for concurrent use. Most callers want [New], which adds the rate
// limit.
type Sender struct {
	url     string
	shown   string // the URL with its secrets replaced, for logs
	format  Format
	tmpl    *template.Template
	headers http.Header
	client  *http.Client
	now     func() time.Time
	secrets []string
}

// NewSender validates cfg and returns a Sender.
func NewSender(cfg Config) (*Sender, error) {
	if cfg.URL == "" {
		return nil, errors.New("webhook: no URL configured")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the URL
		}
		return nil, fmt.Errorf("webhook: the URL does not parse: %v", redactAll(err.Error(), cfg.URL))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: the URL must be an absolute http or https URL, not %q", showURL(u))
	}
	s := &Sender{url: cfg.URL, shown: showURL(u), format: cfg.Format, headers: http.Header{}, client: cfg.HTTPClient, now: cfg.Now}
	if s.format == "" {
		s.format = JSON
	}
	switch s.format {
	case JSON, Slack, Discord:
	default:
		return nil, fmt.Errorf("webhook: unknown format %q: use json, slack or discord", cfg.Format)
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: DefaultTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.secrets = []string{cfg.URL, u.String(), u.Redacted()}
	for _, p := range []string{u.EscapedPath(), u.Path, u.RawQuery, u.Fragment} {
		if len(p) > 2 {
			s.secrets = append(s.secrets, p)
		}
	}
	if u.User != nil {
		s.secrets = append(s.secrets, u.User.String())
		if p, ok := u.User.Password(); ok && p != "" {
			s.secrets = append(s.secrets, p)
		}
	}
	for k, v := range cfg.Headers {
		s.headers.Set(k, v)
		if v != "" {
			s.secrets = append(s.secrets, v)
		}
	}
	// Longest first, so that a whole URL is replaced before its parts.
	slices.SortFunc(s.secrets, func(a, b string) int { return len(b) - len(a) })

	src := cfg.Template
	if src == "" && s.format != JSON {
		src = DefaultTextTemplate
	}
	if src != "" {
		t, err := template.New("webhook").Funcs(template.FuncMap{"json": jsonString, "join": strings.Join}).Parse(src)
		if err != nil {
			return nil, fmt.Errorf("webhook: template: %w", err)
		}
		s.tmpl = t
	}
	sample := &stream.Status{ID: "1", Source: "sample", Author: stream.Author{ScreenName: "sample", Name: "Sample"},
		Text: "sample \"text\" <&>", URL: "https://x.com/sample/status/1", Matched: []string{"phrase"},
		Routes: []string{"route"}}
	if _, err := s.Body(sample); err != nil {
		return nil, err
	}
	return s, nil
}

// Body returns the JSON document posted for st.
func (s *Sender) Body(st *stream.Status) ([]byte, error) {
	rec := handlers.NewRecord(st)
	if s.format == JSON {
		if s.tmpl == nil {
			return json.Marshal(rec)
		}
		out, err := s.render(rec)
		if err != nil {
			return nil, err
		}
		if !json.Valid(out) {
			return nil, fmt.Errorf("webhook: the template's output is not a JSON document (use {{json .Field}}): %.100q", out)
		}
		return out, nil
	}
	text, err := s.text(rec)
	if err != nil {
		return nil, err
	}
	if s.format == Slack {
		return json.Marshal(map[string]string{"text": text})
	}
	return json.Marshal(struct {
		Content         string `json:"content"`
		AllowedMentions struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
	}{Content: text, AllowedMentions: struct {
		Parse []string `json:"parse"`
	}{Parse: []string{}}})
}

// text renders the Slack or Discord message text within the format's limit,
// truncating the status's text (not the link) with "…" when needed.
func (s *Sender) text(rec handlers.Record) (string, error) {
	limit := MaxSlackLen
	if s.format == Discord {
		limit = MaxDiscordLen
	}
	rec.Name, rec.Author, rec.URL = cleanLine(rec.Name), cleanLine(rec.Author), cleanLine(rec.URL)
	full := cleanText(rec.Text)
	measure := func(text string) (string, int, error) {
		rec.Text = text
		out, err := s.render(rec)
		if err != nil {
			return "", 0, err
		}
		msg := s.escape(string(out))
		return msg, utf16Len(msg), nil
	}
	msg, n, err := measure(full)
	if err != nil || n <= limit {
		return msg, err
	}
	_, overhead, err := measure("")
	if err != nil {
		return "", err
	}
	budget := limit - overhead
	for range 6 {
		if budget < 1 {
			break
		}
		if msg, n, err = measure(truncate(full, budget)); err != nil || n <= limit {
			return msg, err
		}
		// The text grew on its way into the message (escaping, or used more
		// than once): shrink the budget in proportion.
		budget = budget*(limit-overhead)/max(n-overhead, 1) - 1
	}
	// The template alone is too long: cut its output.
	return truncate(msg, limit), nil
}

func (s *Sender) render(rec handlers.Record) ([]byte, error) {
	var b bytes.Buffer
	if err := s.tmpl.Execute(&b, rec); err != nil {
		return nil, fmt.Errorf("webhook: template: %w", err)
	}
	return b.Bytes(), nil
}

// escape applies Slack's escaping (&, <, > as entities); Discord needs none
// since mentions are disabled in the body.
func (s *Sender) escape(text string) string {
	if s.format != Slack {
		return text
	}
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
}

// Handle POSTs the body of st once. It returns nil on a 2xx answer and
// otherwise a handlers.DeliveryError: RetryAfter for 429 (and 503 with a
// Retry-After header), retryable for 408, 5xx and network errors, gone for
// 410, permanent for anything else (and when the template fails). A
// cancelled ctx is returned as is.
func (s *Sender) Handle(ctx context.Context, st *stream.Status) error {
	body, err := s.Body(st)
	if err != nil {
		return handlers.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return handlers.Permanent(s.redactError(fmt.Errorf("webhook: POST %s: %w", s.shown, err)))
	}
	req.Header = s.headers.Clone()
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "streambot-webhook")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		err = s.redactError(err)
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("webhook: POST %s: %w", s.shown, err)
		}
		return handlers.RetryAfter(fmt.Errorf("webhook: POST %s: %w", s.shown, err), 0)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	return s.classify(resp, snippet)
}

// classify turns a non-2xx answer into a classified error.
func (s *Sender) classify(resp *http.Response, snippet []byte) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := &StatusError{Code: code, Status: resp.Status, URL: s.shown, Body: s.redact(cleanLine(string(snippet)))}
	if len(err.Body) > 200 {
		err.Body = truncate(err.Body, 200)
	}
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	switch {
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable && retryAfter > 0:
		return handlers.RetryAfter(err, retryAfter)
	case code == http.StatusRequestTimeout, code >= 500:
		return handlers.RetryAfter(err, 0)
	case code == http.StatusGone:
		return handlers.Gone(err)
	default:
		return handlers.Permanent(err)
	}
}

// StatusError is a webhook answer outside 2xx.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Status is the HTTP status line, e.g. "404 Not Found".
	Status string
	// URL is the webhook URL with its secrets redacted.
	URL string
	// Body is the start of the answer's body, on one line, redacted.
	Body string
}

// Error describes the answer.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("webhook: POST %s: HTTP %s", e.URL, e.Status)
	if e.Code >= 300 && e.Code < 400 {
		msg += " (redirects are not followed: configure the final URL)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redact replaces the secrets in s.
func (s *Sender) redact(text string) string {
	for _, sec := range s.secrets {
		repl := "<redacted>"
		if strings.Contains(sec, "://") {
			repl = s.shown
		}
		text = strings.ReplaceAll(text, sec, repl)
	}
	return text
}

// redactError returns err without secrets in its message: a *url.Error is
// rebuilt with the shown URL (keeping its type and Timeout); anything else
// that still shows a secret becomes an error with the redacted message that
// matches (errors.Is) what err matched.
func (s *Sender) redactError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		err = &url.Error{Op: ue.Op, URL: s.shown, Err: s.redactError(ue.Err)}
	}
	msg := err.Error()
	if r := s.redact(msg); r != msg {
		return &redactedError{msg: r, orig: err}
	}
	return err
}

type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.orig, target) }

// showURL returns u with everything after the host replaced.
func showURL(u *url.URL) string {
	shown := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		shown += "/<redacted>"
	}
	return shown
}

// redactAll removes s's path-like parts from text, for errors before a
// Sender exists.
func redactAll(text, secret string) string {
	if secret == "" {
		return text
	}
	return strings.ReplaceAll(text, secret, "<redacted>")
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// cleanText removes control characters except newlines (CR LF becomes LF,
// tabs spaces) and bidirectional formatting characters.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t', r == '\r':
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r):
			return -1
		}
		return r
	}, s)
}

// cleanLine is cleanText on one line.
func cleanLine(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(cleanText(s), "\n", " "))
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

// truncate shortens s to at most limit UTF-16 code units, ending with "…"
// when it cut, between characters and preferably at a space or newline.
func truncate(s string, limit int) string {
	if utf16Len(s) <= limit {
		return s
	}
	if limit < 1 {
		return ""
	}
	n, end := 0, len(s)
	for i, r := range s {
		l := max(utf16.RuneLen(r), 1)
		if n+l > limit-1 {
			end = i
			break
		}
		n += l
	}
	head := s[:end]
	if j := strings.LastIndexAny(head, " \n"); j > 0 && j >= len(head)-len(head)/10 {
		head = head[:j]
	}
	return strings.TrimRightFunc(head, unicode.IsSpace) + "…"
}
