package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // a measurement failed
	exitUsage   = 2 // bad flags
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// sections are the measurements, in the order they run and print.
var sections = []string{"ingest", "e2e", "match", "latency", "memory"}

// options are the parsed command line.
type options struct {
	quick   bool
	json    bool
	only    []string // sections to run, in sections' order
	windows windows

	cpuprofile string // children write CPU profiles named after this
	memprofile string // backlog children write heap profiles named after this

	// stockIngest is go-twitter's ingest result, when the ingest section
	// has run: the e2e section's ratio reuses it.
	stockIngest *ingestResult

	// Internal: run one measurement as a child process.
	child string
	url   string
	n     int
}

// windows are how long the measurements run.
type windows struct {
	warmup  time.Duration // before an ingest or e2e window
	ingest  time.Duration // each ingest client
	e2e     time.Duration
	latency time.Duration
	match   time.Duration // each phrase count
}

var (
	fullWindows  = windows{warmup: time.Second, ingest: 3 * time.Second, e2e: 5 * time.Second, latency: 5 * time.Second, match: time.Second}
	quickWindows = windows{warmup: 300 * time.Millisecond, ingest: time.Second, e2e: 2 * time.Second, latency: 2 * time.Second, match: 300 * time.Millisecond}
)

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	var only string
	fs := flag.NewFlagSet("streambench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: streambench [flags]\n\n"+
			"Measures streambot on this machine (see README, Performance) and prints one table.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.quick, "quick", false, "shorter measurement windows (about a minute in all instead of about a minute and a half; the memory children do not shorten)")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	fs.StringVar(&only, "only", strings.Join(sections, ","), "comma-separated measurements to run: "+strings.Join(sections, ", "))
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of each child measurement to this path plus the child's name (e.g. /tmp/sb.prof.ingest-streambot)")
	fs.StringVar(&o.memprofile, "memprofile", "", "write a heap profile of each memory child, when its backlog is built, to this path plus the child's name")
	fs.StringVar(&o.child, "child", "", "internal: run one measurement as a child process")
	fs.StringVar(&o.url, "url", "", "internal: the stream server of a child")
	fs.IntVar(&o.n, "n", 0, "internal: the backlog of a memory child")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	o.windows = fullWindows
	if o.quick {
		o.windows = quickWindows
	}
	want := map[string]bool{}
	for s := range strings.SplitSeq(only, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(sections, s) {
			return nil, fmt.Errorf("-only: unknown measurement %q: want some of %s", s, strings.Join(sections, ", "))
		}
		want[s] = true
	}
	for _, s := range sections {
		if want[s] {
			o.only = append(o.only, s)
		}
	}
	if len(o.only) == 0 && o.child == "" {
		return nil, errors.New("-only: no measurement selected")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "streambench:", err)
		return exitUsage
	}
	if o.child != "" {
		return runChild(ctx, o, stdout, stderr)
	}

	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile + ".parent")
		if err != nil {
			fmt.Fprintln(stderr, "streambench:", err)
			return exitFailure
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "streambench:", err)
			return exitFailure
		}
		defer pprof.StopCPUProfile()
	}
	rep := &report{Machine: thisMachine()}
	progress := func(format string, a ...any) {
		if !o.json {
			fmt.Fprintf(stderr, "streambench: "+format+"\n", a...)
		}
	}
	measure := map[string]func(context.Context, *options, func(string, ...any)) ([]row, error){
		"ingest":  measureIngest,
		"e2e":     measureE2E,
		"match":   measureMatch,
		"latency": measureLatency,
		"memory":  measureMemory,
	}
	failed := false
	for _, s := range o.only {
		if ctx.Err() != nil {
			break
		}
		progress("measuring %s ...", s)
		rows, err := measure[s](ctx, o, progress)
		if err != nil {
			failed = true
			rows = append(rows, row{Name: s, Note: "failed: " + err.Error()})
		}
		rep.Rows = append(rep.Rows, rows...)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "streambench:", err)
			return exitFailure
		}
	} else {
		rep.writeTable(stdout)
	}
	if failed || ctx.Err() != nil {
		return exitFailure
	}
	return exitOK
}
