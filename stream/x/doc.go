// Package x streams posts from the X API v2 filtered stream
// (GET /2/tweets/search/stream) and manages its rules
// (/2/tweets/search/stream/rules). It is the source streambot uses for X
// today; package twitter speaks the retired v1.1 protocol.
//
// The Source is a stream.Source, the first stage of streambot's flow
// (source → routes → handlers → destinations). Filtering happens on X's
// side: every route gets one rule, tagged with the route's name, and X
// tags each post with the rules it matched (stream.Status.Rules), which is
// how the bot routes it:
//
//	src, err := x.NewSource(x.Config{
//		BearerToken: x.TokenFromEnv(nil), // X_BEARER_TOKEN
//		BaseURL:     os.Getenv(x.EnvAPIURL), // "" means https://api.x.com
//		Rules: []x.Rule{
//			{Tag: "python", Value: "python"},
//			{Tag: "golang", Value: "golang OR #go"},
//		},
//	})
//	...
//	b, err := bot.New(bot.Config{Source: src, ...})
//
// Run first makes the app's rule set exactly Config.Rules ([Source.SyncRules]:
// keep, validate with dry_run, add, delete the stale ones), then connects
// with the bearer token and reads one JSON object per "\r\n"-terminated
// line. It reconnects by X's rules ([twitter.Backoff]: at once after a
// dropped stream, linearly after network errors, exponentially after HTTP
// errors and from a minute after 429 — which is also X's answer when
// another client holds the app's single stream connection), reconnects a
// stream that stays silent for 30 seconds (X sends a heartbeat every 20),
// turns X's operational-disconnect message into a stream.KindDisconnect
// event followed by a reconnect, and stops only when its context ends or
// on a failure that needs a person: a missing token or invalid
// configuration ([ErrMissingToken], [ErrNoRules], [ErrInvalidConfig] from
// NewSource), a rule X rejects, or an answer such as 401 or 403 (a
// *stream.PermanentError; errors.Is(err, stream.ErrPermanent)). Errors and
// logs name the environment variable to fix and never carry the token.
//
// Package xtest provides a fake X API server for tests: rules with
// dry_run, server-side matching for a subset of the rule syntax, heartbeats
// and injected faults.
package x
