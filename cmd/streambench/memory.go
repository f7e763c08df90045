package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/handlers/webhook"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/twitter"
)

// backlogs are the backlog sizes the memory measurement builds, with one
// destination; then one more child builds the last with two.
var backlogs = []int{10_000, 50_000, 100_000}

// backlogResult is what a backlog child measured.
type backlogResult struct {
	Destinations int     `json:"destinations"`
	Queued       int64   `json:"queued"`         // statuses queued for every destination
	QueueEntries int64   `json:"queue_entries"`  // Stats.Queued: the statuses over all the queues
	PeakRSS      int64   `json:"peak_rss_bytes"` // VmHWM
	RSS          int64   `json:"rss_bytes"`      // VmRSS at the end
	RSSAnon      int64   `json:"rss_anon_bytes"` // of which anonymous memory (the Go heap, stacks)
	RSSFile      int64   `json:"rss_file_bytes"` // and file pages mapped (the outbox's mmap)
	GoHeap       int64   `json:"go_heap_bytes"`  // heap in use at the end
	Disk         disk    `json:"outbox"`
	Seconds      float64 `json:"seconds"`
}

// disk is what the outbox's files take.
type disk struct {
	Size      int64 `json:"size_bytes"`      // their sizes (os.Stat)
	Allocated int64 `json:"allocated_bytes"` // their blocks on disk (st_blocks): holes excluded, preallocated space included
	Written   int64 `json:"written_bytes"`   // each up to its last non-zero byte: zeroed or preallocated tails excluded
}

// perStatus returns b bytes over the result's queued statuses, in KB.
func (r backlogResult) perStatus(b int64) float64 { return float64(b) / float64(r.Queued) / 1000 }

// measureMemory runs a child per backlog size against a fresh mock server,
// and one with two destinations at the largest.
func measureMemory(ctx context.Context, o *options, progress func(string, ...any)) ([]row, error) {
	var runs []*backlogRun
	for _, n := range backlogs {
		runs = append(runs, &backlogRun{n: n, dests: 1})
	}
	runs = append(runs, &backlogRun{n: backlogs[len(backlogs)-1], dests: 2})
	for _, r := range runs {
		srv, err := streamtest.NewServer(streamtest.Config{Generator: mock.NewGenerator(seed), KeepAlive: -1})
		if err != nil {
			return nil, err
		}
		u, stop, err := serveLoopback(srv)
		if err != nil {
			return nil, err
		}
		child := "backlog"
		if r.dests == 2 {
			child = "backlog-2dests"
		}
		err = startChild(ctx, o, child, u, r.n, 0, &r.res)
		srv.Close()
		stop()
		if err != nil {
			return memoryRows(runs), err
		}
		r.done = true
		progress("memory: %d queued for %d destination(s), peak RSS %.1f MiB, outbox %.2f KB/status",
			r.res.Queued, r.res.Destinations, mib(r.res.PeakRSS), r.res.perStatus(r.res.Disk.Size))
	}
	return memoryRows(runs), nil
}

// backlogRun is one backlog child: n statuses queued for each of dests
// destinations.
type backlogRun struct {
	n, dests int
	res      backlogResult
	done     bool
}

// memoryRows are the rows of the backlog children that have run.
func memoryRows(runs []*backlogRun) []row {
	var rows []row
	var first, last *backlogRun // the smallest and largest one-destination backlogs
	var two *backlogRun
	for _, r := range runs {
		if !r.done {
			continue
		}
		if r.dests != 1 {
			two = r
			continue
		}
		if first == nil {
			first = r
		}
		last = r
		res := r.res
		rw := row{Name: fmt.Sprintf("peak RSS, %s-status backlog, destination down", groupThousands(strconv.Itoa(r.n))),
			Value: mib(res.PeakRSS), Unit: "MiB",
			Note: fmt.Sprintf("VmHWM of the bot's process; at the end RSS %.0f MiB = %.0f anon + %.0f file (outbox mmap), Go heap %.0f MiB; outbox files %.0f MiB",
				mib(res.RSS), mib(res.RSSAnon), mib(res.RSSFile), mib(res.GoHeap), mib(res.Disk.Size))}
		if r.n == backlogs[len(backlogs)-1] {
			rw = rw.atMost(48, "<= 48 MiB")
		}
		rows = append(rows, rw)
	}
	if first != nil && last != first && last.n == backlogs[len(backlogs)-1] {
		rows = append(rows, row{
			Name:  fmt.Sprintf("peak RSS growth, %s -> %s-status backlog", groupThousands(strconv.Itoa(first.n)), groupThousands(strconv.Itoa(last.n))),
			Value: mib(last.res.PeakRSS - first.res.PeakRSS), Unit: "MiB",
			Note: fmt.Sprintf("peak RSS at %s minus at %s: %.1f - %.1f MiB", groupThousands(strconv.Itoa(last.n)), groupThousands(strconv.Itoa(first.n)),
				mib(last.res.PeakRSS), mib(first.res.PeakRSS)),
		}.atMost(8, "<= 8 MiB"))
	}
	if last != nil && last.n == backlogs[len(backlogs)-1] {
		var others []string
		for _, r := range runs {
			if r.done && r.dests == 1 && r != last {
				others = append(others, fmt.Sprintf("%s: %.2f KB", groupThousands(strconv.Itoa(r.n)), r.res.perStatus(r.res.Disk.Size)))
			}
		}
		note := "outbox files' size (os.Stat) / statuses queued (KB = 1,000 bytes; the same track=python statuses as e2e's recording, 3.2 KB of JSON on average); " + diskNote(last.res)
		if len(others) > 0 {
			note += "; at " + strings.Join(others, ", ")
		}
		rows = append(rows, row{
			Name:  fmt.Sprintf("disk per queued status, %s-status backlog", groupThousands(strconv.Itoa(last.n))),
			Value: last.res.perStatus(last.res.Disk.Size), Unit: "KB", Note: note,
		}.atMost(1.2, "<= 1.2 KB"))
	}
	if two != nil {
		note := fmt.Sprintf("%s statuses queued for each of 2 dead webhooks (a route each, both taking python); %s; peak RSS %.1f MiB",
			groupThousands(strconv.FormatInt(two.res.Queued, 10)), diskNote(two.res), mib(two.res.PeakRSS))
		if last != nil && last.n == two.n {
			note += fmt.Sprintf("; %.2fx the 1-destination figure", two.res.perStatus(two.res.Disk.Size)/last.res.perStatus(last.res.Disk.Size))
		}
		rows = append(rows, row{Name: "disk per queued status, 2 destinations", Value: two.res.perStatus(two.res.Disk.Size), Unit: "KB", Note: note}.
			atMost(1.2, "<= 1.2 KB"))
	}
	return rows
}

// diskNote says what the outbox's files take beside their size.
func diskNote(r backlogResult) string {
	return fmt.Sprintf("%.0f MiB in all, %.2f KB/status allocated on disk (st_blocks), %.2f KB/status up to the last non-zero byte",
		mib(r.Disk.Size), r.perStatus(r.Disk.Allocated), r.perStatus(r.Disk.Written))
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// backlog is the child: the bot with the outbox and dests destinations,
// each a webhook whose port is closed behind a route of its own that takes
// "python", until n statuses are queued for each.
func backlog(ctx context.Context, serverURL string, n, dests int, memprofile string) (backlogResult, error) {
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
	var routes []bot.Route
	var destinations []bot.Destination
	for i := range dests {
		hook, err := webhook.New(webhook.Config{URL: "http://" + closed + "/hook"})
		if err != nil {
			return backlogResult{}, err
		}
		route, dest := "python", "webhook"
		if dests > 1 {
			route, dest = fmt.Sprintf("python-%d", i+1), fmt.Sprintf("webhook-%d", i+1)
		}
		routes = append(routes, bot.Route{Name: route, Filter: handlers.Match(track.MustCompile("python")), Destinations: []string{dest}})
		destinations = append(destinations, bot.Destination{Name: dest, Handler: hook})
	}
	src, err := twitter.NewSource(twitter.Config{Credentials: twitter.Credentials(streamtest.DemoCredentials()), BaseURL: serverURL, Track: []string{"python"}})
	if err != nil {
		return backlogResult{}, err
	}
	outboxDir := filepath.Join(dir, "outbox")
	if err := os.Mkdir(outboxDir, 0o700); err != nil {
		return backlogResult{}, err
	}
	outbox, err := bot.OpenOutbox(filepath.Join(outboxDir, "outbox.db"))
	if err != nil {
		return backlogResult{}, err
	}
	defer outbox.Close()
	b, err := bot.New(bot.Config{
		Source:        src,
		Routes:        routes,
		Destinations:  destinations,
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
	// queued is the fewest statuses queued for a destination.
	queued := func(st bot.Stats) int64 {
		least := int64(math.MaxInt64)
		for _, d := range destinations {
			least = min(least, st.Destinations[d.Name].Queued)
		}
		return least
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for queued(b.Stats()) < int64(n) {
		select {
		case err := <-done:
			return backlogResult{}, fmt.Errorf("the bot stopped with %d queued: %v", b.Stats().Queued, err)
		case <-ctx.Done():
			return backlogResult{}, ctx.Err()
		case <-tick.C:
		}
	}
	st := b.Stats()
	res := backlogResult{Destinations: dests, Queued: queued(st), QueueEntries: st.Queued, Seconds: time.Since(start).Seconds()}
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
	if res.Disk, err = diskUsage(outboxDir); err != nil {
		return backlogResult{}, err
	}
	cancel()
	<-done
	return res, nil
}

// diskUsage sums what the files under dir take.
func diskUsage(dir string) (disk, error) {
	var d disk
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		d.Size += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			d.Allocated += st.Blocks * 512
		}
		w, err := lastNonZero(path, fi.Size())
		d.Written += w
		return err
	})
	return d, err
}

// lastNonZero returns the offset just past the last non-zero byte of the
// file at path, size bytes long, reading backwards from its end: the cost
// is that of its zeroed tail.
func lastNonZero(path string, size int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
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
