package x

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/streambot/streambot/stream/internal/netstream"
	"github.com/streambot/streambot/stream/twitter"
)

// StatusError is a non-2xx answer of the stream or the rules endpoint.
// Permanent ones (400, 401, 403, 404) reach Run's caller inside a
// *stream.PermanentError; retryable ones are logged and retried.
type StatusError struct {
	// Endpoint is "stream" or "rules".
	Endpoint string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Title is the problem's title ("Unauthorized", "ConnectionException",
	// "Client Forbidden", ...), when the body was a problem object.
	Title string
	// ConnectionIssue is X's connection_issue ("TooManyConnections").
	ConnectionIssue string
	// ServerMessage is the error text of the response body, truncated and
	// with the token removed.
	ServerMessage string
	msg           string
}

// Error says what the endpoint answered and, for answers that need a
// person, what to check.
func (e *StatusError) Error() string { return e.msg }

// Permanent reports whether retrying cannot help: 400, 401, 403 and 404.
func (e *StatusError) Permanent() bool {
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}

// TooManyConnections reports X's answer to a second connection to a stream
// that allows one: another client (or a previous run that has not been
// closed yet) holds it.
func (e *StatusError) TooManyConnections() bool {
	return e.StatusCode == http.StatusTooManyRequests && e.ConnectionIssue == "TooManyConnections"
}

// reason is the reconnect rule for a retryable answer.
func (e *StatusError) reason() twitter.Reason {
	if e.StatusCode == http.StatusTooManyRequests {
		return twitter.ReasonRateLimited
	}
	return twitter.ReasonHTTP
}

// serverMessageBytes bounds the server's error text kept in errors and logs.
const serverMessageBytes = 300

// newStatusError classifies a non-2xx answer. body is at most a few KiB of
// the response; shown is the base URL for a 404; redact removes the token
// from text that came from the network.
func newStatusError(endpoint string, code int, body []byte, shown string, redact func(string) string) *StatusError {
	e := &StatusError{Endpoint: endpoint, StatusCode: code}
	var p struct {
		Problem
		Reason string    `json:"reason"`
		Errors []Problem `json:"errors"`
	}
	text := string(body)
	if json.Unmarshal(body, &p) == nil {
		e.Title = redact(p.Title)
		e.ConnectionIssue = redact(p.ConnectionIssue)
		var parts []string
		add := func(s string) {
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(parts, s) {
				parts = append(parts, s)
			}
		}
		add(p.Problem.text())
		for i := range p.Errors {
			add(p.Errors[i].text())
		}
		if p.Reason != "" {
			add("reason " + p.Reason)
		}
		if len(parts) > 0 {
			text = strings.Join(parts, "; ")
		}
	}
	text = strings.Join(strings.Fields(text), " ")
	e.ServerMessage = netstream.Truncate([]byte(redact(text)), serverMessageBytes)

	status := fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
	said := ""
	if e.ServerMessage != "" {
		said = fmt.Sprintf("; the server said %q", e.ServerMessage)
	}
	switch {
	case code == http.StatusUnauthorized:
		e.msg = fmt.Sprintf("x: the %s endpoint rejected the bearer token (%s): check %s (the app's bearer token, "+
			"without \"Bearer \")%s", endpoint, status, EnvBearerToken, said)
	case code == http.StatusForbidden:
		e.msg = fmt.Sprintf("x: the %s endpoint refused access (%s): the app must belong to a Project whose plan "+
			"includes the filtered stream; check the developer portal%s", endpoint, status, said)
	case code == http.StatusNotFound:
		e.msg = fmt.Sprintf("x: no %s endpoint under %s (%s): check %s%s", endpoint, shown, status, EnvAPIURL, said)
	case code == http.StatusBadRequest:
		e.msg = fmt.Sprintf("x: the %s endpoint rejected the request (%s)%s", endpoint, status, said)
	case e.TooManyConnections():
		e.msg = fmt.Sprintf("x: another client holds this app's filtered stream connection (%s TooManyConnections): "+
			"X allows one connection per app on most plans; stop the other client or wait%s", status, said)
	default:
		e.msg = fmt.Sprintf("x: the %s endpoint answered %s%s", endpoint, status, said)
	}
	return e
}

// retryable is a failure that is worth retrying after the back-off of its
// reason.
type retryable struct {
	reason twitter.Reason
	err    error
}

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// reasonOf returns the reconnect rule for a retryable error; errors of
// unknown origin are network errors.
func reasonOf(err error) twitter.Reason {
	if r, ok := errors.AsType[*retryable](err); ok {
		return r.reason
	}
	if se, ok := errors.AsType[*StatusError](err); ok {
		return se.reason()
	}
	return twitter.ReasonNetwork
}
