// Package streamtest is test support for clients of Twitter's v1.1 streaming
// API: a mock statuses/filter server that speaks the real wire protocol, so
// any streaming client (ours, dghubble/go-twitter, a curl one-liner) can be
// tested offline against it.
//
// It fakes the network at the start of streambot's flow (source → routes →
// handlers → destinations): where package mock replaces the source, this
// server sits behind the real twitter.Source, so a test exercises signing,
// HTTP, framing, decoding and reconnects along with the handlers.
//
// The [Server] is an [net/http.Handler] for GET and POST
// /1.1/statuses/filter.json that
//   - verifies OAuth1 HMAC-SHA1 signatures (RFC 5849 §3.4) against the
//     configured [Credentials] and answers 401 when they do not verify;
//   - applies track, follow and language server-side with the same semantics
//     as the bot (package track and the v1.1 decoder of package twitter) and
//     answers 406 without a filter parameter, like Twitter;
//   - frames messages with "\r\n", optionally length-prefixed
//     (delimited=length), with keep-alive blank lines when idle;
//   - serves the embedded corpus, a JSONL file or generated statuses, at a
//     chosen rate, looping or once, resuming server-wide where the previous
//     connection stopped;
//   - injects faults: scripted HTTP statuses, disconnects, stalls, malformed
//     and giant lines, limit notices;
//   - records every request for the test to assert on ([Server.Requests]).
//
// In a test:
//
//	srv, ts := streamtest.NewTestServer(t, streamtest.Config{Rate: 100})
//	creds := streamtest.DemoCredentials()
//	client := oauth1.NewConfig(creds.ConsumerKey, creds.ConsumerSecret).
//		Client(ctx, oauth1.NewToken(creds.AccessToken, creds.AccessSecret))
//	resp, err := client.PostForm(ts.URL+streamtest.FilterPath, url.Values{"track": {"python"}})
//	...
//	if got := srv.Requests(); !got[0].Verified { ... }
//
// or with streambot's own client, as in the example of [NewServer]:
//
//	src, err := twitter.NewSource(twitter.Config{
//		Credentials: twitter.Credentials(streamtest.DemoCredentials()),
//		BaseURL:     ts.URL,
//		Track:       []string{"python"},
//	})
//
// From a shell, cmd/mockstream runs the same server:
//
//	go run ./cmd/mockstream -addr 127.0.0.1:8080 -rate 5
package streamtest
