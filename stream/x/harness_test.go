package x

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/sourcetest"
)

// testToken is distinctive: no log line or error may ever contain it.
const testToken = "AAAA-test-bearer-7f3a9e%2Fb81c44"

var testRules = []Rule{{Tag: "python", Value: "python"}, {Tag: "golang", Value: "golang OR #go"}}

const (
	msec = time.Millisecond
	sec  = time.Second
)

// postLine is a stream line holding post id, matched by the python rule.
func postLine(id string) string {
	return `{"data":{"id":"` + id + `","text":"python ` + id + `","author_id":"42","lang":"en"},` +
		`"includes":{"users":[{"id":"42","username":"gopher","name":"Gopher"}]},` +
		`"matching_rules":[{"id":"1001","tag":"python"}]}`
}

const disconnectLine = `{"errors":[{"title":"operational-disconnect","disconnect_type":"UpstreamOperationalDisconnect",` +
	`"detail":"This stream has been disconnected upstream for operational reasons.","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}`

type harness struct {
	src    *Source
	sleeps *sourcetest.Sleeps
	logs   *sourcetest.Logs
	obs    *sourcetest.Observer
}

func newHarness(t *testing.T, baseURL string, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{sleeps: &sourcetest.Sleeps{}, logs: &sourcetest.Logs{}, obs: &sourcetest.Observer{}}
	cfg := Config{
		BearerToken: testToken,
		BaseURL:     baseURL,
		Rules:       testRules,
		Logger:      h.logs.Logger(),
		Sleep:       h.sleeps.Sleep,
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
	return h
}

// run runs the Source until stop says so (see sourcetest.Run).
func (h *harness) run(t *testing.T, stop func(events []stream.Event) bool) ([]stream.Event, error) {
	t.Helper()
	return sourcetest.Run(t, h.src, h.sleeps, stop)
}

// A step answers one request.
type step func(w http.ResponseWriter, r *http.Request)

// serve writes a 200 stream of lines, each followed by "\r\n", and ends it.
func serve(lines ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		for _, l := range lines {
			io.WriteString(w, l+"\r\n")
		}
		w.(http.Flusher).Flush()
	}
}

// serveRaw writes body as is.
func serveRaw(body string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
	}
}

func code(status int, body string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hangAfter writes lines, then keeps the connection open and silent until
// the client goes away or the test ends.
func hangAfter(done <-chan struct{}, lines ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		serve(lines...)(w, r)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

// hang never answers.
func hang(done <-chan struct{}) step {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

// listRules answers GET rules with rules.
func listRules(rules ...Rule) step {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, `{"title":"unexpected rules change"}`, http.StatusTeapot)
			return
		}
		type rule struct {
			ID    string `json:"id"`
			Value string `json:"value"`
			Tag   string `json:"tag"`
		}
		var data []rule
		for i, r := range rules {
			data = append(data, rule{fmt.Sprint(1001 + i), r.Value, r.Tag})
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data, "meta": map[string]any{"result_count": len(data)}})
	}
}

// recorded is one request a scriptServer received.
type recorded struct {
	method, path, query, auth, body string
}

// scriptServer answers stream request i with steps[i] and rules request j
// with rulesSteps[j] (the last step of each repeats; rules default to the
// test rules, so the sync changes nothing) and records every request.
type scriptServer struct {
	*httptest.Server
	done       chan struct{}
	received   chan struct{} // one value per request, if anyone listens
	mu         sync.Mutex
	steps      []step
	rulesSteps []step
	reqs       []recorded
	streams    int
	rulesReqs  int
}

func newScriptServer(t *testing.T, steps ...step) *scriptServer {
	t.Helper()
	s := &scriptServer{done: make(chan struct{}), received: make(chan struct{}, 1000), steps: steps,
		rulesSteps: []step{listRules(testRules...)}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), string(body)})
		var st step
		switch r.URL.Path {
		case StreamPath:
			st = s.steps[min(s.streams, len(s.steps)-1)]
			s.streams++
		case RulesPath:
			st = s.rulesSteps[min(s.rulesReqs, len(s.rulesSteps)-1)]
			s.rulesReqs++
		default:
			st = code(http.StatusNotFound, `{"title":"Not Found Error"}`)
		}
		s.mu.Unlock()
		select {
		case s.received <- struct{}{}:
		default:
		}
		st(w, r)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.done) }) // runs first: releases hanging handlers
	return s
}

func (s *scriptServer) counts() (streams, rules int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams, s.rulesReqs
}

func (s *scriptServer) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}
