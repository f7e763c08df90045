package sourcetest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/streambot/streambot/stream/internal/sourcetest"
)

// A Sleeps and an Observer record what a Source asked for and reported;
// here they are called by hand, as a Source would.
func Example() {
	sleeps := &sourcetest.Sleeps{}
	obs := &sourcetest.Observer{}
	obs.Connected()
	obs.Disconnected("dropped")
	_ = sleeps.Sleep(context.Background(), 250*time.Millisecond)
	fmt.Println(obs.Events(), sleeps.Delays())
	// Output: [connected disconnected:dropped] [250ms]
}
