package x_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/internal/sourcetest"
	"github.com/streambot/streambot/stream/x"
	"github.com/streambot/streambot/stream/x/xtest"
)

// These tests drive the real client (rule sync, HTTP, framing, decoding,
// reconnects) against the fake X API of package xtest.

const fakeToken = "it-bearer-token-4c1d93be"

var routes = []x.Rule{{Tag: "python", Value: "python"}, {Tag: "golang", Value: "golang OR #go"}}

func newSource(t *testing.T, url string, rules []x.Rule, logs *sourcetest.Logs, sleep *sourcetest.Sleeps) *x.Source {
	t.Helper()
	src, err := x.NewSource(x.Config{
		BearerToken: fakeToken,
		BaseURL:     url,
		Rules:       rules,
		Logger:      logs.Logger(),
		Sleep:       sleep.Sleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// call is a request as recorded by the fake, reduced to what a sync sends.
type call struct {
	method, query, body string
}

func calls(reqs []xtest.Request) []call {
	var out []call
	for _, r := range reqs {
		if r.Path == x.RulesPath {
			out = append(out, call{r.Method, r.Query.Encode(), r.Body})
		}
	}
	return out
}

func values(rules []x.Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Tag+"="+r.Value)
	}
	return out
}

// The sync keeps what is right, validates the additions with dry_run
// before adding them, and deletes what is stale only after the add (a
// value kept under a new tag is deleted just before).
func TestSyncRules(t *testing.T) {
	t.Parallel()
	type existing struct{ value, tag string }
	tests := []struct {
		name     string
		existing []existing
		calls    []call // "$id:<value>" in a body stands for that rule's ID
		kept     []string
		added    []string
		deleted  []string
	}{
		{"empty server", nil, []call{
			{"GET", "", ""},
			{"POST", "dry_run=true", `{"add":[{"value":"python","tag":"python"},{"value":"golang OR #go","tag":"golang"}]}`},
			{"POST", "", `{"add":[{"value":"python","tag":"python"},{"value":"golang OR #go","tag":"golang"}]}`},
		}, nil, []string{"python=python", "golang=golang OR #go"}, nil},
		{"all kept", []existing{{"golang OR #go", "golang"}, {"python", "python"}}, []call{{"GET", "", ""}},
			[]string{"golang=golang OR #go", "python=python"}, nil, nil},
		{"some kept, some stale, one retagged", []existing{
			{"rust", "rust"}, {"python", "python"}, {"golang OR #go", "go-old"}, {"java", "golang"},
		}, []call{
			{"GET", "", ""},
			{"POST", "dry_run=true", `{"add":[{"value":"golang OR #go","tag":"golang"}]}`},
			{"POST", "", `{"delete":{"ids":["$id:golang OR #go"]}}`},
			{"POST", "", `{"add":[{"value":"golang OR #go","tag":"golang"}]}`},
			{"POST", "", `{"delete":{"ids":["$id:rust","$id:java"]}}`},
		}, []string{"python=python"}, []string{"golang=golang OR #go"}, []string{"go-old=golang OR #go", "rust=rust", "golang=java"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, ts := xtest.NewTestServer(t, xtest.Config{Token: fakeToken})
			ids := map[string]string{}
			for _, e := range tt.existing {
				r, err := srv.AddRule(e.value, e.tag)
				if err != nil {
					t.Fatal(err)
				}
				ids[e.value] = r.ID
			}
			logs := &sourcetest.Logs{}
			src := newSource(t, ts.URL, routes, logs, &sourcetest.Sleeps{})
			res, err := src.SyncRules(t.Context())
			if err != nil {
				t.Fatalf("SyncRules: %v", err)
			}
			want := slices.Clone(tt.calls)
			for i := range want {
				for v, id := range ids {
					want[i].body = strings.ReplaceAll(want[i].body, `"$id:`+v+`"`, `"`+id+`"`)
				}
			}
			if got := calls(srv.Requests()); !slices.Equal(got, want) {
				t.Errorf("requests\n got %q\nwant %q", got, want)
			}
			if !slices.Equal(values(res.Kept), tt.kept) || !slices.Equal(values(res.Added), tt.added) || !slices.Equal(values(res.Deleted), tt.deleted) {
				t.Errorf("result kept %q added %q deleted %q", values(res.Kept), values(res.Added), values(res.Deleted))
			}
			for _, r := range slices.Concat(res.Kept, res.Added, res.Deleted) {
				if r.ID == "" {
					t.Errorf("rule %v has no ID", r)
				}
			}
			final := values(srv.Rules())
			slices.Sort(final)
			if want := []string{"golang=golang OR #go", "python=python"}; !slices.Equal(final, want) {
				t.Errorf("rules on the server %q, want %q", final, want)
			}
			recs := logs.Records(t, "rules synced")
			if len(recs) != 1 || recs[0]["kept"] != float64(len(tt.kept)) || recs[0]["added"] != float64(len(tt.added)) ||
				recs[0]["deleted"] != float64(len(tt.deleted)) {
				t.Errorf("summary log %v", recs)
			}
			// Syncing again changes nothing.
			again, err := src.SyncRules(t.Context())
			if err != nil || len(again.Kept) != 2 || len(again.Added)+len(again.Deleted) != 0 {
				t.Errorf("second sync: %+v, %v", again, err)
			}
		})
	}
}

// A rule X rejects in the dry run is a permanent error that names the
// route, the rule and X's details; nothing is added or deleted, and Run
// returns that error without opening the stream.
func TestSyncInvalidRule(t *testing.T) {
	t.Parallel()
	srv, ts := xtest.NewTestServer(t, xtest.Config{Token: fakeToken, RejectRules: func(v string) []string {
		if strings.Contains(v, "#go") {
			return []string{"Reference to invalid operator '#go'. Operator is not available in current product or product packaging."}
		}
		return nil
	}})
	if _, err := srv.AddRule("rust", "rust"); err != nil {
		t.Fatal(err)
	}
	logs := &sourcetest.Logs{}
	rules := append(slices.Clone(routes), x.Rule{Tag: "web", Value: "(react OR vue) -is:retweet"})
	src := newSource(t, ts.URL, rules, logs, &sourcetest.Sleeps{})
	_, err := src.SyncRules(t.Context())
	if !errors.Is(err, stream.ErrPermanent) {
		t.Fatalf("SyncRules = %v, want a permanent error", err)
	}
	for _, w := range []string{`route "golang"`, `"golang OR #go"`, "Reference to invalid operator '#go'",
		`route "web"`, `"(react OR vue) -is:retweet"`, "parentheses", "Invalid Rule"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), `route "python"`) {
		t.Errorf("the valid rule is blamed: %v", err)
	}
	got := calls(srv.Requests())
	if len(got) != 2 || got[1].method != "POST" || got[1].query != "dry_run=true" {
		t.Errorf("requests %q: want the list and the dry run only", got)
	}
	if final := values(srv.Rules()); !slices.Equal(final, []string{"rust=rust"}) {
		t.Errorf("rules changed: %q", final)
	}
	err2 := src.Run(t.Context(), func(stream.Event) error { return nil })
	if !errors.Is(err2, stream.ErrPermanent) || err2.Error() != err.Error() || srv.Connections() != 0 {
		t.Errorf("Run = %v after %d stream connections", err2, srv.Connections())
	}
}

// ListRules follows next_token across pages.
func TestListRulesPagination(t *testing.T) {
	t.Parallel()
	srv, ts := xtest.NewTestServer(t, xtest.Config{Token: fakeToken, RulesPageSize: 2})
	var want []string
	for _, v := range []string{"a", "b", "c", "d", "e"} {
		if _, err := srv.AddRule(v, "t"+v); err != nil {
			t.Fatal(err)
		}
		want = append(want, "t"+v+"="+v)
	}
	src := newSource(t, ts.URL, routes, &sourcetest.Logs{}, &sourcetest.Sleeps{})
	got, err := src.ListRules(t.Context())
	if err != nil || !slices.Equal(values(got), want) {
		t.Fatalf("ListRules = %q, %v", values(got), err)
	}
	var queries []string
	for _, c := range calls(srv.Requests()) {
		queries = append(queries, c.query)
	}
	if want := []string{"", "pagination_token=2", "pagination_token=4"}; !slices.Equal(queries, want) {
		t.Errorf("queries %q, want %q", queries, want)
	}
}

// The whole corpus through the real client: only the posts of the rule
// arrive, in order, each once, across operational disconnects, with
// malformed and giant lines skipped and heartbeats in between.
func TestRunAgainstFake(t *testing.T) {
	t.Parallel()
	srv, ts := xtest.NewTestServer(t, xtest.Config{
		Token: fakeToken, Heartbeat: 5 * time.Millisecond,
		CloseAfter: 4, Malformed: 2, Giant: 3, GiantBytes: 1<<20 + 100, // per connection
	})
	var want []string
	for _, line := range xtest.Corpus() {
		ev, err := x.Decode(line)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(ev.Status.Text), "python") && !strings.Contains(ev.Status.Text, "pythonic") {
			want = append(want, ev.Status.ID)
		}
	}
	logs := &sourcetest.Logs{}
	sleep := &sourcetest.Sleeps{}
	src := newSource(t, ts.URL, []x.Rule{{Tag: "python", Value: "python"}}, logs, sleep)
	var got []string
	disconnects := 0
	err := src.Run(t.Context(), func(ev stream.Event) error {
		switch ev.Kind {
		case stream.KindStatus:
			if !slices.Equal(ev.Status.Rules, []string{"python"}) {
				t.Errorf("status %s rules %v", ev.Status.ID, ev.Status.Rules)
			}
			if got = append(got, ev.Status.ID); len(got) == len(want) {
				return context.Canceled
			}
		case stream.KindDisconnect:
			disconnects++
			if ev.Disconnect.Reason != xtest.DisconnectDetail {
				t.Errorf("disconnect %+v", ev.Disconnect)
			}
		default:
			t.Errorf("unexpected event %+v", ev)
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if len(want) != 11 || !slices.Equal(got, want) {
		t.Errorf("statuses\n got %v\nwant %v", got, want)
	}
	if disconnects != 2 || srv.Connections() != 3 {
		t.Errorf("%d disconnects over %d connections, want 2 over 3", disconnects, srv.Connections())
	}
	if d := sleep.Delays(); !slices.Equal(d, []time.Duration{0, 0}) {
		t.Errorf("delays %v: after an operational disconnect of a live stream, reconnect at once", d)
	}
	if n := len(logs.Records(t, "malformed message")); n != 5 {
		t.Errorf("%d malformed lines logged, want 5", n)
	}
	if n := len(logs.Records(t, "oversized")); n != 2 {
		t.Errorf("%d giant lines logged, want 2", n)
	}
}

// A second client of the same app gets 429 TooManyConnections: it backs
// off from a minute and logs that another client holds the connection.
func TestTooManyConnections(t *testing.T) {
	t.Parallel()
	srv, ts := xtest.NewTestServer(t, xtest.Config{Token: fakeToken, Heartbeat: 5 * time.Millisecond, ConnectGrace: -1})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	first := newSource(t, ts.URL, routes, &sourcetest.Logs{}, &sourcetest.Sleeps{})
	streaming := make(chan struct{})
	var once sync.Once
	done := sourcetest.Start(ctx, first, func(stream.Event) error {
		once.Do(func() { close(streaming) })
		return nil
	})
	select {
	case <-streaming:
	case err := <-done:
		t.Fatalf("the first client stopped: %v", err)
	}

	logs := &sourcetest.Logs{}
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	sleep := &sourcetest.Sleeps{Limit: 2}
	sleep.SetCancel(cancel2)
	second := newSource(t, ts.URL, routes, logs, sleep)
	if err := second.Run(ctx2, func(stream.Event) error { return nil }); err != nil {
		t.Errorf("second Run = %v", err)
	}
	if d := sleep.Delays(); !slices.Equal(d, []time.Duration{time.Minute, 2 * time.Minute}) {
		t.Errorf("delays %v, want 1m, 2m", d)
	}
	recs := logs.Records(t, "another client holds the filtered stream connection")
	if len(recs) != 2 || recs[0]["reason"] != "rate-limited" || recs[0]["status"] != 429.0 {
		t.Errorf("log records %v", recs)
	}
	if n := srv.Connections(); n != 3 {
		t.Errorf("%d stream connections, want the first client's and two refused", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("first Run = %v", err)
	}
}
