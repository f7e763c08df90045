package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/twitter"
)

// streambotPackage is the binary measured end to end.
const streambotPackage = "github.com/streambot/streambot/cmd/streambot"

// measureE2E builds cmd/streambot and runs it with a JSONL destination and
// the outbox on against a loopback server that replays statuses recorded
// from the mock server with track=python (so every status is one the bot
// forwards), new IDs each loop; it counts the lines the file gains over the
// window. The generating mock server is not the source: it needs a core to
// generate four statuses per match, about 9,000 matches/s, and would be
// the bound (see the ingest section's last row).
func measureE2E(ctx context.Context, o *options, progress func(string, ...any)) ([]row, error) {
	dir, err := os.MkdirTemp("", "streambench-e2e-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "streambot")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, streambotPackage).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %s (run streambench from the module's directory): %w: %s", streambotPackage, err, bytes.TrimSpace(out))
	}
	rec, err := recordStream(ctx, recordedStatuses, url.Values{"track": {"python"}})
	if err != nil {
		return nil, err
	}
	if rec.maxLoop == 0 {
		return nil, errors.New("the recording has no status IDs to renew between loops")
	}
	u, stop, err := serveLoopback(replayNewIDs(rec))
	if err != nil {
		return nil, err
	}
	defer stop()

	res, err := runStreambot(ctx, o, bin, u, dir)
	if err != nil {
		return nil, err
	}
	rate := float64(res.lines) / res.elapsed.Seconds()
	progress("e2e: %.0f statuses/s", rate)
	rows := []row{row{
		Name: "e2e: streambot binary, recorded stream -> JSONL, outbox on", Value: rate, Unit: "statuses/s",
		Note: fmt.Sprintf("%s statuses recorded from the mock server with track=python (%.0f%% match python, %.1f KB/status) replayed by a server that only writes, new IDs each loop; "+
			"streambot used %.0f%% of a core (%.0f statuses per CPU-second), the replay server %.0f%%",
			groupThousands(strconv.Itoa(rec.statuses)), 100*float64(rec.matched)/float64(rec.statuses), rec.bytesPerStatus()/1000,
			100*res.cpu.Seconds()/res.elapsed.Seconds(), float64(res.lines)/res.cpu.Seconds(), 100*res.serverCPU.Seconds()/res.elapsed.Seconds()),
	}.atLeast(100_000, ">= 100,000")}

	// The ratio's denominator: the ingest section's go-twitter row, or the
	// same child on this section's recording when that section did not run.
	stock, stockNote := o.stockIngest, ""
	if stock != nil {
		stockNote = fmt.Sprintf("over go-twitter's %.0f statuses/s, the ingest row (GOMAXPROCS=1, on its locations=world recording of the same generator)", stock.rate())
	} else {
		stock = &ingestResult{}
		if err := startChild(ctx, o, "ingest-gotwitter", u, 0, 1, stock); err != nil {
			return rows, err
		}
		stockNote = fmt.Sprintf("over go-twitter Filter+SwitchDemux, + match: %.0f statuses/s, measured here on this recording at GOMAXPROCS=1 (the ingest section did not run)", stock.rate())
	}
	return append(rows, row{
		Name: "e2e: ratio streambot e2e / go-twitter stock ingest", Value: rate / stock.rate(), Unit: "x", Note: stockNote,
	}.atLeast(8, ">= 8x")), nil
}

// e2eResult is what runStreambot measured.
type e2eResult struct {
	lines     int           // JSONL lines the window added
	elapsed   time.Duration // the window
	cpu       time.Duration // streambot's CPU time over the window
	serverCPU time.Duration // this process's: the stream server's
}

// runStreambot runs the binary bin against the stream server at serverURL
// with a JSONL destination and the outbox in dir, and counts the lines the
// file gains over the window, after the first line and the warm-up.
func runStreambot(ctx context.Context, o *options, bin, serverURL, dir string) (e2eResult, error) {
	out := filepath.Join(dir, "out.jsonl")
	d := streamtest.DemoCredentials()
	args := []string{"-source", "twitter", "-track", "python", "-jsonl", out, "-data", filepath.Join(dir, "data"),
		"-stdout=false", "-stats-interval", "0", "-log-level", "warn", "-shutdown-timeout", "1s"}
	if o.cpuprofile != "" {
		args = append(args, "-cpuprofile", o.cpuprofile+"e2e-streambot")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), twitter.EnvStreamURL+"="+serverURL,
		twitter.EnvConsumerKey+"="+d.ConsumerKey, twitter.EnvConsumerSecret+"="+d.ConsumerSecret,
		twitter.EnvAccessToken+"="+d.AccessToken, twitter.EnvAccessSecret+"="+d.AccessSecret)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return e2eResult{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(err error) (e2eResult, error) {
		cmd.Process.Kill()
		<-exited
		return e2eResult{}, fmt.Errorf("%w; streambot's stderr: %s", err, strings.TrimSpace(stderr.String()))
	}

	// Warm up: the first line, then the warm-up window.
	lines := &lineCounter{path: out}
	deadline := time.Now().Add(30 * time.Second)
	for n, _ := lines.count(); n == 0; n, _ = lines.count() {
		select {
		case err := <-exited:
			return e2eResult{}, fmt.Errorf("streambot exited before forwarding anything: %v; stderr: %s", err, strings.TrimSpace(stderr.String()))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(errors.New("nothing forwarded within 30 s"))
		}
	}
	if err := handlers.SleepContext(ctx, o.windows.warmup); err != nil {
		return fail(err)
	}
	n0, err := lines.count()
	if err != nil {
		return fail(err)
	}
	// Nothing but the stream server runs in this process over the window:
	// the file is counted before and after it.
	t0, cpu0, server0 := time.Now(), procCPU(cmd.Process.Pid), cpuTime()
	if err := handlers.SleepContext(ctx, o.windows.e2e); err != nil {
		return fail(err)
	}
	elapsed, cpu, serverCPU := time.Since(t0), procCPU(cmd.Process.Pid)-cpu0, cpuTime()-server0
	// The lines written while this counts are after the window: stop the
	// writer first, so that they are few.
	cmd.Process.Signal(syscall.SIGSTOP)
	n1, err := lines.count()
	cmd.Process.Signal(syscall.SIGCONT)
	if err != nil {
		return fail(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		return fail(errors.New("streambot did not stop within 10 s of SIGTERM"))
	}
	return e2eResult{lines: n1 - n0, elapsed: elapsed, cpu: cpu, serverCPU: serverCPU}, nil
}

// lineCounter counts the lines of a file that only grows.
type lineCounter struct {
	path  string
	off   int64
	lines int
}

func (c *lineCounter) count() (int, error) {
	f, err := os.Open(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Seek(c.off, io.SeekStart); err != nil {
		return 0, err
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := f.Read(buf)
		// Count complete lines only; a partial last line is read again.
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			c.lines += bytes.Count(buf[:i+1], []byte{'\n'})
			c.off += int64(i + 1)
			if _, serr := f.Seek(c.off, io.SeekStart); serr != nil {
				return 0, serr
			}
		}
		if err == io.EOF || n == 0 {
			return c.lines, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// procCPU returns the CPU time (user and system) of process pid so far,
// from /proc/<pid>/stat, or 0 when it cannot be read.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may contain spaces) start at ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux.
const clockTicks = 100

// tailBuffer keeps the last 4 KiB written to it, for error messages.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4<<10 {
		t.b = t.b[len(t.b)-4<<10:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
