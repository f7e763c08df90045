package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runChild runs the measurement named by -child and prints its result as
// JSON on stdout.
func runChild(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "streambench %s: %v\n", o.child, err)
			return exitFailure
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "streambench %s: %v\n", o.child, err)
			return exitFailure
		}
		defer pprof.StopCPUProfile()
	}
	var res any
	var err error
	switch o.child {
	case "ingest-streambot":
		res, err = ingestStreambot(ctx, o.url, o.windows)
	case "ingest-gotwitter":
		res, err = ingestGoTwitter(ctx, o.url, o.windows)
	case "backlog":
		res, err = backlog(ctx, o.url, o.n, 1, o.memprofile)
	case "backlog-2dests":
		res, err = backlog(ctx, o.url, o.n, 2, o.memprofile)
	default:
		err = fmt.Errorf("unknown -child %q", o.child)
	}
	if err != nil {
		fmt.Fprintf(stderr, "streambench %s: %v\n", o.child, err)
		return exitFailure
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "streambench %s: %v\n", o.child, err)
		return exitFailure
	}
	return exitOK
}

// startChild runs this binary as a child measurement and decodes its
// result into res. gomaxprocs > 0 sets the child's GOMAXPROCS.
func startChild(ctx context.Context, o *options, name, url string, n int, gomaxprocs int, res any) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this binary to start a child: %w", err)
	}
	args := []string{"-child", name, "-url", url, "-n", strconv.Itoa(n)}
	if o.quick {
		args = append(args, "-quick")
	}
	if o.cpuprofile != "" {
		args = append(args, "-cpuprofile", o.cpuprofile+"."+name)
	}
	if o.memprofile != "" {
		args = append(args, "-memprofile", fmt.Sprintf("%s.%s-%d", o.memprofile, name, n))
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = os.Environ()
	if gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("child %s: %w: %s", name, err, strings.TrimSpace(errOut.String()))
	}
	if err := json.Unmarshal(out.Bytes(), res); err != nil {
		return fmt.Errorf("child %s printed %q: %w", name, out.String(), err)
	}
	return nil
}

// cpuTime returns the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serveLoopback serves h on a free loopback port until stop is called.
func serveLoopback(h http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	stop = func() {
		srv.Close()
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// gomaxprocs reports the child's setting for the table's notes.
func gomaxprocs() int { return runtime.GOMAXPROCS(0) }
