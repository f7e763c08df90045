// Package mock is the built-in, credential-free source: it replays Twitter
// v1.1 messages (an embedded corpus of realistic statuses, or a JSONL file)
// through the same decoder the Twitter source uses, at a configurable rate,
// looping by default.
//
// It also holds the data of the mock stream server in package streamtest:
// the embedded corpus and a deterministic generator of realistic statuses.
package mock
