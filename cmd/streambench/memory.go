package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/webhook"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// backlogs are the backlog sizes the memory measurement builds.
var backlogs = []int{10_000, 50_000, 100_000}

// backlogResult is what a backlog child measured.
type backlogResult struct {
	Queued     int64   `json:"queued"`
	PeakRSS    int64   `json:"peak_rss_bytes"` // VmHWM
	RSS        int64   `json:"rss_bytes"`      // VmRSS at the end
	RSSAnon    int64   `json:"rss_anon_bytes"` // of which anonymous memory (the Go heap, stacks)
	RSSFile    int64   `json:"rss_file_bytes"` // and file pages mapped (the outbox's mmap)
	GoHeap     int64   `json:"go_heap_bytes"`  // heap in use at the end
	OutboxSize int64   `json:"outbox_bytes"`
	Seconds    float64 `json:"seconds"`
}

// measureMemory runs a child per backlog size against a fresh mock server.
func measureMemory(ctx context.Context, o *options, progress func(string, ...any)) ([]row, error) {
	var rows []row
	for _, n := range backlogs {
		srv, err := streamtest.NewServer(streamtest.Config{Generator: mock.NewGenerator(seed), KeepAlive: -1})
		if err != nil {
			return nil, err
		}
		u, stop, err := serveLoopback(srv)
		if err != nil {
			return nil, err
		}
		var res backlogResult
		err = startChild(ctx, o, "backlog", u, n, 0, &res)
		srv.Close()
		stop()
		if err != nil {
			return rows, err
		}
		progress("memory: %d queued, peak RSS %.1f MiB", res.Queued, mib(res.PeakRSS))
		r := row{Name: fmt.Sprintf("peak RSS, %s-status backlog, destination down", groupThousands(strconv.Itoa(n))),
			Value: mib(res.PeakRSS), Unit: "MiB",
			Note: fmt.Sprintf("VmHWM of the bot's process; at the end RSS %.0f MiB = %.0f anon + %.0f file (outbox mmap), Go heap %.0f MiB; outbox file %.0f MiB",
				mib(res.RSS), mib(res.RSSAnon), mib(res.RSSFile), mib(res.GoHeap), mib(res.OutboxSize))}
		if n == backlogs[len(backlogs)-1] {
			r = r.atMost(64, "<= 64 MiB")
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// backlog is the child: the bot with the outbox, its one destination a
// webhook whose port is closed, until n statuses are queued.
func backlog(ctx context.Context, serverURL string, n int, memprofile string) (backlogResult, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "streambench-backlog-")
	if err != nil {
		return backlogResult{}, err
	}
	defer os.RemoveAll(dir)
	closed, err := closedPort()
	if err != nil {
		return backlogResult{}, err
	}
	hook, err := webhook.New(webhook.Config{URL: "http://" + closed + "/hook"})
	if err != nil {
		return backlogResult{}, err
	}
	src, err := twitter.NewSource(twitter.Config{Credentials: twitter.Credentials(streamtest.DemoCredentials()), BaseURL: serverURL, Track: []string{"python"}})
	if err != nil {
		return backlogResult{}, err
	}
	path := filepath.Join(dir, "outbox.db")
	outbox, err := bot.OpenOutbox(path)
	if err != nil {
		return backlogResult{}, err
	}
	defer outbox.Close()
	b, err := bot.New(bot.Config{
		Source:        src,
		Routes:        []bot.Route{{Name: "python", Filter: handlers.Match("python", track.MustCompile("python")), Destinations: []string{"webhook"}}},
		Destinations:  []bot.Destination{{Name: "webhook", Handler: hook}},
		Store:         outbox,
		QueueCap:      max(n, bot.DefaultQueueCap),
		StatsInterval: -1,
		DrainTimeout:  time.Millisecond,
	})
	if err != nil {
		return backlogResult{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for b.Stats().Queued < int64(n) {
		select {
		case err := <-done:
			return backlogResult{}, fmt.Errorf("the bot stopped with %d queued: %v", b.Stats().Queued, err)
		case <-ctx.Done():
			return backlogResult{}, ctx.Err()
		case <-tick.C:
		}
	}
	res := backlogResult{Queued: b.Stats().Queued, Seconds: time.Since(start).Seconds()}
	mem, err := procMemory("/proc/self/status")
	if err != nil {
		return backlogResult{}, err
	}
	res.PeakRSS, res.RSS, res.RSSAnon, res.RSSFile = mem["VmHWM"], mem["VmRSS"], mem["RssAnon"], mem["RssFile"]
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.GoHeap = int64(ms.HeapInuse)
	if memprofile != "" {
		if err := writeHeapProfile(memprofile); err != nil {
			return backlogResult{}, err
		}
	}
	if fi, err := os.Stat(path); err == nil {
		res.OutboxSize = fi.Size()
	}
	cancel()
	<-done
	return res, nil
}

// writeHeapProfile writes a heap profile after a garbage collection.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// closedPort returns a loopback address nothing listens on.
func closedPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// procMemory reads the memory fields (VmHWM, VmRSS, RssAnon, RssFile, ...)
// of a /proc/<pid>/status file, in bytes.
func procMemory(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasSuffix(v, " kB") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, " kB")), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, k, err)
		}
		out[k] = kb << 10
	}
	if out["VmHWM"] == 0 {
		return nil, fmt.Errorf("%s has no VmHWM", path)
	}
	return out, sc.Err()
}
