package bluesky

import (
	"strings"
	"testing"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/sourcetest"
)

type harness struct {
	src    *Source
	sleeps *sourcetest.Sleeps
	logs   *sourcetest.Logs
	obs    *sourcetest.Observer
}

func newHarness(t *testing.T, url string, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{sleeps: &sourcetest.Sleeps{}, logs: &sourcetest.Logs{}, obs: &sourcetest.Observer{}}
	cfg := Config{
		URL:    url,
		Logger: h.logs.Logger(),
		Sleep:  h.sleeps.Sleep,
	}
	for _, o := range opts {
		o(&cfg)
	}
	src, err := NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src.Observe(h.obs)
	h.src = src
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", h.logs)
		}
	})
	return h
}

// run runs the Source until stop says so (see sourcetest.Run). each, when
// not nil, sees every event first (it may call Committed, as the bot does).
func (h *harness) run(t *testing.T, each func(stream.Event), stop func(events []stream.Event) bool) ([]stream.Event, error) {
	t.Helper()
	return sourcetest.Run(t, h.src, h.sleeps, func(evs []stream.Event) bool {
		if each != nil {
			each(evs[len(evs)-1])
		}
		return stop != nil && stop(evs)
	})
}

// untilID stops at the event for the post with this rkey.
func untilID(rkey string) func([]stream.Event) bool {
	return func(evs []stream.Event) bool {
		ev := evs[len(evs)-1]
		return ev.Kind == stream.KindStatus && strings.HasSuffix(ev.Status.ID, "/"+rkey)
	}
}

// ids lists the IDs of statuses ("s:rkey") and deletes ("d:rkey").
func ids(evs []stream.Event) []string {
	var out []string
	for _, ev := range evs {
		switch ev.Kind {
		case stream.KindStatus:
			out = append(out, "s:"+ev.Status.ID[strings.LastIndexByte(ev.Status.ID, '/')+1:])
		case stream.KindDelete:
			out = append(out, "d:"+ev.Delete.StatusID[strings.LastIndexByte(ev.Delete.StatusID, '/')+1:])
		}
	}
	return out
}
