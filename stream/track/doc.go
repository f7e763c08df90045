// Package track implements Twitter's track-expression semantics: a
// comma-separated list of phrases (OR), each a space-separated list of terms
// (AND), matched case-insensitively against a status's text, hashtags,
// mentioned screen names and URLs.
//
// It is the one definition of "matches" along streambot's flow (source →
// routes → handlers → destinations): the Twitter source validates its track
// parameter with it, the mock stream server filters with it as Twitter
// would, and routes select statuses with it through handlers.Match and
// handlers.Exclude. So a status the server sends is a status the route takes.
//
//	m := track.MustCompile("python,golang generics")
//	m.Match(&stream.Status{Text: "Generics landed in Golang!"}) // true
//
// The rules follow Twitter's statuses/filter documentation:
//   - Punctuation is part of a term ("hello." differs from "hello"), but
//     punctuation at the edges of a word in the text is ignored, so "hello"
//     matches "my brother says hello.".
//   - Hashtags and mentions match through the status's entities, without
//     their '#' or '@'; a #word or @word in the text is not also a plain word.
//   - A URL matches only as a whole: the term must equal the link's domain
//     and path (scheme dropped, "www." canonicalized away).
//   - Unicode matches exactly after lowercasing: "touché" does not match "touche".
//   - Phrases are 1 to 60 bytes; at most 400 phrases per expression.
//
// A [Matcher] is compiled once and is safe for concurrent use. Matching is a
// hash lookup per word of the status, so its cost barely grows with the
// number of phrases, and it does not allocate.
package track
