// Command streambot watches a social-media stream for keywords and forwards
// matching posts to the console, a JSONL file, Telegram chats and webhooks.
//
// It runs streambot's flow — source → routes → handlers → destinations — as
// configured by flags, environment variables or a YAML file (-config, see
// package bot/config), and does nothing a library user cannot: it builds a
// bot.Config from packages stream, handlers and bot/config, and calls
// bot.New and Bot.Run until Ctrl-C or SIGTERM.
//
// With no flags and no credentials it runs on the built-in mock stream,
// tracking "python":
//
//	streambot                                  # mock stream, print matches
//	streambot -track 'python,golang generics'  # Twitter's track syntax
//	streambot -config streambot.yaml           # routes and destinations from a file
//	streambot -source bluesky                  # Bluesky's public Jetstream, no credentials
//	streambot -source x                        # X API v2 filtered stream (X_BEARER_TOKEN)
//	streambot -source mastodon                 # MASTODON_URL and MASTODON_TOKEN
//
// With the four TWITTER_* credentials set it reads the Twitter v1.1 filter
// stream (or a compatible server at TWITTER_STREAM_URL). See README.md for
// every flag and environment variable, and `streambot -h` for the flags.
package main
