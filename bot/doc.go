// Package bot wires a stream.Source to routes and destinations and owns the
// lifecycle: concurrency, bounded queues, dedupe, delete handling, stats and
// graceful shutdown.
//
// It is the middle of streambot's flow: source → routes → handlers →
// destinations. A [Config] names one stream.Source; routes ([Route]), each a
// handlers.Middleware filter (handlers.Match and friends) that selects
// statuses for some destinations; and destinations ([Destination]), each a
// named handlers.Handler (your own HandlerFunc, handlers.Console, or a
// Telegram or webhook sender). [New] validates it, [Bot.Run] runs until its context ends
// or the source stops, and [Bot.Stats] counts what happened.
//
// The classic tweepy example — a listener that prints the text of every
// status about "python" — is, in Go:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer stop()
//	src, err := twitter.NewSource(twitter.Config{
//		Credentials: twitter.CredentialsFromEnv(os.Getenv), // TWITTER_CONSUMER_KEY, ...
//		Track:       []string{"python"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	onStatus := handlers.HandlerFunc(func(ctx context.Context, s *stream.Status) error {
//		fmt.Println(s.Text)
//		return nil
//	})
//	b, err := bot.New(bot.Config{
//		Source: src,
//		Routes: []bot.Route{{
//			Name:         "python",
//			Filter:       handlers.Match(track.MustCompile("python")),
//			Destinations: []string{"print"},
//		}},
//		Destinations: []bot.Destination{{Name: "print", Handler: onStatus}},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	if err := b.Run(ctx); err != nil { // until Ctrl-C
//		log.Fatal(err)
//	}
//
// Handlers run concurrently with the stream by default (tweepy's
// is_async=True): the source is read in one goroutine and each destination
// is called in its own, one status at a time, in stream order. With
// mock.New(mock.Config{Once: true, Lines: ...}) in place of
// twitter.NewSource the same program is the offline test of the listener;
// see the examples.
//
// The flow of one status inside a Bot:
//
//	source ──▶ dispatcher ──▶ route workers ──▶ collector ──▶ journal (the log) ──▶ one consumer ──▶ sink
//	           (dedupe,        (-workers         (stream        (one record per      per destination   (one attempt;
//	            deletes,        goroutines run    order; one     status; group        (in order; the    the delivery
//	            batches)        route filters)    record each)   commits to Store)    only retrier)     loop retries)
//
// The source goroutine only waits for the worker pool and, when the disk
// falls behind, for the group commit; never for a destination. Each
// destination is a consumer of the log (bot/journal): it reads the newest
// records from memory and older ones back from the [Store] (bbolt on disk
// with OpenOutbox, the same log in memory by default), in stream order, and
// a status leaves its queue only when the destination accepted it or
// refused it permanently. A retryable failure is retried at the head of that
// queue; other destinations go on. A full queue (QueueCap) drops its oldest
// statuses, counted in Stats.Dropped and logged.
//
// A source that can resume (stream.Resumer, e.g. Bluesky Jetstream) marks
// events with a cursor. The log writes the newest cursor in the same
// transaction as the statuses that preceded it — so a cursor never gets
// ahead of what is stored — and hands it back with Committed; the next Run
// on the same Store calls Resume with it. A cursor with no status to ride
// with is written at most once a second.
package bot
