package config

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEExampleParses keeps the README's configuration example valid.
func TestREADMEExampleParses(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "```yaml\n")
	if start < 0 {
		t.Fatal("README has no yaml example")
	}
	text = text[start+len("```yaml\n"):]
	example := text[:strings.Index(text, "```")]
	f, err := Parse("README.md", []byte(example), func(string) string { return "set" })
	if err != nil {
		t.Fatalf("the README's example does not parse: %v", err)
	}
	if len(f.Routes) != 2 || len(f.Destinations) != 3 || f.Track() != "python,golang generics,rust,rustlang" {
		t.Errorf("parsed %d routes, %d destinations, track %q", len(f.Routes), len(f.Destinations), f.Track())
	}
}
