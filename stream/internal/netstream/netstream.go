// Package netstream holds what every networked source in stream/... needs
// around a long-lived connection: the stall watchdog, a context-aware
// sleep and an HTTP client with timeouts for every phase but the stream;
// and the small pieces their configurations and logs share: URL parsing
// that keeps passwords out of errors, redaction of secrets, truncation of
// network text for logs, framing helpers and the no-op observer.
package netstream

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Timer is the part of *time.Timer the watchdog uses, so tests can fire a
// stall deterministically.
type Timer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

// AfterFunc starts a Timer that calls f after d, like time.AfterFunc.
type AfterFunc func(d time.Duration, f func()) Timer

// RealAfterFunc is time.AfterFunc.
func RealAfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Watchdog is a stream's reader that arms a stall timer for the duration
// of each Read, so only time spent waiting for the network counts (a slow
// consumer does not), and any byte, keep-alives included, disarms it.
// OnStall is called from the timer's goroutine; it usually cancels the
// request, which ends the pending Read with an error.
type Watchdog struct {
	// R is the connection's body.
	R io.Reader
	// Timeout is how long one Read may wait.
	Timeout time.Duration
	// AfterFunc starts the timer; nil means RealAfterFunc.
	AfterFunc AfterFunc
	// OnStall is called when a Read waited Timeout.
	OnStall func()

	timer Timer
}

// Read reads from R with the stall timer armed.
func (w *Watchdog) Read(p []byte) (int, error) {
	w.Arm()
	n, err := w.R.Read(p)
	w.Disarm()
	return n, err
}

// Arm starts (or restarts) the stall timer, for waits other than Read,
// such as a WebSocket handshake.
func (w *Watchdog) Arm() {
	if w.timer == nil {
		af := w.AfterFunc
		if af == nil {
			af = RealAfterFunc
		}
		w.timer = af(w.Timeout, w.OnStall)
		return
	}
	w.timer.Reset(w.Timeout)
}

// Disarm stops the stall timer.
func (w *Watchdog) Disarm() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// Do sends req, whose context OnStall cancels, with the stall timer armed
// until the response headers arrive, and makes the response's body R.
// stalled reports whether OnStall ended the request; the error then says
// that no response came within Timeout.
func (w *Watchdog) Do(client *http.Client, req *http.Request, stalled func() bool) (*http.Response, error) {
	w.Arm()
	resp, err := client.Do(req)
	w.Disarm()
	if err != nil {
		if stalled() {
			err = fmt.Errorf("no response within %v", w.Timeout)
		}
		return nil, err
	}
	w.R = resp.Body
	return resp, nil
}

// Sleep waits d or until ctx ends, returning ctx's error in that case. A
// d <= 0 returns at once (with ctx's error if it has ended).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// HTTPClient returns a client with dial, TLS-handshake and response-header
// timeouts and no overall timeout, which would cut a stream short.
func HTTPClient() *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	t.ExpectContinueTimeout = time.Second
	t.IdleConnTimeout = 90 * time.Second
	// A stream is one long body: the default 4 KiB buffer costs about one
	// read syscall per status (31% of ingest CPU in streambench's profile).
	t.ReadBufferSize = 64 << 10
	return &http.Client{Transport: t}
}
