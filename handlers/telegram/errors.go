package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/streambot/streambot/handlers"
)

// APIError is a failure the Bot API reported: {"ok":false,...}.
type APIError struct {
	// Method is the Bot API method that failed, e.g. "sendMessage".
	Method string
	// Code is the error_code (the HTTP status). It may be 0 for uploads.
	Code int
	// Description is Telegram's description, e.g. "Forbidden: bot was
	// blocked by the user".
	Description string
	// RetryAfter is parameters.retry_after in seconds (flood control).
	RetryAfter int
	// MigrateToChatID is parameters.migrate_to_chat_id: the group became
	// this supergroup.
	MigrateToChatID int64
}

// Error describes the failure; for 401 and 404 it says what to check.
func (e *APIError) Error() string {
	switch e.Code {
	case 401:
		return fmt.Sprintf("telegram: the Bot API rejected the token (HTTP 401 %s): check TELEGRAM_BOT_TOKEN", e.Description)
	case 404:
		return fmt.Sprintf("telegram: %s: the Bot API answered HTTP 404 %s: check TELEGRAM_BOT_TOKEN and TELEGRAM_API_URL", e.Method, e.Description)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "telegram: %s: %s (HTTP %d", e.Method, e.Description, e.Code)
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %ds", e.RetryAfter)
	}
	if e.MigrateToChatID != 0 {
		fmt.Fprintf(&b, ", migrated to chat %d", e.MigrateToChatID)
	}
	b.WriteString(")")
	return b.String()
}

// HTTPError is an answer that was not the Bot API's JSON, typically a
// proxy's HTML error page.
type HTTPError struct {
	// Method is the Bot API method that was called.
	Method string
	// StatusCode is the HTTP status.
	StatusCode int
	// ContentType is the answer's Content-Type.
	ContentType string
	// RetryAfter is the Retry-After header, when it held a number of
	// seconds.
	RetryAfter time.Duration
}

// Error describes the failure.
func (e *HTTPError) Error() string {
	ct := e.ContentType
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("telegram: %s: HTTP %d with a body that is not the Bot API's JSON (%s): is TELEGRAM_API_URL a Bot API server?",
		e.Method, e.StatusCode, ct)
}

// Classify classifies a failure of a Bot API call into a
// handlers.DeliveryError (see package handlers), once:
//
//   - 401 Unauthorized and 404 Not Found (a bad token or endpoint): gone —
//     nothing will work until a person fixes the configuration;
//   - 403 Forbidden (bot blocked, kicked, not a member) and 400 "chat not
//     found" or missing rights: gone for that chat;
//   - 400 with migrate_to_chat_id: permanent for this chat id (the sender
//     follows the migration);
//   - any other 400, 409, 413 and other 4xx: permanent for this message;
//   - 429 and 420 (flood control): retryable after exactly retry_after
//     seconds when Telegram gave it, else after the backoff;
//   - 5xx, answers that are not the Bot API's JSON (except 4xx ones), decode
//     errors, timeouts and network errors: retryable;
//   - context cancellation: returned as is (not retryable).
//
// An error that is already classified is returned unchanged; nil stays nil.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var de *handlers.DeliveryError
	if errors.As(err, &de) || errors.Is(err, context.Canceled) {
		return err
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return classifyAPI(err, ae.Code, ae.Description, ae.RetryAfter, ae.MigrateToChatID)
	}
	if te := asLibraryError(err); te != nil {
		return classifyAPI(err, te.Code, te.Message, te.RetryAfter, te.MigrateToChatID)
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch c := he.StatusCode; {
		case c == 408 || c == 429 || c >= 500 || c < 400:
			return handlers.RetryAfter(err, he.RetryAfter)
		default:
			return handlers.Permanent(err)
		}
	}
	// Decode errors, timeouts (context.DeadlineExceeded, net.Error),
	// *url.Error network failures and anything unknown: try again.
	return handlers.RetryAfter(err, 0)
}

func classifyAPI(err error, code int, desc string, retryAfter int, migrateTo int64) error {
	switch {
	case code == 429 || code == 420 || (code == 0 && retryAfter > 0):
		return handlers.RetryAfter(err, time.Duration(retryAfter)*time.Second)
	case migrateTo != 0:
		return handlers.Permanent(err)
	case code == 401 || code == 404 || code == 403:
		return handlers.Gone(err)
	case code == 400 && chatUnusable(desc):
		return handlers.Gone(err)
	case code >= 500:
		return handlers.RetryAfter(err, time.Duration(retryAfter)*time.Second)
	default: // 400, 409, 413, other 4xx, and an upload's code 0
		return handlers.Permanent(err)
	}
}

// chatUnusable reports 400 descriptions that mean the chat cannot be used
// until someone changes the configuration or the chat's settings.
func chatUnusable(desc string) bool {
	d := strings.ToLower(desc)
	for _, s := range []string{"chat not found", "not enough rights", "need administrator rights", "have no rights to send",
		"chat_write_forbidden", "peer_id_invalid", "user is deactivated"} {
		if strings.Contains(d, s) {
			return true
		}
	}
	return false
}

// botLevel reports failures that concern the bot, not a chat (401, 404):
// every chat would fail the same way.
func botLevel(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == 401 || ae.Code == 404)
}

func asLibraryError(err error) *tgbotapi.Error {
	var pe *tgbotapi.Error
	if errors.As(err, &pe) {
		return pe
	}
	var ve tgbotapi.Error
	if errors.As(err, &ve) {
		return &ve
	}
	return nil
}

// callError turns what tgbotapi returned for method into our error types,
// with the secret redacted everywhere.
func callError(method, secret string, err error) error {
	if te := asLibraryError(err); te != nil {
		return &APIError{Method: method, Code: te.Code, Description: redact(te.Message, secret),
			RetryAfter: te.RetryAfter, MigrateToChatID: te.MigrateToChatID}
	}
	var he *HTTPError
	if errors.As(err, &he) {
		he.Method = method
		return redactError(err, secret)
	}
	var se *json.SyntaxError
	var ue *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) {
		return redactError(fmt.Errorf("telegram: %s: decoding the answer: %w", method, err), secret)
	}
	return redactError(fmt.Errorf("telegram: %s: %w", method, err), secret)
}

// redact replaces every form of secret in s.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	for _, form := range []string{secret, url.PathEscape(secret), url.QueryEscape(secret)} {
		s = strings.ReplaceAll(s, form, "<redacted>")
	}
	return s
}

// redactError returns err with the secret removed from its message. A
// *url.Error (whose URL holds the bot token) is rebuilt with a redacted URL,
// keeping its type, Timeout and Temporary; anything else whose message
// still holds the secret is replaced by an error with the redacted message
// that matches (errors.Is) what err matched but cannot be unwrapped to the
// original.
func redactError(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	if ue, ok := err.(*url.Error); ok {
		err = &url.Error{Op: ue.Op, URL: redact(ue.URL, secret), Err: redactError(ue.Err, secret)}
	}
	msg := err.Error()
	if r := redact(msg, secret); r != msg {
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
func (e *redactedError) GoString() string     { return strconv.Quote(e.msg) }

// Timeout reports whether the original error was a timeout.
func (e *redactedError) Timeout() bool {
	var ne net.Error
	return errors.As(e.orig, &ne) && ne.Timeout()
}
