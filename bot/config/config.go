package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/streambot/streambot/stream/track"
)

// File is a parsed configuration file.
type File struct {
	// Path is where the file was read from, for error messages.
	Path         string        `yaml:"-"`
	Source       Source        `yaml:"source"`
	Destinations []Destination `yaml:"destinations"`
	Routes       []Route       `yaml:"routes"`
}

// Source configures where statuses come from.
type Source struct {
	// Type is mock, twitter, x, bluesky or mastodon; empty picks twitter
	// when the four TWITTER_* credentials are set, else mock, as the flags do.
	Type string `yaml:"type"`
	// Track overrides the expression sent to the stream (twitter); empty
	// means the union of the routes' track expressions.
	Track string `yaml:"track"`
	// Follow lists user IDs to stream (twitter).
	Follow []string `yaml:"follow"`
	// Locations is Twitter's locations parameter (twitter).
	Locations string `yaml:"locations"`
	// Languages is sent as the stream's language filter (twitter).
	Languages []string `yaml:"languages"`
	// URL overrides the network's endpoint: TWITTER_STREAM_URL, X_API_URL,
	// JETSTREAM_URL or MASTODON_URL (the instance) by source type.
	URL string `yaml:"url"`
	// Hashtags reads these hashtag streams instead of the public stream
	// (mastodon).
	Hashtags []string `yaml:"hashtags"`
	// Local reads the instance's local public stream only (mastodon).
	Local bool `yaml:"local"`
	// Rate is messages per second (mock).
	Rate *float64 `yaml:"rate"`
	// File replays a JSONL file instead of the built-in corpus (mock).
	File string `yaml:"file"`
	// Once replays the mock's messages a single time instead of looping (mock).
	Once bool `yaml:"once"`
	// StallTimeout reconnects after this long without a byte (networked
	// sources; each has its own default).
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// Line is where the source is defined in the file, for messages.
	Line int `yaml:"-"`
}

// Destination configures one place statuses are delivered to.
type Destination struct {
	// Name is how routes refer to the destination.
	Name string `yaml:"name"`
	// Type is stdout, jsonl, telegram or webhook.
	Type string `yaml:"type"`

	// Path is the file of a jsonl destination.
	Path string `yaml:"path"`

	// Token, Chats, APIURL, DisablePreview and Split configure telegram.
	Token          string   `yaml:"token"`
	Chats          []string `yaml:"chats"`
	APIURL         string   `yaml:"api_url"`
	DisablePreview bool     `yaml:"disable_preview"`
	Split          bool     `yaml:"split"`

	// URL and Format configure webhook (format: json, slack or discord).
	URL    string `yaml:"url"`
	Format string `yaml:"format"`

	// Template replaces the destination's default message text (telegram,
	// webhook): a Go text/template over the status.
	Template string `yaml:"template"`
	// QueueCap bounds the statuses queued for this destination; the oldest
	// are dropped beyond it (0: the -queue-cap default).
	QueueCap int `yaml:"queue_cap"`
	// Raw hands the destination each status's original payload
	// (Status.Raw; the jsonl destination writes it as "raw"). Off, the log
	// does not store payloads.
	Raw bool `yaml:"raw"`

	// Line is where the destination is defined in the file, for messages.
	Line int `yaml:"-"`
}

// String shows d with its telegram token and webhook URL redacted, so that
// fmt output of a Destination (or of a File) never carries a secret.
func (d Destination) String() string {
	type plain Destination // without methods, so Sprintf does not recurse
	if d.Token != "" {
		d.Token = redacted
	}
	if d.URL != "" {
		d.URL = redacted
	}
	return fmt.Sprintf("%+v", plain(d))
}

// GoString is String, so %#v does not reveal the secrets either.
func (d Destination) GoString() string { return d.String() }

// LogValue keeps the secrets out of slog output.
func (d Destination) LogValue() slog.Value { return slog.StringValue(d.String()) }

// redacted replaces a secret in String.
const redacted = "<redacted>"

// Route sends the statuses a track expression matches to destinations.
type Route struct {
	// Name identifies the route in logs and output ("matched").
	Name string `yaml:"name"`
	// Track is a track expression: comma = OR, space = AND.
	Track string `yaml:"track"`
	// Rule is the route's X API v2 filtered-stream rule (x); empty means
	// one made from Track.
	Rule string `yaml:"rule"`
	// Exclude drops statuses that match this track expression.
	Exclude string `yaml:"exclude"`
	// Languages keeps only statuses in these languages; empty keeps all.
	Languages []string `yaml:"languages"`
	// Retweets and Replies include (default) or exclude them.
	Retweets *bool `yaml:"retweets"`
	Replies  *bool `yaml:"replies"`
	// Template replaces the message text for this route at destinations
	// that support templates (telegram).
	Template string `yaml:"template"`
	// Destinations names where the route's statuses go.
	Destinations []string `yaml:"destinations"`

	// Line is where the route is defined in the file, for messages.
	Line int `yaml:"-"`
}

// Source types.
const (
	SourceMock     = "mock"
	SourceTwitter  = "twitter"
	SourceX        = "x"
	SourceBluesky  = "bluesky"
	SourceMastodon = "mastodon"
)

// SourceTypes lists the source types, for messages and flag help.
var SourceTypes = []string{SourceMock, SourceTwitter, SourceX, SourceBluesky, SourceMastodon}

// Destination types.
const (
	TypeStdout   = "stdout"
	TypeJSONL    = "jsonl"
	TypeTelegram = "telegram"
	TypeWebhook  = "webhook"
)

// Load reads, expands and validates the file at path. getenv resolves
// ${NAME} references (os.Getenv when nil).
func Load(path string, getenv func(string) string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, getenv)
}

// Parse is Load for a file already in memory; path is used in messages.
func Parse(path string, data []byte, getenv func(string) string) (*File, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("config: %s: the file is empty", path)
	}
	if err := expand(&root, getenv); err != nil {
		return nil, fmt.Errorf("config: %s:%w", path, err)
	}
	f := &File{Path: path}
	if err := decode(root.Content[0], f); err != nil {
		// The YAML library quotes the offending value, which may have come
		// from a ${SECRET}: report the error of the file as written instead.
		var raw yaml.Node
		err = errors.New("a value from the environment has the wrong type for its field")
		if yaml.Unmarshal(data, &raw) == nil {
			if rawErr := decode(raw.Content[0], &File{}); rawErr != nil {
				err = rawErr
			}
		}
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// decode decodes n into f, rejecting unknown fields, and records the line
// of the source, every destination and every route.
func decode(n *yaml.Node, f *File) error {
	if line, field, ok := unknownField(n); ok {
		return fmt.Errorf("line %d: unknown field %q", line, field)
	}
	if err := n.Decode(f); err != nil {
		return err
	}
	for key, val := range pairs(n) {
		switch key.Value {
		case "source":
			f.Source.Line = val.Line
		case "destinations":
			for i, d := range val.Content {
				if i < len(f.Destinations) {
					f.Destinations[i].Line = d.Line
				}
			}
		case "routes":
			for i, r := range val.Content {
				if i < len(f.Routes) {
					f.Routes[i].Line = r.Line
				}
			}
		}
	}
	return nil
}

// pairs iterates over the key/value nodes of a mapping node.
func pairs(n *yaml.Node) func(func(*yaml.Node, *yaml.Node) bool) {
	return func(yield func(*yaml.Node, *yaml.Node) bool) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

// known lists the fields allowed at each level.
var known = map[string][]string{
	"":            {"source", "destinations", "routes"},
	"source":      {"type", "track", "follow", "locations", "languages", "url", "hashtags", "local", "rate", "file", "once", "stall_timeout"},
	"destination": {"name", "type", "path", "token", "chats", "api_url", "disable_preview", "split", "url", "format", "template", "queue_cap", "raw"},
	"route":       {"name", "track", "rule", "exclude", "languages", "retweets", "replies", "template", "destinations"},
}

// unknownField finds the first key not in known, with its line.
func unknownField(root *yaml.Node) (int, string, bool) {
	check := func(n *yaml.Node, level string) (int, string, bool) {
		for k := range pairs(n) {
			if !slices.Contains(known[level], k.Value) {
				name := k.Value
				if level != "" {
					name = level + "." + name
				}
				return k.Line, name, true
			}
		}
		return 0, "", false
	}
	if l, f, ok := check(root, ""); ok {
		return l, f, ok
	}
	for k, v := range pairs(root) {
		switch k.Value {
		case "source":
			if l, f, ok := check(v, "source"); ok {
				return l, f, ok
			}
		case "destinations", "routes":
			level := strings.TrimSuffix(k.Value, "s")
			for _, item := range v.Content {
				if l, f, ok := check(item, level); ok {
					return l, f, ok
				}
			}
		}
	}
	return 0, "", false
}

// expand replaces ${NAME} in every scalar value.
func expand(n *yaml.Node, getenv func(string) string) error {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		var missing []string
		n.Value = os.Expand(n.Value, func(name string) string {
			v := getenv(name)
			if v == "" {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			return fmt.Errorf("%d: environment variable %s is not set", n.Line, strings.Join(missing, ", "))
		}
		n.Tag = "" // let the expanded value take its natural type
		n.Style = 0
	}
	for _, c := range n.Content {
		if err := expand(c, getenv); err != nil {
			return err
		}
	}
	return nil
}

// at names a place in the file for an error: "path:line", or just the path
// when there is no line (a File built from flags).
func (f *File) at(line int) string {
	if line <= 0 {
		return f.Path
	}
	return fmt.Sprintf("%s:%d", f.Path, line)
}

// validate checks the meaning of the file, naming the line and field of
// the first problem.
func (f *File) validate() error {
	errf := func(line int, format string, args ...any) error {
		return fmt.Errorf("config: %s: %s", f.at(line), fmt.Sprintf(format, args...))
	}
	if !slices.Contains(SourceTypes, f.Source.Type) && f.Source.Type != "" {
		return errf(f.Source.Line, "source.type %q: want %s", f.Source.Type, strings.Join(SourceTypes, ", "))
	}
	if len(f.Source.Hashtags) > 0 && f.Source.Type != SourceMastodon {
		return errf(f.Source.Line, "source.hashtags: only for type mastodon")
	}
	if f.Source.Track != "" {
		if _, err := track.Compile(f.Source.Track); err != nil {
			return errf(f.Source.Line, "source.track: %v", err)
		}
	}
	if len(f.Destinations) == 0 {
		return errf(1, "destinations: at least one destination is required")
	}
	names := map[string]bool{}
	for i, d := range f.Destinations {
		field := fmt.Sprintf("destinations[%d]", i)
		if d.Name == "" {
			return errf(d.Line, "%s.name: required", field)
		}
		if names[d.Name] {
			return errf(d.Line, "%s.name: %q is used twice", field, d.Name)
		}
		names[d.Name] = true
		switch d.Type {
		case TypeStdout:
		case TypeJSONL:
			if d.Path == "" {
				return errf(d.Line, "%s (%s).path: required for a jsonl destination", field, d.Name)
			}
		case TypeTelegram:
			if d.Token == "" {
				return errf(d.Line, "%s (%s).token: required for telegram (use ${TELEGRAM_BOT_TOKEN})", field, d.Name)
			}
			if len(d.Chats) == 0 {
				return errf(d.Line, "%s (%s).chats: at least one chat id or @channel is required", field, d.Name)
			}
		case TypeWebhook:
			if d.URL == "" {
				return errf(d.Line, "%s (%s).url: required for a webhook", field, d.Name)
			}
			switch d.Format {
			case "", "json", "slack", "discord":
			default:
				return errf(d.Line, "%s (%s).format %q: want json, slack or discord", field, d.Name, d.Format)
			}
		default:
			return errf(d.Line, "%s (%s).type %q: want stdout, jsonl, telegram or webhook", field, d.Name, d.Type)
		}
		if d.QueueCap < 0 {
			return errf(d.Line, "%s (%s).queue_cap: must not be negative", field, d.Name)
		}
	}
	if len(f.Routes) == 0 {
		return errf(1, "routes: at least one route is required")
	}
	routeNames := map[string]bool{}
	for i, r := range f.Routes {
		field := fmt.Sprintf("routes[%d]", i)
		if r.Name == "" {
			return errf(r.Line, "%s.name: required", field)
		}
		if routeNames[r.Name] {
			return errf(r.Line, "%s.name: %q is used twice", field, r.Name)
		}
		routeNames[r.Name] = true
		switch {
		case r.Rule != "" && f.Source.Type != SourceX:
			return errf(r.Line, "%s (%s).rule: only for source type x (other sources match track locally)", field, r.Name)
		case r.Rule != "" && r.Track == "":
			// X filters on the server; nothing to match locally.
		default:
			if _, err := track.Compile(r.Track); err != nil {
				return errf(r.Line, "%s (%s).track: %v", field, r.Name, err)
			}
		}
		if r.Exclude != "" {
			if _, err := track.Compile(r.Exclude); err != nil {
				return errf(r.Line, "%s (%s).exclude: %v", field, r.Name, err)
			}
		}
		if len(r.Destinations) == 0 {
			return errf(r.Line, "%s (%s).destinations: at least one is required", field, r.Name)
		}
		for _, d := range r.Destinations {
			if !names[d] {
				return errf(r.Line, "%s (%s).destinations: %q is not defined under destinations", field, r.Name, d)
			}
		}
	}
	return nil
}
