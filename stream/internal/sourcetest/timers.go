package sourcetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/stream/internal/netstream"
)

// FireTimeout is how long Fire, FireAfter and WaitArms wait for the source
// before giving up: a safety net, never reached by a passing test.
const FireTimeout = 10 * time.Second

// Timers replaces time.AfterFunc for the stall watchdogs
// (netstream.Watchdog.AfterFunc): nothing fires by itself, the test sees
// when and for how long timers are armed and fires an armed one itself, so
// stall tests need no real waiting. Create it with NewTimers.
type Timers struct {
	mu      sync.Mutex
	delays  []time.Duration // of every arm, in order
	timers  []*timer
	arms    int           // numbers the arms, for the newest armed timer
	changed chan struct{} // closed and replaced at every arm
}

// timer is one netstream.Timer made by Timers.AfterFunc.
type timer struct {
	c     *Timers
	f     func()
	armed int // the number of its latest arm while armed; 0 when not
}

// NewTimers returns Timers with no timer.
func NewTimers() *Timers { return &Timers{changed: make(chan struct{})} }

// AfterFunc is a netstream.AfterFunc: it returns an armed timer that calls
// f when the test fires it.
func (c *Timers) AfterFunc(d time.Duration, f func()) netstream.Timer {
	t := &timer{c: c, f: f}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

// Reset arms t again for d.
func (t *timer) Reset(d time.Duration) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	was := t.armed != 0
	c.arms++
	t.armed = c.arms
	c.delays = append(c.delays, d)
	close(c.changed)
	c.changed = make(chan struct{})
	return was
}

// Stop disarms t.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed != 0
	t.armed = 0
	return was
}

// newestArmedLocked returns the armed timer armed last, or nil.
func (c *Timers) newestArmedLocked() *timer {
	var newest *timer
	for _, t := range c.timers {
		if t.armed != 0 && (newest == nil || t.armed > newest.armed) {
			newest = t
		}
	}
	return newest
}

// Armed reports whether a timer is armed.
func (c *Timers) Armed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newestArmedLocked() != nil
}

// Arms returns how many times timers were armed in all.
func (c *Timers) Arms() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.delays)
}

// Delays returns the duration of every arm so far, in order.
func (c *Timers) Delays() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.delays)
}

// FireAfter waits until timers were armed n times in all and one is armed,
// then disarms the one armed last and calls its function, as if its time
// had passed. It returns false if that does not happen within FireTimeout.
func (c *Timers) FireAfter(n int) bool {
	deadline := time.After(FireTimeout)
	for {
		c.mu.Lock()
		var armed *timer
		if len(c.delays) >= n {
			armed = c.newestArmedLocked()
		}
		if armed != nil {
			armed.armed = 0
		}
		changed := c.changed
		c.mu.Unlock()
		if armed != nil {
			armed.f()
			return true
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		}
	}
}

// Fire waits until a timer is armed and fires it (FireAfter(0)); the test
// fails if none is armed within FireTimeout.
func (c *Timers) Fire(t testing.TB) {
	t.Helper()
	if !c.FireAfter(0) {
		t.Fatal("the watchdog was never armed")
	}
}

// WaitArms waits until timers were armed n times in all; false if that
// does not happen within FireTimeout.
func (c *Timers) WaitArms(n int) bool {
	deadline := time.After(FireTimeout)
	for {
		c.mu.Lock()
		done, changed := len(c.delays) >= n, c.changed
		c.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		}
	}
}
