package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/streambot/streambot/cmd/internal/logflags"
	"github.com/streambot/streambot/stream/bluesky/jetstreamtest"
	"github.com/streambot/streambot/stream/mastodon/mastodontest"
	"github.com/streambot/streambot/stream/mock"
	"github.com/streambot/streambot/stream/streamtest"
	"github.com/streambot/streambot/stream/x/xtest"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the server could not run (for example the address is taken)
	exitUsage   = 2 // bad flags
)

// shutdownTimeout bounds the wait for connections to finish after a signal.
const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

// options are the parsed command line.
type options struct {
	network           string
	addr              string
	corpus            string
	generate          bool
	seed              uint64
	rate              float64
	loop              bool
	keepAlive         time.Duration
	resend            int
	disconnectEvery   int
	disconnectMessage bool
	stallAfter        int
	statusCodes       string
	malformedEvery    int
	giantEvery        int
	giantBytes        int
	limitEvery        int
	logFormat         string
	logLevel          string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("mockstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: mockstream [flags]\n\n"+
			"Serves a mock of Twitter's v1.1 statuses/filter stream at %s.\n"+
			"Credentials: %s, %s, %s, %s (demo values when unset).\n\nFlags:\n",
			streamtest.FilterPath, streamtest.EnvConsumerKey, streamtest.EnvConsumerSecret,
			streamtest.EnvAccessToken, streamtest.EnvAccessSecret)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.network, "network", "twitter", "protocol to serve: twitter (v1.1, with every flag below), or x, bluesky or mastodon (their embedded corpus; only -addr and the log flags apply)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	fs.StringVar(&o.corpus, "corpus", "", "serve this JSONL file of v1.1 messages instead of the embedded corpus")
	fs.BoolVar(&o.generate, "generate", false, "serve an endless supply of generated statuses instead of the corpus")
	fs.Uint64Var(&o.seed, "seed", 1, "with -generate: the generator's seed (the same seed serves the same statuses)")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second on each stream (0 = as fast as the client reads)")
	fs.BoolVar(&o.loop, "loop", true, "loop the content; false sends it once (across all connections), then keeps streams open with keep-alives")
	fs.DurationVar(&o.keepAlive, "keepalive", streamtest.DefaultKeepAlive, "send a blank line after this long without a message (0 disables)")
	fs.IntVar(&o.resend, "resend", 0, "a new connection first receives again the last N messages delivered")
	fs.IntVar(&o.disconnectEvery, "disconnect-every", 0, "close each stream after N messages (0 never)")
	fs.BoolVar(&o.disconnectMessage, "disconnect-message", false, "with -disconnect-every: send a disconnect message (code 7) first")
	fs.IntVar(&o.stallAfter, "stall-after", 0, "after N messages stop writing anything, keep-alives included, but keep the stream open (0 never)")
	fs.StringVar(&o.statusCodes, "status-codes", "", "HTTP statuses for successive connection attempts, e.g. 503,420,200 (then 200)")
	fs.IntVar(&o.malformedEvery, "malformed-every", 0, "send a malformed JSON line after every N messages (0 never)")
	fs.IntVar(&o.giantEvery, "giant-every", 0, "send a giant line after every N messages (0 never)")
	fs.IntVar(&o.giantBytes, "giant-bytes", streamtest.DefaultGiantBytes, "length of a giant line in bytes")
	fs.IntVar(&o.limitEvery, "limit-every", 0, "send a limit notice after every N messages (0 never)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch o.network {
	case "twitter":
	case "x", "bluesky", "mastodon":
		for name := range set {
			if name != "network" && name != "addr" && name != "log-format" && name != "log-level" {
				return nil, fmt.Errorf("-%s is for -network twitter", name)
			}
		}
	default:
		return nil, fmt.Errorf("-network %q: want twitter, x, bluesky or mastodon", o.network)
	}

	counts := []struct {
		name string
		n    int
	}{
		{"resend", o.resend}, {"disconnect-every", o.disconnectEvery}, {"stall-after", o.stallAfter},
		{"malformed-every", o.malformedEvery}, {"giant-every", o.giantEvery}, {"limit-every", o.limitEvery},
	}
	for _, c := range counts {
		if c.n < 0 {
			return nil, fmt.Errorf("-%s %d: must not be negative", c.name, c.n)
		}
	}
	switch {
	case o.generate && o.corpus != "":
		return nil, errors.New("-generate and -corpus exclude each other: choose one source of statuses")
	case set["seed"] && !o.generate:
		return nil, errors.New("-seed needs -generate")
	case o.rate < 0:
		return nil, fmt.Errorf("-rate %v: must not be negative", o.rate)
	case o.keepAlive < 0:
		return nil, fmt.Errorf("-keepalive %v: must not be negative", o.keepAlive)
	case o.disconnectMessage && o.disconnectEvery == 0:
		return nil, errors.New("-disconnect-message needs -disconnect-every N")
	}
	if _, err := logflags.New(o.logFormat, o.logLevel, io.Discard); err != nil {
		return nil, err
	}
	if _, err := parseCodes(o.statusCodes); err != nil {
		return nil, err
	}
	return o, nil
}

// parseCodes reads -status-codes: a comma-separated list of HTTP statuses.
func parseCodes(s string) ([]int, error) {
	var codes []int
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		code, err := strconv.Atoi(item)
		if err != nil || code < 200 || code > 599 {
			return nil, fmt.Errorf("-status-codes: %q is not an HTTP status 200–599", item)
		}
		codes = append(codes, code)
	}
	return codes, nil
}

// config turns the options into a streamtest.Config.
func config(o *options, getenv func(string) string, log *slog.Logger) (streamtest.Config, error) {
	codes, _ := parseCodes(o.statusCodes) // validated by parseFlags
	cfg := streamtest.Config{
		Credentials:       streamtest.CredentialsFromEnv(getenv),
		Once:              !o.loop,
		Rate:              o.rate,
		KeepAlive:         o.keepAlive,
		Resend:            o.resend,
		DisconnectEvery:   o.disconnectEvery,
		DisconnectMessage: o.disconnectMessage,
		StallAfter:        o.stallAfter,
		MalformedEvery:    o.malformedEvery,
		GiantEvery:        o.giantEvery,
		GiantBytes:        o.giantBytes,
		LimitEvery:        o.limitEvery,
		StatusCodes:       codes,
		Logger:            log,
	}
	if o.keepAlive == 0 {
		cfg.KeepAlive = -1 // the flag's "0 disables" is the Config's "negative disables"
	}
	switch {
	case o.generate:
		cfg.Generator = mock.NewGenerator(o.seed)
	case o.corpus != "":
		lines, err := mock.LoadFile(o.corpus)
		if err != nil {
			return cfg, fmt.Errorf("-corpus: %w", err)
		}
		cfg.Lines = lines
	}
	return cfg, nil
}

// server is what each -network serves.
type server interface {
	http.Handler
	Close()
}

// newServer builds the server of -network.
func newServer(o *options, getenv func(string) string, log *slog.Logger) (server, error) {
	switch o.network {
	case "x":
		return xtest.NewServer(xtest.Config{})
	case "bluesky":
		return jetstreamtest.NewServer(jetstreamtest.Config{})
	case "mastodon":
		return mastodontest.NewServer(mastodontest.Config{})
	}
	cfg, err := config(o, getenv, log)
	if err != nil {
		return nil, err
	}
	// Names only: the values, demo or not, never reach the log.
	for _, v := range credentialVars {
		if getenv(v.env) == "" {
			log.Info(v.env + " unset: using the demo value from streamtest." + v.demo)
		}
	}
	return streamtest.NewServer(cfg)
}

// otherNetworks gives, for each fake but Twitter's, the environment that
// points streambot at it.
var otherNetworks = map[string]func(base string) string{
	"x": func(base string) string {
		return "X_API_URL=" + base + " X_BEARER_TOKEN=" + xtest.DemoToken + " streambot -source x"
	},
	"bluesky": func(base string) string { return "JETSTREAM_URL=" + base + " streambot -source bluesky" },
	"mastodon": func(base string) string {
		return "MASTODON_URL=" + base + " MASTODON_TOKEN=" + mastodontest.DemoToken + " streambot -source mastodon"
	},
}

// credentialVars names each credential variable and the demo constant used
// when it is unset.
var credentialVars = []struct{ env, demo string }{
	{streamtest.EnvConsumerKey, "DemoConsumerKey"},
	{streamtest.EnvConsumerSecret, "DemoConsumerSecret"},
	{streamtest.EnvAccessToken, "DemoAccessToken"},
	{streamtest.EnvAccessSecret, "DemoAccessSecret"},
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "mockstream:", err)
		return exitUsage
	}
	log, _ := logflags.New(o.logFormat, o.logLevel, stderr) // validated by parseFlags
	srv, err := newServer(o, getenv, log)
	if err != nil {
		fmt.Fprintln(stderr, "mockstream:", err)
		return exitUsage
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		log.Error("cannot listen", "addr", o.addr, "err", err)
		return exitFailure
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := "http://" + ln.Addr().String()
	if o.network == "twitter" {
		content := "embedded corpus"
		switch {
		case o.generate:
			content = "generated statuses"
		case o.corpus != "":
			content = o.corpus
		}
		log.Info("mockstream listening", "url", base+streamtest.FilterPath, "content", content,
			"rate", o.rate, "loop", o.loop, "hint", "point clients at it with TWITTER_STREAM_URL="+base)
	} else {
		log.Info("mockstream listening", "network", o.network, "url", base, "hint", otherNetworks[o.network](base))
	}

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		log.Error("server stopped", "err", err)
		srv.Close()
		return exitFailure
	case <-ctx.Done():
	}
	log.Info("shutting down: ending all streams")
	srv.Close() // ends streams, stalled ones included, so Shutdown does not wait for them
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("shutdown incomplete", "err", err)
		hs.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		log.Error("server stopped", "err", err)
		return exitFailure
	}
	return exitOK
}
