// Package stream turns social-media streams into a flow of normalized events.
//
// It is the first stage of streambot's flow:
//
//	source (stream/...) ──▶ routes (bot) ──▶ handlers (handlers) ──▶ destinations (handlers/...)
//
// A [Source] (the Twitter v1.1 filter stream, the in-process mock, and later
// other networks) reads bytes from its protocol and emits [Event] values: a
// [Status] for every post, or a control event (delete, limit, disconnect,
// warning) that the stream carried. Sources know protocols, never
// destinations: what happens to a status is the business of package handlers,
// and package bot wires the two together. Any Source can feed a bot
// (bot.Config.Source), and any Source can be consumed directly with its Run
// method:
//
//	err := src.Run(ctx, func(ev stream.Event) error {
//		if ev.Kind == stream.KindStatus {
//			fmt.Println(ev.Status.Text)
//		}
//		return nil
//	})
//
// Run calls emit in the caller's goroutine, one event at a time, so a slow
// emit slows the stream; package bot decouples the two.
//
// Subpackages:
//   - track: Twitter's track-expression matcher, shared by sources, routes and the mock server.
//   - twitter: the Twitter v1.1 wire format (decoder) and the filter-stream source.
//   - mock: the built-in, credential-free mock source and its embedded corpus.
//   - streamtest: test support, including a Twitter-compatible mock stream server.
package stream
