// Package handlers decides what happens to one status, in the style of
// net/http: a [Handler] handles a status, a [HandlerFunc] adapts a function,
// and a [Middleware] wraps a handler to filter, annotate or transform before
// calling the next one. A sink — [Console], [JSONL], and the Telegram and
// webhook destinations of packages handlers/telegram and handlers/webhook —
// is a handler at the end of a chain.
//
// Handlers are the middle and the end of streambot's flow (source → routes
// → handlers → destinations): package bot runs each route's Middleware
// (typically [Match] plus filters such as [DropRetweets]) to select
// statuses, and hands each selected status to the Handler of every
// destination the route names.
//
//	h := handlers.Chain(
//		handlers.Match(track.MustCompile("python")),
//		handlers.DropRetweets(),
//	)(handlers.Console(os.Stdout))
//
// Your own listener is a HandlerFunc — the Go form of tweepy's on_status:
//
//	onStatus := handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
//		fmt.Println(s.Text)
//		return nil
//	})
//
// A filter drops a status by returning nil without calling the next handler.
// An error means the status was not handled: package bot hands the status
// to the destination again when the error is retryable, and counts it failed
// and logs it otherwise.
// Sinks classify their failures once, where they happen, as a
// [DeliveryError]: errors.Is(err, [ErrPermanent]) for a status the
// destination will never accept, errors.Is(err, [ErrDestinationGone]) for a
// destination that refuses everything until a person acts, and anything else
// is retryable. [Retry] retries on that classification, honouring a
// destination's RetryAfter, and [RateLimit] and [RateLimitBy] pace a sink.
package handlers
