package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const example = `# streambot example
source:
  type: twitter
  follow: ["783214"]
destinations:
  - name: tg
    type: telegram
    token: ${TELEGRAM_BOT_TOKEN}
    chats: ["-1001234567890", "@python_news"]
  - name: archive
    type: jsonl
    path: ./matches.jsonl
routes:
  - name: python
    track: python,golang generics
    exclude: snake
    languages: [en, de]
    retweets: false
    destinations: [tg, archive]
  - name: all-go
    track: golang
    destinations: [archive]
`

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseExample(t *testing.T) {
	t.Parallel()
	f, err := Parse("streambot.yaml", []byte(example), env(map[string]string{"TELEGRAM_BOT_TOKEN": "123:abc"}))
	if err != nil {
		t.Fatal(err)
	}
	if f.Source.Type != "twitter" || len(f.Source.Follow) != 1 || f.Source.Line != 3 {
		t.Errorf("source = %+v", f.Source)
	}
	tg := f.Destinations[0]
	if tg.Token != "123:abc" || len(tg.Chats) != 2 || tg.Chats[0] != "-1001234567890" || tg.Line != 6 {
		t.Errorf("telegram destination = %+v", tg)
	}
	r := f.Routes[0]
	if r.Track != "python,golang generics" || r.Exclude != "snake" || r.Retweets == nil || *r.Retweets || r.Replies != nil || r.Line != 14 {
		t.Errorf("route = %+v", r)
	}
	if f.Routes[1].Line != 20 {
		t.Errorf("second route line = %d", f.Routes[1].Line)
	}
}

func TestErrorsNameFileLineAndField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"unset variable", example, "streambot.yaml:8: environment variable TELEGRAM_BOT_TOKEN is not set"},
		{"unknown field", strings.Replace(example, "    path: ./matches.jsonl", "    pth: ./matches.jsonl", 1), `streambot.yaml: line 12: unknown field "destination.pth"`},
		{"unknown destination", strings.Replace(example, "[archive]", "[archiv]", 1), `streambot.yaml:20: routes[1] (all-go).destinations: "archiv" is not defined`},
		{"bad track", strings.Replace(example, "track: golang\n", "track: \"\"\n", 1), "streambot.yaml:20: routes[1] (all-go).track: track: empty expression"},
		{"bad type", strings.Replace(example, "type: jsonl", "type: jsnl", 1), `streambot.yaml:10: destinations[1] (archive).type "jsnl"`},
		{"missing path", strings.Replace(example, "    path: ./matches.jsonl\n", "", 1), "streambot.yaml:10: destinations[1] (archive).path: required"},
		{"bad source", strings.Replace(example, "type: twitter", "type: myspace", 1), `streambot.yaml:3: source.type "myspace"`},
		{"wrong type of value", strings.Replace(example, "retweets: false", "retweets: [1]", 1), "line 18: cannot unmarshal"},
		{"not yaml", "routes: [", "streambot.yaml: yaml"},
		{"empty", "", "the file is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"TELEGRAM_BOT_TOKEN": "123:abc"}
			if tc.name == "unset variable" {
				vars = nil
			}
			_, err := Parse("streambot.yaml", []byte(tc.yaml), env(vars))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestExpandedSecretIsNotInErrors(t *testing.T) {
	t.Parallel()
	bad := strings.Replace(example, "type: jsonl", "type: jsnl", 1)
	_, err := Parse("x.yaml", []byte(bad), env(map[string]string{"TELEGRAM_BOT_TOKEN": "SECRET-TOKEN-42"}))
	if err == nil || strings.Contains(err.Error(), "SECRET-TOKEN-42") {
		t.Errorf("error = %v: want an error without the token", err)
	}
}

// A ${SECRET} in a field of the wrong type: the YAML library would quote
// the value; the error shows the placeholder instead.
func TestTypeErrorDoesNotQuoteAnExpandedSecret(t *testing.T) {
	t.Parallel()
	bad := strings.Replace(example, "    chats: [\"-1001234567890\", \"@python_news\"]", "    chats: [\"-1001234567890\"]\n    split: ${TELEGRAM_BOT_TOKEN}", 1)
	_, err := Parse("x.yaml", []byte(bad), env(map[string]string{"TELEGRAM_BOT_TOKEN": "SECRET-TOKEN-42"}))
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "${TELEG") {
		t.Errorf("error = %v: want the placeholder, not the token", err)
	}
}

func TestLoadReadsAFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("destinations: [{name: out, type: stdout}]\nroutes: [{name: r, track: python, destinations: [out]}]\n"), 0o600)
	f, err := Load(path, env(nil))
	if err != nil || f.Path != path || len(f.Routes) != 1 {
		t.Errorf("Load = %+v, %v", f, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestPrintingTheConfigHidesSecrets(t *testing.T) {
	t.Parallel()
	f, err := Parse("x.yaml", []byte(strings.Replace(example, "routes:", "  - name: hook\n    type: webhook\n    url: https://hooks.example/T0/SECRET-HOOK-7\nroutes:", 1)),
		env(map[string]string{"TELEGRAM_BOT_TOKEN": "SECRET-TOKEN-42"}))
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "destination", f.Destinations[0], "hook", f.Destinations[2])
	for _, text := range []string{
		fmt.Sprint(f), fmt.Sprintf("%+v", f), fmt.Sprintf("%#v", f), fmt.Sprintf("%+v", *f),
		fmt.Sprint(f.Destinations), fmt.Sprintf("%#v", f.Destinations[2]), logs.String(),
	} {
		if strings.Contains(text, "SECRET") {
			t.Errorf("printed a secret: %s", text)
		}
		if !strings.Contains(text, "tg") && !strings.Contains(text, "hook") {
			t.Errorf("printed nothing useful: %s", text)
		}
	}
}

func TestRawDestinationOption(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	yaml := fmt.Sprintf(`source:
  type: mock
destinations:
  - name: archive
    type: jsonl
    path: %s
    raw: true
  - name: plain
    type: jsonl
    path: %s
routes:
  - name: python
    track: python
    destinations: [archive, plain]
`, filepath.Join(dir, "raw.jsonl"), filepath.Join(dir, "plain.jsonl"))
	f, err := Parse("streambot.yaml", []byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Build(t.Context(), Env{Getenv: env(nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if d := b.Config.Destinations; len(d) != 2 || !d[0].Raw || d[1].Raw {
		t.Errorf("destinations = %+v, want raw only on archive", d)
	}
}
