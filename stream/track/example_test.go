package track_test

import (
	"fmt"
	"strings"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/track"
)

// Compile rejects what Twitter would reject, so a bad expression fails at
// start-up rather than on the wire.
func ExampleCompile() {
	m, err := track.Compile("python, golang generics")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", m.Phrases())

	_, err = track.Compile(" , ")
	fmt.Println(err)
	_, err = track.Compile(strings.Repeat("x", 61))
	fmt.Println(err != nil)
	// Output:
	// ["python" "golang generics"]
	// track: empty expression
	// true
}

// A comma separates alternatives (OR), a space separates terms that must
// all appear (AND, in any order); case does not matter, punctuation at the
// edges of a word is ignored, and hashtags match through the status's
// entities. Matching is by whole words, not by meaning: "pythonic" is another
// word, and a ball python is a python.
func ExampleMatcher_Match() {
	m := track.MustCompile("python,golang generics")
	for _, s := range []*stream.Status{
		{Text: "Python 3.13 is out!"},
		{Text: "Generics landed in Golang"},
		{Text: "golang is fun"},
		{Text: "learning #python", Hashtags: []string{"python"}},
		{Text: "a ball python shed its skin"},
		{Text: "pythonic code"},
	} {
		fmt.Printf("%-31q %v\n", s.Text, m.Match(s))
	}
	// Output:
	// "Python 3.13 is out!"           true
	// "Generics landed in Golang"     true
	// "golang is fun"                 false
	// "learning #python"              true
	// "a ball python shed its skin"   true
	// "pythonic code"                 false
}

// AppendMatches tells which phrases selected a status, in expression order.
func ExampleMatcher_AppendMatches() {
	m := track.MustCompile("python,golang,rust")
	s := &stream.Status{Text: "Calling Rust from Python, then Go"}
	fmt.Println(m.AppendMatches(nil, s))
	// Output: [python rust]
}
