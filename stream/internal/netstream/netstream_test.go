package netstream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeTimer records arms and stops; the test fires it by hand.
type fakeTimer struct {
	resets, stops int
}

func (f *fakeTimer) Reset(time.Duration) bool { f.resets++; return true }
func (f *fakeTimer) Stop() bool               { f.stops++; return true }

func TestWatchdogArmsOnlyDuringReads(t *testing.T) {
	t.Parallel()
	ft := &fakeTimer{}
	var started int
	var stall func()
	w := &Watchdog{
		R:       strings.NewReader("abc"),
		Timeout: time.Minute,
		AfterFunc: func(d time.Duration, f func()) Timer {
			if d != time.Minute {
				t.Errorf("timer for %v, want the Timeout", d)
			}
			started++
			stall = f
			return ft
		},
		OnStall: func() {},
	}
	buf := make([]byte, 1)
	for range 3 {
		if _, err := w.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Read(buf); !errors.Is(err, io.EOF) {
		t.Fatalf("read past the end: %v", err)
	}
	// One timer, re-armed for every later Read and stopped after each.
	if started != 1 || ft.resets != 3 || ft.stops != 4 || stall == nil {
		t.Errorf("started %d, resets %d, stops %d; want 1, 3, 4", started, ft.resets, ft.stops)
	}
}

func TestSleepEndsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on a cancelled ctx = %v", err)
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
	if err := Sleep(context.Background(), time.Nanosecond); err != nil {
		t.Errorf("Sleep(1ns) = %v", err)
	}
}

func TestHTTPClientHasNoOverallTimeout(t *testing.T) {
	t.Parallel()
	c := HTTPClient()
	if c.Timeout != 0 {
		t.Errorf("Timeout %v would cut streams short", c.Timeout)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"héllo", 2, "h"}, // é is two bytes: do not split it
		{"a\xffb", 10, "a?b"},
	}
	for _, tt := range tests {
		if got := Truncate([]byte(tt.in), tt.n); got != tt.want || len(got) > tt.n {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestSecretsRedact(t *testing.T) {
	t.Parallel()
	s := NewSecrets("key-1234", "", "abc", "tok-5678")
	if len(s) != 2 {
		t.Errorf("NewSecrets kept %q, want only the values of 4 bytes or more", s)
	}
	got := s.Redact("key-1234 abc tok-5678 key-1234")
	if want := "[REDACTED] abc [REDACTED] [REDACTED]"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
	if got := Secrets(nil).Redact("text"); got != "text" {
		t.Errorf("no secrets: %q", got)
	}
}

func TestParseURLHidesThePassword(t *testing.T) {
	t.Parallel()
	if _, err := ParseURL("https://user:hunter2@exa mple.com/\x7f"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("ParseURL error %v: want one without the password", err)
	}
	u, err := ParseURL("https://example.com/path")
	if err != nil || u.Host != "example.com" || u.Path != "/path" {
		t.Errorf("ParseURL = %v, %v", u, err)
	}
}

func TestStreamClient(t *testing.T) {
	t.Parallel()
	c, owned := StreamClient(nil)
	if c == nil || !owned || c.Timeout != 0 {
		t.Errorf("StreamClient(nil) = %+v, %v: want a new owned client", c, owned)
	}
	given := &http.Client{Timeout: time.Second}
	c, owned = StreamClient(given)
	if c == given || owned || c.Timeout != 0 || given.Timeout != time.Second {
		t.Errorf("StreamClient(given) = %+v, %v: want a copy without Timeout, given unchanged", c, owned)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	if Logger(nil) == nil {
		t.Error("Logger(nil) is nil")
	}
	l := slog.Default()
	if Logger(l) != l {
		t.Error("Logger does not keep a given logger")
	}
	o := Observer(nil)
	o.Connected()
	o.Disconnected("dropped")
	if _, ok := o.(NoObserver); !ok {
		t.Errorf("Observer(nil) = %T", o)
	}
	if Observer(o) != o {
		t.Error("Observer does not keep a given observer")
	}
}

func TestFraming(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{"": true, " \t\r\n": true, "\r\n x": false} {
		if got := IsBlank([]byte(in)); got != want {
			t.Errorf("IsBlank(%q) = %v", in, got)
		}
	}
	for in, want := range map[string]string{"a\r": "a", "a": "a", "a\r\r": "a\r", "": ""} {
		if got := string(TrimCR([]byte(in))); got != want {
			t.Errorf("TrimCR(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWatchdogDo(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/silent" {
			<-r.Context().Done() // never answers
			return
		}
		io.WriteString(w, "body")
	}))
	defer srv.Close()
	errStalled := errors.New("stalled")
	do := func(path string) (*Watchdog, *http.Response, error) {
		ctx, cancel := context.WithCancelCause(t.Context())
		t.Cleanup(func() { cancel(nil) })
		w := &Watchdog{Timeout: 20 * time.Millisecond, OnStall: func() { cancel(errStalled) }}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := w.Do(srv.Client(), req, func() bool { return errors.Is(context.Cause(ctx), errStalled) })
		return w, resp, err
	}
	if _, resp, err := do("/silent"); resp != nil || err == nil || err.Error() != "no response within 20ms" {
		t.Errorf("a silent server: %v, %v", resp, err)
	}
	w, resp, err := do("/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(w); err != nil || string(b) != "body" {
		t.Errorf("reading the watchdog: %q, %v", b, err)
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	s := NewSecrets("tok-5678")
	msg := []byte("tok-5678 " + strings.Repeat("x", 2*LogExcerptBytes))
	got := s.Excerpt(msg)
	if !strings.HasPrefix(got, "[REDACTED] x") || strings.Contains(got, "tok-5678") || len(got) != LogExcerptBytes-len("tok-5678")+len("[REDACTED]") {
		t.Errorf("Excerpt = %q (%d bytes)", got, len(got))
	}
}
