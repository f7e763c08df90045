package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/streambot/streambot/bot"
	"github.com/streambot/streambot/bot/config"
	"github.com/streambot/streambot/cmd/internal/logflags"
	"github.com/streambot/streambot/handlers"
	"github.com/streambot/streambot/stream/track"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the bot ran and failed (for example rejected credentials)
	exitUsage   = 2 // bad flags or configuration
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// options are the parsed command line.
type options struct {
	configPath    string
	explicit      map[string]bool // flags given on the command line
	source        string
	track         string
	follow        string
	hashtags      string
	locations     string
	langs         string
	dropRetweets  bool
	rate          float64
	mockFile      string
	mockLoop      bool
	jsonl         string
	stdout        bool
	tgPreview     bool
	tgSplit       bool
	stdoutSet     bool
	workers       int
	queueCap      int
	metricsAddr   string
	dataDir       string
	logFormat     string
	logLevel      string
	stallTimeout  time.Duration
	statsInterval time.Duration
	drainTimeout  time.Duration
	cpuProfile    string
}

// fileFlags are the flags a configuration file replaces.
var fileFlags = []string{"source", "track", "follow", "hashtags", "locations", "lang", "drop-retweets", "rate", "mock-file", "mock-loop", "jsonl", "stdout", "stall-timeout", "telegram-preview", "telegram-split"}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("streambot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", "", "YAML file with the source, destinations and routes (see README); replaces the source, route and destination flags")
	fs.StringVar(&o.source, "source", "", "stream to read: "+strings.Join(config.SourceTypes, ", ")+" (default: twitter when all four TWITTER_* credentials are set, else mock)")
	fs.StringVar(&o.track, "track", "python", "track expression: comma = OR, space = AND, as Twitter's statuses/filter")
	fs.StringVar(&o.follow, "follow", "", "comma-separated user IDs whose posts to stream (twitter source)")
	fs.StringVar(&o.hashtags, "hashtags", "", "mastodon source: comma-separated hashtags whose streams to read instead of the public stream")
	fs.StringVar(&o.locations, "locations", "", "bounding boxes as Twitter's locations parameter (twitter source)")
	fs.StringVar(&o.langs, "lang", "", "comma-separated language codes to keep, e.g. en,de (default: all)")
	fs.BoolVar(&o.dropRetweets, "drop-retweets", false, "do not forward retweets")
	fs.Float64Var(&o.rate, "rate", 5, "mock source: messages per second (0 = as fast as possible)")
	fs.StringVar(&o.mockFile, "mock-file", "", "mock source: replay this JSONL file of Twitter v1.1 messages instead of the built-in corpus")
	fs.BoolVar(&o.mockLoop, "mock-loop", true, "mock source: replay forever; false stops after one pass")
	fs.StringVar(&o.jsonl, "jsonl", "", "append each forwarded status as one JSON object per line to this file")
	fs.BoolVar(&o.tgPreview, "telegram-preview", true, "Telegram: let Telegram show a link preview under each message")
	fs.BoolVar(&o.tgSplit, "telegram-split", false, "Telegram: split a text over 4096 characters into several messages instead of truncating it")
	fs.BoolVar(&o.stdout, "stdout", true, "print each forwarded status on standard output (on by default only while no other destination is set)")
	fs.IntVar(&o.workers, "workers", 0, "route-filter workers (default: number of CPUs)")
	fs.IntVar(&o.queueCap, "queue-cap", bot.DefaultQueueCap, "statuses each destination may have queued on disk; beyond it the oldest are dropped (counted and logged)")
	fs.StringVar(&o.metricsAddr, "metrics", "", "serve /metrics, /healthz and /readyz on this address, e.g. :9090 or 127.0.0.1:9090 (default: off)")
	fs.StringVar(&o.dataDir, "data", defaultDataDir(getenv), "directory for state: the outbox of queued statuses and the dedupe window (created when missing)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.DurationVar(&o.stallTimeout, "stall-timeout", 0, "networked sources: reconnect after this long without a byte (default: the source's own, e.g. 90s for twitter)")
	fs.DurationVar(&o.statsInterval, "stats-interval", bot.DefaultStatsInterval, "how often to log a stats line (0 disables)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "diagnostics: write a CPU profile of the whole run to this file (read it with go tool pprof)")
	fs.DurationVar(&o.drainTimeout, "shutdown-timeout", bot.DefaultDrainTimeout, "how long to keep delivering queued statuses after Ctrl-C or SIGTERM; the rest stays queued on disk for the next start")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	o.explicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.explicit[f.Name] = true })
	o.stdoutSet = o.explicit["stdout"]
	if o.configPath != "" {
		for _, name := range fileFlags {
			if o.explicit[name] {
				return nil, fmt.Errorf("-%s cannot be combined with -config: set it in the file", name)
			}
		}
	}

	if o.source == "" {
		o.source = "mock"
		if config.HasTwitterCredentials(getenv) {
			o.source = "twitter"
		}
	}
	switch {
	case !slices.Contains(config.SourceTypes, o.source):
		return nil, fmt.Errorf("-source %q: want %s", o.source, strings.Join(config.SourceTypes, ", "))
	case o.hashtags != "" && o.source != config.SourceMastodon:
		return nil, errors.New("-hashtags is for -source mastodon")
	case (o.follow != "" || o.locations != "") && o.source != config.SourceTwitter:
		return nil, errors.New("-follow and -locations are for -source twitter")
	case o.rate < 0:
		return nil, fmt.Errorf("-rate %v: must not be negative", o.rate)
	case o.workers < 0:
		return nil, fmt.Errorf("-workers %d: must not be negative", o.workers)
	case o.queueCap <= 0:
		return nil, fmt.Errorf("-queue-cap %d: must be positive", o.queueCap)
	case o.stallTimeout < 0:
		return nil, fmt.Errorf("-stall-timeout %v: must not be negative", o.stallTimeout)
	case o.drainTimeout <= 0:
		return nil, fmt.Errorf("-shutdown-timeout %v: must be positive", o.drainTimeout)
	case o.statsInterval < 0:
		return nil, fmt.Errorf("-stats-interval %v: must not be negative", o.statsInterval)
	}
	if o.metricsAddr != "" {
		if _, _, err := net.SplitHostPort(o.metricsAddr); err != nil {
			return nil, fmt.Errorf("-metrics %q: want host:port or :port: %w", o.metricsAddr, err)
		}
	}
	if _, err := logflags.New(o.logFormat, o.logLevel, io.Discard); err != nil {
		return nil, err
	}
	if _, err := track.Compile(o.track); err != nil {
		return nil, fmt.Errorf("-track: %w", err)
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "streambot:", err)
		return exitUsage
	}
	log, _ := logflags.New(o.logFormat, o.logLevel, stderr) // validated by parseFlags
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "streambot: -cpuprofile:", err)
			return exitUsage
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}

	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		log.Error("cannot create the data directory", "dir", o.dataDir, "err", err)
		return exitUsage
	}
	file, err := loadFile(o, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "streambot:", err)
		return exitUsage
	}
	// The mock replays the same posts on every run, so remembering them on
	// disk would only make a second run skip them: its state stays in memory.
	var store *bot.Outbox
	if file.SourceType(getenv) != "mock" {
		if store, err = bot.OpenOutbox(filepath.Join(o.dataDir, "outbox.db")); err != nil {
			log.Error("cannot open the outbox in the data directory", "dir", o.dataDir, "err", err)
			return exitFailure
		}
		defer store.Close()
	} else {
		log.Info("mock source: queues and dedupe are kept in memory only; real sources use the outbox in -data")
	}
	built, err := file.Build(ctx, config.Env{Getenv: getenv, Stdout: stdout, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "streambot:", err)
		if unreachable(err) {
			return exitFailure // the configuration may be right: the network is not
		}
		return exitUsage
	}
	defer built.Close()

	cfg := built.Config
	cfg.Workers = o.workers
	if store != nil { // a nil *Outbox in the interface would not mean "in memory"
		cfg.Store = store
	}
	cfg.QueueCap = o.queueCap
	cfg.MetricsAddr = o.metricsAddr
	cfg.StatsInterval = statsInterval(o.statsInterval)
	cfg.DrainTimeout = o.drainTimeout
	cfg.Logger = log
	b, err := bot.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "streambot:", err)
		return exitUsage
	}
	if err := b.Run(ctx); err != nil {
		log.Error("streambot stopped with an error", "err", err)
		return exitFailure
	}
	return exitOK
}

// loadFile reads -config, or describes the flags as the same structure so
// that both paths build the bot the same way.
func loadFile(o *options, getenv func(string) string) (*config.File, error) {
	if o.configPath != "" {
		return config.Load(o.configPath, getenv)
	}
	langs := splitList(o.langs)
	keepRetweets := !o.dropRetweets
	f := &config.File{
		Path: "flags",
		Source: config.Source{
			Type: o.source, Track: o.track, Follow: splitList(o.follow), Locations: o.locations,
			Hashtags:  splitList(o.hashtags),
			Languages: langs, Rate: &o.rate, File: o.mockFile, Once: !o.mockLoop,
			StallTimeout: o.stallTimeout,
		},
	}
	if o.jsonl != "" {
		f.Destinations = append(f.Destinations, config.Destination{Name: "jsonl", Type: config.TypeJSONL, Path: o.jsonl})
	}
	token, chats := getenv("TELEGRAM_BOT_TOKEN"), splitList(getenv("TELEGRAM_CHAT_ID"))
	switch {
	case token != "" && len(chats) > 0:
		f.Destinations = append(f.Destinations, config.Destination{
			Name: "telegram", Type: config.TypeTelegram, Token: token, Chats: chats,
			DisablePreview: !o.tgPreview, Split: o.tgSplit,
		})
	case token != "":
		return nil, errors.New("TELEGRAM_BOT_TOKEN is set but TELEGRAM_CHAT_ID is not: set the chat id(s) or @channel(s) to send to")
	case len(chats) > 0:
		return nil, errors.New("TELEGRAM_CHAT_ID is set but TELEGRAM_BOT_TOKEN is not: set the token from @BotFather")
	}
	// The console is on by default only while nothing else is configured.
	if o.stdout && (o.stdoutSet || len(f.Destinations) == 0) {
		f.Destinations = append(f.Destinations, config.Destination{Name: "stdout", Type: config.TypeStdout})
	}
	if len(f.Destinations) == 0 {
		return nil, errors.New("no destination: enable -stdout or set -jsonl")
	}
	route := config.Route{Track: o.track, Languages: langs, Retweets: &keepRetweets}
	for _, d := range f.Destinations {
		route.Destinations = append(route.Destinations, d.Name)
	}
	f.Routes = []config.Route{route}
	return f, nil
}

// unreachable reports whether err is a destination's retryable delivery
// failure (network error, 5xx), as opposed to a mistake in the setup.
func unreachable(err error) bool {
	var de *handlers.DeliveryError
	return errors.As(err, &de) && handlers.IsRetryable(err)
}

// statsInterval maps the flag's "0 disables" onto bot.Config's "negative disables".
func statsInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// defaultDataDir is $XDG_STATE_HOME/streambot, else ~/.local/state/streambot,
// else a directory under the system's temporary directory.
func defaultDataDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "streambot")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "streambot")
	}
	return filepath.Join(os.TempDir(), "streambot")
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
