package sourcetest

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// stacks returns the stacks of all goroutines, one string each.
func stacks() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Split(string(buf), "\n\n")
}

// Goroutines returns the stacks of the running goroutines whose stack text
// contains frame, such as fmt.Sprintf("stream/mastodon.(*Source).loop(%p",
// src): the receiver's address in a frame tells one Source from those of
// parallel tests.
func Goroutines(frame string) []string {
	var out []string
	for _, g := range stacks() {
		if strings.Contains(g, frame) {
			out = append(out, g)
		}
	}
	return out
}

// NoGoroutines fails the test for every running goroutine whose stack text
// contains frame (see Goroutines): a Run must stop each of its goroutines
// before it returns.
func NoGoroutines(t testing.TB, frame string) {
	t.Helper()
	for _, g := range Goroutines(frame) {
		t.Errorf("a Source goroutine outlived Run:\n%s", g)
	}
}

// LeakCheck notes how many goroutines run now and returns a check that
// waits up to FireTimeout for the count to fall back to that, and
// otherwise fails the test with every goroutine's stack. It counts the
// whole process's goroutines, so a test that uses it must not be parallel.
func LeakCheck(t testing.TB) (check func()) {
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(FireTimeout)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond) // polling for goroutines to exit, not synchronizing
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("%d goroutines before, %d after:\n%s", before, n, strings.Join(stacks(), "\n\n"))
		}
	}
}
