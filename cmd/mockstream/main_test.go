package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNetworkFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string // part of the error; empty for none
	}{
		{[]string{}, ""},
		{[]string{"-network", "bluesky", "-addr", ":0"}, ""},
		{[]string{"-network", "x", "-log-level", "debug"}, ""},
		{[]string{"-network", "mastodon", "-rate", "5"}, "-rate is for -network twitter"},
		{[]string{"-network", "myspace"}, `-network "myspace"`},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

// Each network's server answers its own protocol's discovery or
// authentication request, so the hints the command logs are true.
func TestEachNetworkServes(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for network, probe := range map[string]struct {
		path string
		want int
	}{
		"twitter":  {"/1.1/statuses/filter.json", http.StatusUnauthorized}, // unsigned
		"x":        {"/2/tweets/search/stream/rules", http.StatusUnauthorized},
		"mastodon": {"/api/v1/instance", http.StatusOK},
		"bluesky":  {"/subscribe", http.StatusUpgradeRequired}, // not a WebSocket request
	} {
		o, err := parseFlags([]string{"-network", network}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := newServer(o, func(string) string { return "" }, log)
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, probe.path, nil))
		srv.Close()
		if rec.Code != probe.want {
			t.Errorf("%s: GET %s = %d, want %d", network, probe.path, rec.Code, probe.want)
		}
		if network != "twitter" && !strings.Contains(otherNetworks[network]("http://h"), "-source "+network) {
			t.Errorf("%s: hint %q", network, otherNetworks[network]("http://h"))
		}
	}
}
