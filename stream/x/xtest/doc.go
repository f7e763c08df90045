// Package xtest is test support for clients of the X API v2 filtered
// stream: a fake server that speaks the real wire protocol, so a client
// (package x's Source, curl, another library) can be tested offline.
//
// It fakes the network at the start of streambot's flow (source → routes →
// handlers → destinations): the real x.Source talks to it, so a test
// exercises the rule sync, HTTP, framing, decoding and reconnects along
// with the bot and its handlers.
//
// The [Server] is an [net/http.Handler] for
//   - GET /2/tweets/search/stream/rules: the current rules, with ids
//     filtering and pagination (max_results, pagination_token);
//   - POST /2/tweets/search/stream/rules[?dry_run=true]: add (with "Invalid
//     Rule" and DuplicateRule errors; an invalid rule fails the whole add)
//     and delete (by ids or values); dry_run answers the same and changes
//     nothing;
//   - GET /2/tweets/search/stream: one JSON object per "\r\n"-terminated
//     line, only the posts that match at least one current rule, with
//     matching_rules set; "\r\n" heartbeats when idle; 429
//     TooManyConnections for a second concurrent stream;
//
// checks the bearer token on every request (401 with X's problem body
// otherwise), injects faults (scripted statuses, operational disconnects,
// stalls, malformed and giant lines, re-sent posts) and records every
// request ([Server.Requests]).
//
// # Rule matching
//
// The server implements a subset of X's rule syntax, matched against the
// post as package x decodes it (the full text: note_tweet's for long posts,
// "RT @user: " and the original's for retweets; its entities; its author
// and language):
//   - keywords, tokenized and case-insensitive: "python" matches "Python,"
//     and "#python" but not "pythonic"; a keyword with punctuation
//     ("node.js") matches its tokens in sequence;
//   - "quoted phrases" (tokens in sequence);
//   - #hashtag and @mention (exact, case-insensitive, against the entities);
//   - from:username (or a numeric user id), lang:xx;
//   - is:retweet, is:reply, is:quote, has:hashtags, has:links, has:mentions;
//   - negation with a leading '-', AND by a space, OR (upper case), with AND
//     applied before OR as X does.
//
// Every clause needs a positive keyword, phrase, hashtag, mention or from:
// (X's rule for standalone operators). Parentheses and every other
// operator (url:, to:, conversation_id:, place:, sample:, ...) are NOT
// supported: such a rule is answered as invalid, so a test notices rather
// than getting silently wrong matches. Tokenization approximates X's:
// letters, digits and marks make up tokens; each Han, kana, Hangul or Thai
// character is a token of its own; accents are not folded.
//
// The stream's query parameters (tweet.fields, expansions, ...) are
// recorded but not applied: posts are sent as given, with their includes.
//
// In a test:
//
//	srv, ts := xtest.NewTestServer(t, xtest.Config{Heartbeat: 10 * time.Millisecond})
//	src, err := x.NewSource(x.Config{
//		BearerToken: xtest.DemoToken,
//		BaseURL:     ts.URL,
//		Rules:       []x.Rule{{Tag: "python", Value: "python"}},
//	})
//	...
//	reqs := srv.Requests() // the rule sync and the stream connection
package xtest
