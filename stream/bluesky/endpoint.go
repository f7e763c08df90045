package bluesky

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/streambot/streambot/stream/internal/netstream"
)

// endpoint is the parsed subscribe URL of a Jetstream server.
type endpoint struct {
	u     url.URL // ws or wss, path ending in SubscribePath, no query
	shown string  // u without a password, for logs and errors
}

// parseEndpoint accepts a base URL with a ws, wss, http or https scheme,
// with or without the SubscribePath, and returns the subscribe endpoint.
func parseEndpoint(base string) (endpoint, error) {
	base = strings.TrimSpace(base)
	if base == "" {
		base = DefaultURL
	}
	u, err := netstream.ParseURL(base)
	if err != nil {
		return endpoint{}, fmt.Errorf("%w: %s (URL) is not a URL: %w", ErrInvalidConfig, EnvURL, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return endpoint{}, fmt.Errorf("%w: %s (URL) %q must be a ws, wss, http or https URL, like %s",
			ErrInvalidConfig, EnvURL, u.Redacted(), DefaultURL)
	}
	if u.Host == "" {
		return endpoint{}, fmt.Errorf("%w: %s (URL) %q has no host", ErrInvalidConfig, EnvURL, u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return endpoint{}, fmt.Errorf("%w: %s (URL) %q must not have a query or fragment: the source sets the parameters",
			ErrInvalidConfig, EnvURL, u.Redacted())
	}
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, SubscribePath) {
		p += SubscribePath
	}
	u.Path, u.RawPath = p, ""
	return endpoint{u: *u, shown: u.Redacted()}, nil
}

// url returns the subscribe URL for the post collection, from cursor
// (unix microseconds) when cursor > 0, live otherwise.
func (e endpoint) url(cursor int64) string {
	q := url.Values{"wantedCollections": {PostCollection}}
	if cursor > 0 {
		q.Set("cursor", strconv.FormatInt(cursor, 10))
	}
	u := e.u
	u.RawQuery = q.Encode()
	return u.String()
}
