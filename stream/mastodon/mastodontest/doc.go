// Package mastodontest is test support for clients of Mastodon's streaming
// API: a fake instance that speaks the real wire protocol (instance
// discovery, bearer tokens, server-sent events with Mastodon's framing,
// greeting and heartbeats), so any streaming client — streambot's
// mastodon.Source, another library, curl — can be tested offline.
//
// It fakes the network at the start of streambot's flow (source → routes →
// handlers → destinations): the real mastodon.Source talks to it over
// loopback HTTP, so a test exercises discovery, authentication, framing,
// decoding and reconnects along with the handlers.
//
// The [Server]
//   - serves /api/v2/instance (configuration.urls.streaming) and
//     /api/v1/instance (urls.streaming_api), announcing a ws:// URL of
//     itself or of a second loopback server (Config.SeparateStreamingHost),
//     or neither (Config.NoInstanceV2, Config.NoInstanceV1);
//   - serves /api/v1/streaming/health ("OK") and the public, public/local,
//     hashtag and hashtag/local streams, after checking the bearer token
//     (401 {"error":"Invalid access token"} otherwise) and the tag (400);
//   - writes "event:"/"data:" frames (optionally multi-line data and CRLF
//     line ends), Mastodon's ":)" greeting and ":thump" heartbeats;
//   - plays a script of events ([Update], [Edit], [Delete], or any [Event])
//     or the embedded [Corpus], routed per stream as Mastodon routes them,
//     each stream resuming server-wide where its previous connection
//     stopped;
//   - injects faults: scripted HTTP statuses (with Retry-After), streams
//     that close after a number of events, stalls;
//   - records every request, never the token ([Server.Requests]).
//
// It does not cover the WebSocket transport, the user, list and direct
// streams, the media-only variants, access without a token (refused, as
// Mastodon 4.2+ does), redirects from the instance's /api/v1/streaming to
// the streaming host, or rate limits beyond scripted 429s.
//
// In a test:
//
//	srv, ts := mastodontest.NewTestServer(t, mastodontest.Config{CloseAfter: 5})
//	src, err := mastodon.NewSource(mastodon.Config{
//		InstanceURL: ts.URL,
//		Token:       mastodontest.DemoToken,
//	})
//	...
//	if got := srv.Requests(); ... { ... }
package mastodontest
