// Command mockstream runs a mock of Twitter's v1.1 statuses/filter
// streaming endpoint (package streamtest) for testing any streaming client
// offline:
//
//	go run ./cmd/mockstream -addr 127.0.0.1:8080 -rate 5
//	TWITTER_STREAM_URL=http://127.0.0.1:8080 streambot -source twitter
//
// It stands at the very start of streambot's flow (source → routes →
// handlers → destinations): the real Twitter source connects to it as it
// would to Twitter, so the whole bot runs end to end without a network.
//
// With -network x, bluesky or mastodon it serves that network's fake
// instead (packages xtest, jetstreamtest, mastodontest) with its embedded
// corpus, and logs the variables that point streambot at it:
//
//	go run ./cmd/mockstream -network bluesky
//	JETSTREAM_URL=http://127.0.0.1:8080 streambot -source bluesky
//
// For Twitter, clients sign with the four TWITTER_* credentials of the environment; each
// variable that is unset falls back to a public demo value
// (streamtest.DemoConsumerKey, ...), so a client with no credentials set
// works against a server with none set. Each connection is logged to stderr.
// Ctrl-C or SIGTERM ends all streams and stops the server.
package main
