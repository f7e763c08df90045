package config

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/streambot/streambot/stream/track"
	"github.com/streambot/streambot/stream/x"
)

func TestRuleFromTrack(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		"python":                      "python",
		"python,golang generics":      "python OR (golang generics)",
		"#golang, @gopher":            "#golang OR @gopher",
		"-negative, or, a:b, \"quo\"": `"-negative" OR "or" OR "a:b" OR "\"quo\""`,
	} {
		if got := RuleFromTrack(track.MustCompile(expr)); got != want {
			t.Errorf("RuleFromTrack(%q) = %s, want %s", expr, got, want)
		}
	}
}

const xConfig = `source:
  type: x
destinations:
  - {name: out, type: stdout}
routes:
  - name: python
    track: python,django
    destinations: [out]
  - name: go
    rule: "golang OR #go -is:retweet" # quoted: YAML reads " #" as a comment
    destinations: [out]
`

func TestXRoutesBecomeTaggedRules(t *testing.T) {
	t.Parallel()
	f, err := Parse("x.yaml", []byte(xConfig), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []x.Rule{{Value: "python OR django", Tag: "python"}, {Value: "golang OR #go -is:retweet", Tag: "go"}}
	if got := f.XRules(); !slices.Equal(got, want) {
		t.Errorf("XRules = %v, want %v", got, want)
	}
	// Build needs the token and creates the source without connecting.
	if _, err := f.Build(context.Background(), Env{Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), "X_BEARER_TOKEN") {
		t.Errorf("Build without X_BEARER_TOKEN: %v, want an error naming it", err)
	}
	b, err := f.Build(context.Background(), Env{Getenv: env(map[string]string{"X_BEARER_TOKEN": "AAAA-token"})})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := b.Config.Source.Name(); got != "x" {
		t.Errorf("source %q, want x", got)
	}
}

func TestSourceTypesBuild(t *testing.T) {
	t.Parallel()
	vars := env(map[string]string{"MASTODON_URL": "https://mastodon.example", "MASTODON_TOKEN": "tok"})
	for typ, extra := range map[string]string{
		"bluesky":  "",
		"mastodon": "  hashtags: [python]\n",
		"mock":     "",
	} {
		yaml := "source:\n  type: " + typ + "\n" + extra + "destinations: [{name: out, type: stdout}]\nroutes: [{name: r, track: python, destinations: [out]}]\n"
		f, err := Parse("s.yaml", []byte(yaml), vars)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		b, err := f.Build(context.Background(), Env{Getenv: vars})
		if err != nil {
			t.Fatalf("%s: Build: %v", typ, err)
		}
		if got := b.Config.Source.Name(); got != typ {
			t.Errorf("type %s built source %q", typ, got)
		}
		b.Close()
	}
}

func TestSourceOnlyFieldsAreChecked(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ yaml, want string }{
		"rule outside x":            {strings.Replace(xConfig, "type: x", "type: bluesky", 1), "routes[1] (go).rule: only for source type x"},
		"hashtags outside mastodon": {strings.Replace(xConfig, "type: x", "type: x\n  hashtags: [go]", 1), "source.hashtags: only for type mastodon"},
		"unknown type":              {strings.Replace(xConfig, "type: x", "type: myspace", 1), "want mock, twitter, x, bluesky, mastodon"},
	} {
		if _, err := Parse("x.yaml", []byte(tc.yaml), env(nil)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", name, err, tc.want)
		}
	}
}
