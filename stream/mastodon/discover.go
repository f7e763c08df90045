package mastodon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/netstream"
	"github.com/streambot/streambot/stream/twitter"
)

// The instance endpoints that name the streaming server.
const (
	InstanceV2Path = "/api/v2/instance" // configuration.urls.streaming, Mastodon 4.0+
	InstanceV1Path = "/api/v1/instance" // urls.streaming_api, older and deprecated
)

const (
	// discoveryTimeout bounds one instance request.
	discoveryTimeout = 30 * time.Second
	// maxInstanceBytes bounds an instance document (a few KiB in practice).
	maxInstanceBytes = 1 << 20
)

// discover finds the streaming server's base URL, retrying with back-off
// while the instance cannot be reached. It returns nil, nil when ctx ended,
// and a *stream.PermanentError when the instance rejects the token.
func (s *Source) discover(ctx context.Context) (*url.URL, error) {
	bo := s.cfg.Backoff
	bo.Reset()
	for {
		if ctx.Err() != nil {
			return nil, nil
		}
		base, out := s.discoverOnce(ctx)
		if base != nil {
			return base, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		if out.final != nil {
			return nil, out.final
		}
		d := max(bo.Next(out.reason), out.retryAfter)
		s.log.Warn("mastodon: cannot ask the instance for its streaming server, retrying",
			"instance", s.instance.String(), "reason", out.reason.String(), "delay", d, "err", s.secrets.Redact(errString(out.err)))
		if err := s.cfg.Sleep(ctx, d); err != nil || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, fmt.Errorf("mastodon: waiting to retry the instance: %w", err)
		}
	}
}

// discoverOnce asks the instance for its streaming server: v2, then v1,
// then the instance itself. A nil URL comes with the outcome to retry or
// the permanent failure.
func (s *Source) discoverOnce(ctx context.Context) (*url.URL, outcome) {
	var v2 struct {
		Configuration struct {
			URLs struct {
				Streaming string `json:"streaming"`
			} `json:"urls"`
		} `json:"configuration"`
	}
	found, out := s.getInstance(ctx, InstanceV2Path, &v2)
	if out.err != nil || out.final != nil {
		return nil, out
	}
	if found {
		if u := s.streamingBase(v2.Configuration.URLs.Streaming, InstanceV2Path); u != nil {
			return u, outcome{}
		}
	}
	var v1 struct {
		URLs struct {
			StreamingAPI string `json:"streaming_api"`
		} `json:"urls"`
	}
	found, out = s.getInstance(ctx, InstanceV1Path, &v1)
	if out.err != nil || out.final != nil {
		return nil, out
	}
	if found {
		if u := s.streamingBase(v1.URLs.StreamingAPI, InstanceV1Path); u != nil {
			return u, outcome{}
		}
	}
	s.log.Info("mastodon: the instance names no streaming server; streaming from the instance itself", "instance", s.instance.String())
	return s.instance, outcome{}
}

// getInstance GETs an instance document into v. found reports a 200 with
// a JSON object; a 200 that is not JSON and answers such as 404 (an older
// or a non-Mastodon server) are not found. The outcome is set for what is
// worth retrying (network errors, 429, 5xx) and for 401 (final).
func (s *Source) getInstance(ctx context.Context, path string, v any) (found bool, out outcome) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	u := *s.instance
	u.Path += path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, outcome{final: &stream.PermanentError{Err: fmt.Errorf("mastodon: building the request: %w", err)}}
	}
	s.authorize(req)
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return false, outcome{reason: twitter.ReasonNetwork, err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInstanceBytes))
	if err != nil {
		return false, outcome{reason: twitter.ReasonNetwork, err: fmt.Errorf("reading %s: %w", path, err)}
	}
	status := fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	server := s.secrets.Redact(serverMessage(body))
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		if err := json.Unmarshal(body, v); err != nil {
			s.log.Warn("mastodon: the instance document is not Mastodon's JSON", "path", path, "err", s.secrets.Redact(err.Error()))
			return false, outcome{}
		}
		return true, outcome{}
	case code == http.StatusUnauthorized:
		msg := fmt.Sprintf("mastodon: the instance rejected the token (%s on %s): check %s; the server said %q", status, path, EnvToken, server)
		return false, outcome{final: &stream.PermanentError{Err: &StatusError{StatusCode: code, ServerMessage: server, msg: msg}}}
	case code == http.StatusTooManyRequests:
		return false, outcome{reason: twitter.ReasonRateLimited, status: code, retryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
			err: &StatusError{StatusCode: code, ServerMessage: server, msg: "mastodon: " + path + ": " + status}}
	case code >= 500:
		return false, outcome{reason: twitter.ReasonHTTP, status: code, retryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
			err: &StatusError{StatusCode: code, ServerMessage: server, msg: "mastodon: " + path + ": " + status}}
	}
	s.log.Debug("mastodon: no instance document", "path", path, "status", resp.StatusCode)
	return false, outcome{}
}

// streamingBase turns the streaming URL an instance announced (wss://host)
// into the base URL of its server-sent events (https://host). It returns
// nil, after logging why, for an empty or unusable value, and refuses a
// downgrade from https to plain http, which would expose the token.
func (s *Source) streamingBase(announced, from string) *url.URL {
	announced = strings.TrimSpace(announced)
	if announced == "" {
		return nil
	}
	u, err := url.Parse(announced)
	if err != nil || u.Host == "" || u.User != nil {
		s.log.Warn("mastodon: ignoring an unusable streaming URL", "from", from, "url", netstream.Truncate([]byte(announced), 100))
		return nil
	}
	switch strings.ToLower(u.Scheme) {
	case "wss", "https":
		u.Scheme = "https"
	case "ws", "http":
		u.Scheme = "http"
	default:
		s.log.Warn("mastodon: ignoring a streaming URL with an unknown scheme", "from", from, "url", u.Redacted())
		return nil
	}
	if u.Scheme == "http" && s.instance.Scheme == "https" {
		s.log.Warn("mastodon: the instance announces an unencrypted streaming server; streaming from the instance instead, to keep the token safe",
			"from", from, "url", u.String())
		return nil
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment, u.ForceQuery = "", "", "", false
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "mastodon: streaming server found", slog.String("from", from), slog.String("url", u.String()))
	return u
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
