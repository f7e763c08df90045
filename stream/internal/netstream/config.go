package netstream

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/streambot/streambot/stream"
)

// ParseURL is url.Parse with an error that does not repeat the URL, which
// may hold a password.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, err
	}
	return u, nil
}

// Logger returns l, or a logger that discards everything when l is nil.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// StreamClient returns the client a Source streams with: a copy of c
// without its Timeout, which would cut streams short (the watchdog and
// contexts bound everything), or, for a nil c, a new HTTPClient, which the
// Source owns (owned: it closes its idle connections when Run returns).
func StreamClient(c *http.Client) (client *http.Client, owned bool) {
	if c == nil {
		return HTTPClient(), true
	}
	cp := *c
	cp.Timeout = 0
	return &cp, false
}

// NoObserver is the stream.ConnectionObserver of a Source nobody observes.
type NoObserver struct{}

// Connected does nothing.
func (NoObserver) Connected() {}

// Disconnected does nothing.
func (NoObserver) Disconnected(string) {}

// Observer returns o, or NoObserver for a nil o: what a Source's Observe
// stores, so it never checks for nil.
func Observer(o stream.ConnectionObserver) stream.ConnectionObserver {
	if o == nil {
		return NoObserver{}
	}
	return o
}
