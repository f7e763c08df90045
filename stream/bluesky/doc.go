// Package bluesky streams Bluesky posts from a Jetstream server
// (https://github.com/bluesky-social/jetstream): the network's firehose as
// JSON over a WebSocket, free and without credentials.
//
// The [Source] is a stream.Source, the first stage of streambot's flow
// (source → routes → handlers → destinations):
//
//	src, err := bluesky.NewSource(bluesky.Config{
//		URL: os.Getenv(bluesky.EnvURL), // JETSTREAM_URL; empty means DefaultURL
//	})
//	...
//	b, err := bot.New(bot.Config{Source: src, Store: outbox, ...})
//
// It subscribes to {URL}/subscribe?wantedCollections=app.bsky.feed.post and
// maps every created post to a stream.Status: the ID is the post's AT URI
// (at://did/app.bsky.feed.post/rkey), the author's ScreenName its handle
// when an identity message announced it (else its DID: the source never
// looks anything up), hashtags, mentions and links come from the post's
// facets, whose byte offsets are checked rather than trusted. A deleted post
// becomes a KindDelete event; edits are ignored. Jetstream filters nothing
// but collections, so routes match the text locally.
//
// Jetstream's cursor is a time: unix microseconds. Every emitted event
// carries the time of the newest message read as its Cursor. The Source is
// a stream.Resumer: package bot hands back, through Committed, the cursors
// of the events it has made durable and, through Resume, the one a previous
// run committed. Every connection starts from the committed cursor minus
// Config.Rewind (5 s), never from the last message read, so a reconnect or
// a restart re-reads a little and loses nothing; the bot drops what it has
// already seen by ID.
//
// The source reconnects (1 s doubling to a minute, reset by a connection
// that delivers), closes a connection that stays silent for 30 s, skips
// malformed messages with a rate-limited warning, and skips a message
// larger than Config.MaxMessageBytes (1 MiB) by resuming just past it. It
// returns only when its context ends or emit fails: an HTTP error on the
// WebSocket upgrade is retried forever and logged as an error after a few
// attempts, since nothing but a malformed URL ([ErrInvalidConfig], from
// NewSource) needs a person.
//
// Package jetstreamtest is a fake Jetstream server for tests.
package bluesky
