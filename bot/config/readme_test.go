package config

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEExamplesParse keeps the README's configuration examples valid.
func TestREADMEExamplesParse(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(readme), "```yaml\n")[1:]
	if len(blocks) < 2 {
		t.Fatalf("README has %d yaml examples, want the config file's and the X rule's", len(blocks))
	}
	full := false
	for i, b := range blocks {
		example := b[:strings.Index(b, "```")]
		f, err := Parse("README.md", []byte(example), func(string) string { return "set" })
		if err != nil {
			t.Fatalf("the README's yaml example %d does not parse: %v", i+1, err)
		}
		if !strings.Contains(example, "name: rust") {
			continue
		}
		full = true
		if len(f.Routes) != 2 || len(f.Destinations) != 3 || f.Track() != "python,golang generics,rust,rustlang" {
			t.Errorf("config file example: parsed %d routes, %d destinations, track %q", len(f.Routes), len(f.Destinations), f.Track())
		}
	}
	if !full {
		t.Error("the configuration file example (routes python and rust) is missing")
	}
}
