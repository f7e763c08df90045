// Package handlers decides what happens to one status, in the style of
// net/http: a [Handler] handles a status, a [HandlerFunc] adapts a function,
// and a [Middleware] wraps a handler to filter, annotate or transform before
// calling the next one. A sink — console, JSONL file, later Telegram and
// webhooks — is a handler at the end of a chain.
//
//	h := handlers.Chain(
//		handlers.Match("python", track.MustCompile("python")),
//		handlers.DropRetweets(),
//	)(handlers.Console(os.Stdout))
//
// A filter drops a status by returning nil without calling the next handler.
// An error means the status was not handled; package bot counts and logs it.
package handlers
