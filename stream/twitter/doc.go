// Package twitter speaks Twitter's v1.1 streaming protocol: it decodes the
// wire messages of statuses/filter into stream events ([Decode]) and streams
// them from the filter endpoint ([Source]).
//
// The Source is a stream.Source, the first stage of streambot's flow
// (source → routes → handlers → destinations):
//
//	src, err := twitter.NewSource(twitter.Config{
//		Credentials: twitter.CredentialsFromEnv(os.Getenv), // TWITTER_CONSUMER_KEY, ...
//		Track:       []string{"python"},
//	})
//	...
//	b, err := bot.New(bot.Config{Source: src, ...})
//
// It signs every request with OAuth 1.0a, reconnects by Twitter's rules (see
// [Backoff]: at once after a dropped stream, linearly after network errors,
// exponentially after HTTP errors and longer after 420/429), reconnects a
// stream that stays silent for 90 seconds, and stops only when its context
// ends or on a failure that needs a person: missing credentials, an invalid
// filter ([ErrMissingCredentials], [ErrNoFilter], [ErrInvalidConfig] from
// NewSource) or an answer such as 401 or 403 (a *stream.PermanentError
// wrapping a [*StatusError]; errors.Is(err, stream.ErrPermanent)). Errors
// name the environment variable or parameter to fix and never carry a
// credential.
//
// Twitter retired v1.1 streaming in 2023, so the Source serves compatible
// servers: set Config.BaseURL (TWITTER_STREAM_URL for cmd/streambot), for
// example to the mock server of package streamtest or cmd/mockstream.
//
// The decoder is the single place where v1.1 JSON becomes a [stream.Status];
// the filter-stream source, the in-process mock and the mock server's
// server-side filtering all use it, so they cannot disagree.
package twitter
