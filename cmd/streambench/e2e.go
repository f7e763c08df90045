package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/twitter"
)

// streambotPackage is the binary measured end to end.
const streambotPackage = "github.com/streambot/streambot/cmd/streambot"

// measureE2E builds cmd/streambot, runs it against the mock server at full
// speed with a JSONL destination and the outbox on, and counts the lines
// the file gains over the window.
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

	srv, err := streamtest.NewServer(streamtest.Config{Generator: mock.NewGenerator(seed), KeepAlive: -1})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	u, stop, err := serveLoopback(srv)
	if err != nil {
		return nil, err
	}
	defer stop()

	out := filepath.Join(dir, "out.jsonl")
	d := streamtest.DemoCredentials()
	cmd := exec.CommandContext(ctx, bin, "-source", "twitter", "-track", "python", "-jsonl", out, "-data", filepath.Join(dir, "data"),
		"-stdout=false", "-stats-interval", "0", "-log-level", "warn", "-shutdown-timeout", "1s")
	cmd.Env = append(os.Environ(), twitter.EnvStreamURL+"="+u,
		twitter.EnvConsumerKey+"="+d.ConsumerKey, twitter.EnvConsumerSecret+"="+d.ConsumerSecret,
		twitter.EnvAccessToken+"="+d.AccessToken, twitter.EnvAccessSecret+"="+d.AccessSecret)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(err error) ([]row, error) {
		cmd.Process.Kill()
		<-exited
		return nil, fmt.Errorf("%w; streambot's stderr: %s", err, strings.TrimSpace(stderr.String()))
	}

	// Warm up: the first line, then the warm-up window.
	lines := &lineCounter{path: out}
	deadline := time.Now().Add(30 * time.Second)
	for n, _ := lines.count(); n == 0; n, _ = lines.count() {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("streambot exited before forwarding anything: %v; stderr: %s", err, strings.TrimSpace(stderr.String()))
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
	t0, cpu0 := time.Now(), procCPU(cmd.Process.Pid)
	if err := handlers.SleepContext(ctx, o.windows.e2e); err != nil {
		return fail(err)
	}
	n1, err := lines.count()
	if err != nil {
		return fail(err)
	}
	elapsed, cpu := time.Since(t0), procCPU(cmd.Process.Pid)-cpu0
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		return fail(errors.New("streambot did not stop within 10 s of SIGTERM"))
	}
	rate := float64(n1-n0) / elapsed.Seconds()
	progress("e2e: %.0f statuses/s", rate)
	return []row{{
		Name: "e2e: streambot binary, stream -> JSONL, outbox on", Value: rate, Unit: "statuses/s",
		Note: fmt.Sprintf("track=python filtered by the server (it generates 4 statuses per match); streambot used %.0f%% of a core", 100*cpu.Seconds()/elapsed.Seconds()),
	}}, nil
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
