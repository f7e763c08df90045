package main

// These tests cover the command's plumbing (flags, the table, the parsers
// of what children and fakes report). They run no measurement: the
// command itself is only built and vetted by go test ./...

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/streambot/streambot/stream/track"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		only    []string
		windows windows
		err     string
	}{
		{args: nil, only: sections, windows: fullWindows},
		{args: []string{"-quick"}, only: sections, windows: quickWindows},
		{args: []string{"-only", "match, ingest"}, only: []string{"ingest", "match"}, windows: fullWindows},
		{args: []string{"-only", "memory", "-json"}, only: []string{"memory"}, windows: fullWindows},
		{args: []string{"-only", "speed"}, err: `unknown measurement "speed"`},
		{args: []string{"-only", ","}, err: "no measurement selected"},
		{args: []string{"extra"}, err: `unexpected argument "extra"`},
		{args: []string{"-nosuchflag"}, err: "flag provided but not defined"},
	}
	for _, tc := range tests {
		o, err := parseFlags(tc.args, io.Discard)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseFlags(%q) error = %v, want one containing %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseFlags(%q): %v", tc.args, err)
			continue
		}
		if !slices.Equal(o.only, tc.only) || o.windows != tc.windows {
			t.Errorf("parseFlags(%q) = only %q windows %+v, want %q %+v", tc.args, o.only, o.windows, tc.only, tc.windows)
		}
	}
}

func TestRunUsageErrors(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-only", "nope"}, io.Discard, &stderr); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), "streambench: -only") {
		t.Errorf("stderr = %q", stderr.String())
	}
	if code := run(context.Background(), []string{"-h"}, io.Discard, io.Discard); code != exitOK {
		t.Errorf("-h: exit %d, want %d", code, exitOK)
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"-child", "bogus"}, io.Discard, &stderr); code != exitFailure || !strings.Contains(stderr.String(), "unknown -child") {
		t.Errorf("-child bogus: exit %d, stderr %q", code, stderr.String())
	}
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{123456.7, "statuses/s", "123,457 statuses/s"},
		{1234567, "", "1,234,567"},
		{999, "ns/status", "999 ns/status"},
		{10.84, "x", "10.8x"},
		{8.213, "x", "8.21x"},
		{3.7071, "ms", "3.71 ms"},
		{64, "MiB", "64.0 MiB"},
		{0, "ms", "0.0 ms"},
		{-1500, "", "-1,500"},
	}
	for _, tc := range tests {
		if got := formatValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	rep := &report{
		Machine: machine{CPU: "Test CPU", Cores: 2, Go: "go1.26.8", OS: "linux/amd64", Load: "0.10 0.20 0.30"},
		Rows: []row{
			row{Name: "ingest", Value: 123456, Unit: "statuses/s", Note: "GOMAXPROCS=1"}.atLeast(100_000, ">= 100,000"),
			row{Name: "latency p99", Value: 12.5, Unit: "ms"}.atMost(10, "<= 10 ms"),
			{Name: "memory", Note: "failed: boom"},
		},
	}
	var b bytes.Buffer
	rep.writeTable(&b)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []string{
		"streambench: Test CPU, 2 cores, go1.26.8, linux/amd64, load average 0.10 0.20 0.30 at start",
		"",
		"measurement  result              target      met  note",
		"ingest       123,456 statuses/s  >= 100,000  yes  GOMAXPROCS=1",
		"latency p99  12.5 ms             <= 10 ms    NO",
		"memory       -                                    failed: boom",
	}
	for i := range max(len(lines), len(want)) {
		var got, w string
		if i < len(lines) {
			got = strings.TrimRight(lines[i], " ")
		}
		if i < len(want) {
			w = want[i]
		}
		if got != w {
			t.Errorf("line %d:\n got %q\nwant %q", i, got, w)
		}
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"machine":{"cpu":"Test CPU"`, `"results":[`, `"met":true`, `"met":false`, `"target":"\u003c= 10 ms"`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("JSON %s lacks %s", js, key)
		}
	}
}

func TestStatusIDAndLinkedID(t *testing.T) {
	t.Parallel()
	msg := []byte(`{"created_at":"Wed Mar 30 22:00:36 +0000 2022","id":15,"id_str":"15","retweeted_status":{"id_str":"7"}}`)
	if got := statusID(msg); got != "15" {
		t.Errorf("statusID = %q, want 15", got)
	}
	for _, m := range []string{`{"limit":{"track":1}}`, "\r\n", `{"created_at":"x","id_str":`} {
		if got := statusID([]byte(m)); got != "" {
			t.Errorf("statusID(%q) = %q, want none", m, got)
		}
	}
	text := "<b>Sam</b> (@sam)\nsee https://x.com/other/status/1 too\n<a href=\"https://x.com/sam/status/1509289517886784069\">https://x.com/sam/status/1509289517886784069</a>"
	if got := linkedID(text); got != "1509289517886784069" {
		t.Errorf("linkedID = %q", got)
	}
	if got := linkedID("no link"); got != "" {
		t.Errorf("linkedID without a link = %q", got)
	}
}

func TestLineCounter(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.jsonl")
	c := &lineCounter{path: path}
	if n, err := c.count(); n != 0 || err != nil {
		t.Fatalf("missing file: %d, %v", n, err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, step := range []struct {
		write string
		want  int
	}{
		{"{}\n{}\n{\"par", 2}, // a partial line is not counted
		{"tial\":1}\n", 3},    // until it ends
		{"", 3},               // nothing new
		{strings.Repeat("{}\n", 100_000), 100_003}, // more than one read buffer
	} {
		if _, err := f.WriteString(step.write); err != nil {
			t.Fatal(err)
		}
		if n, err := c.count(); n != step.want || err != nil {
			t.Fatalf("after %.20q: %d lines, %v; want %d", step.write, n, err, step.want)
		}
	}
}

func TestProcMemoryAndCPUModel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	status := filepath.Join(dir, "status")
	os.WriteFile(status, []byte("Name:\tstreambench\nVmPeak:\t  900000 kB\nVmHWM:\t   65536 kB\nVmRSS:\t   32768 kB\nRssAnon:\t   16384 kB\nRssFile:\t   16384 kB\nThreads:\t5\n"), 0o600)
	mem, err := procMemory(status)
	if err != nil {
		t.Fatal(err)
	}
	if mem["VmHWM"] != 64<<20 || mem["VmRSS"] != 32<<20 || mem["RssFile"] != 16<<20 {
		t.Errorf("procMemory = %v", mem)
	}
	os.WriteFile(status, []byte("Name:\tx\n"), 0o600)
	if _, err := procMemory(status); err == nil {
		t.Error("a status file without VmHWM parsed")
	}
	if m, err := procMemory("/proc/self/status"); err != nil || m["VmHWM"] <= 0 {
		t.Errorf("this process: %v, %v", m, err)
	}

	cpuinfo := filepath.Join(dir, "cpuinfo")
	os.WriteFile(cpuinfo, []byte("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"), 0o600)
	if got := cpuModel(cpuinfo); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel(filepath.Join(dir, "missing")); got != "unknown" {
		t.Errorf("cpuModel of a missing file = %q", got)
	}
}

func TestNoMatchPhrasesMatchNoGeneratedStatus(t *testing.T) {
	t.Parallel()
	phrases := noMatchPhrases(400)
	if len(phrases) != 400 || phrases[399] != "zebra" {
		t.Fatalf("noMatchPhrases(400) = %d phrases ending %q", len(phrases), phrases[len(phrases)-1])
	}
	statuses, err := decodedStatuses(500)
	if err != nil {
		t.Fatal(err)
	}
	m := track.MustCompile(strings.Join(phrases, ","))
	for _, s := range statuses {
		if got := m.AppendMatches(nil, s); len(got) > 0 {
			t.Fatalf("status %s matched %q: the match measurement would stop early", s.ID, got)
		}
	}
}
