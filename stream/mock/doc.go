// Package mock is the built-in, credential-free source: it replays Twitter
// v1.1 messages (an embedded corpus of realistic statuses, or a JSONL file)
// through the same decoder the Twitter source uses, at a configurable rate,
// looping by default.
//
// A mock [Source] stands in for the Twitter source at the start of
// streambot's flow (source → routes → handlers → destinations) wherever a
// stream.Source is accepted, so the program you run against Twitter, with
// mock.New in place of twitter.NewSource, is the offline test of its routes
// and handlers. With Once and your own Lines the stream is finite and
// deterministic:
//
//	src := mock.New(mock.Config{Once: true, Lines: [][]byte{
//		[]byte(`{"id_str":"1","text":"Python 3.13 is out","user":{"screen_name":"ana"}}`),
//	}})
//	b, err := bot.New(bot.Config{Source: src, ...}) // Run returns after the last line
//
// The mock does not filter: routes (handlers.Match) decide what matches. To
// test the network side as well (OAuth, HTTP, framing, server-side
// filtering, reconnects), point the real Twitter source at the mock server
// of package streamtest instead.
//
// It also holds the data of the mock stream server in package streamtest:
// the embedded corpus and a deterministic generator of realistic statuses.
package mock
