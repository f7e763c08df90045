package streamtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// DisconnectCode is the code of the disconnect message the server sends
// before closing a stream when Config.DisconnectMessage is set. Twitter
// documents 7 as "admin logout"; any code tells a client that the server,
// not the network, ended the stream.
const DisconnectCode = 7

// DisconnectStreamName is the stream_name of that disconnect message.
const DisconnectStreamName = "streamtest-statuses"

// DefaultGiantBytes is the size of an injected giant line when
// Config.GiantBytes is 0: 2 MiB, twice the line limit of typical clients.
const DefaultGiantBytes = 2 << 20

// MalformedLine is the line injected by Config.MalformedEvery: the start of
// a status cut short, so it is not valid JSON.
const MalformedLine = `{"created_at":"Tue Mar 15 14:00:03 +0000 2022","id":1,"id_str":"1","text":"streamtest: this message is cut short`

// giantPrefix and giantSuffix wrap the padding of a giant line, a JSON
// object of a kind no client knows: {"streamtest_giant":{"padding":"xxx…"}}.
const (
	giantPrefix = `{"streamtest_giant":{"padding":"`
	giantSuffix = `"}}`
)

// minGiantBytes is the smallest giant line: the wrapper and one byte.
const minGiantBytes = len(giantPrefix) + len(giantSuffix) + 1

// giantLine returns a well-formed JSON message of exactly n bytes.
func giantLine(n int) []byte {
	b := make([]byte, 0, n)
	b = append(b, giantPrefix...)
	for len(b) < n-len(giantSuffix) {
		b = append(b, 'x')
	}
	return append(b, giantSuffix...)
}

// limitLine returns a limit notice as Twitter sends it; track is the
// cumulative count of withheld statuses.
func limitLine(track int, now time.Time) []byte {
	return []byte(`{"limit":{"track":` + strconv.Itoa(track) +
		`,"timestamp_ms":"` + strconv.FormatInt(now.UnixMilli(), 10) + `"}}`)
}

// disconnectLine returns the disconnect message sent before closing a stream
// after n messages.
func disconnectLine(n int) []byte {
	type disconnect struct {
		Code       int    `json:"code"`
		StreamName string `json:"stream_name"`
		Reason     string `json:"reason"`
	}
	b, _ := json.Marshal(map[string]disconnect{"disconnect": {
		Code:       DisconnectCode,
		StreamName: DisconnectStreamName,
		Reason:     "streamtest: disconnecting after " + strconv.Itoa(n) + " messages (DisconnectEvery)",
	}})
	return b
}

// apiError is an error answer: the HTTP status and a Twitter-style body
// {"errors":[{"code":C,"message":M}]}. Code 0 is left out of the body.
type apiError struct {
	status  int
	code    int
	message string
}

// Twitter's error codes for the answers the server gives.
const (
	codeAuth         = 32  // "Could not authenticate you."
	codeNotFound     = 34  // "Sorry, that page does not exist."
	codeMissingParam = 38  // a required parameter is missing
	codeInvalidParam = 44  // a parameter is invalid
	codeRateLimit    = 88  // rate limit exceeded
	codeOverCapacity = 130 // "Over capacity"
	codeInternal     = 131 // "Internal error"
)

var (
	errUnauthorized = &apiError{http.StatusUnauthorized, codeAuth, "Could not authenticate you."}
	errNoFilter     = &apiError{http.StatusNotAcceptable, codeMissingParam,
		"No filter parameters found. Expect at least one parameter: follow track locations"}
	errNotFound = &apiError{http.StatusNotFound, codeNotFound, "Sorry, that page does not exist."}
	errMethod   = &apiError{http.StatusMethodNotAllowed, 0, "statuses/filter accepts GET and POST only."}
	errClosed   = &apiError{http.StatusServiceUnavailable, codeOverCapacity, "Over capacity: the mock server is shutting down."}
	errBadQuery = &apiError{http.StatusBadRequest, 0, "Malformed query or form body."}
	errTooLarge = &apiError{http.StatusRequestEntityTooLarge, 0, "Request body too large."}
)

// scriptedError returns the answer for a status scripted by
// Config.StatusCodes, with the body Twitter gave for it.
func scriptedError(status int) *apiError {
	switch status {
	case 420, http.StatusTooManyRequests:
		return &apiError{status, codeRateLimit, "Exceeded connection limit for user"}
	case http.StatusUnauthorized:
		return errUnauthorized
	case http.StatusForbidden:
		return &apiError{status, 0, "Forbidden"}
	case http.StatusNotFound:
		return errNotFound
	case http.StatusNotAcceptable:
		return errNoFilter
	case http.StatusInternalServerError:
		return &apiError{status, codeInternal, "Internal error"}
	case http.StatusServiceUnavailable:
		return &apiError{status, codeOverCapacity, "Over capacity"}
	}
	text := http.StatusText(status)
	if text == "" {
		text = "Error " + strconv.Itoa(status)
	}
	return &apiError{status, 0, text}
}

// write sends the error answer.
func (e *apiError) write(w http.ResponseWriter) {
	type item struct {
		Code    int    `json:"code,omitempty"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(struct {
		Errors []item `json:"errors"`
	}{[]item{{e.code, e.message}}})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)+2))
	if e.status == http.StatusMethodNotAllowed {
		h.Set("Allow", "GET, POST")
	}
	w.WriteHeader(e.status)
	w.Write(append(body, '\r', '\n'))
}

// paramErrorf is a 406 for an invalid filter parameter.
func paramErrorf(format string, args ...any) *apiError {
	return &apiError{http.StatusNotAcceptable, codeInvalidParam, fmt.Sprintf(format, args...)}
}
