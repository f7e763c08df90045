package netstream

import (
	"context"
	"errors"
	"io"
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
