// Command streambench measures streambot on this machine and prints one
// table: the numbers behind README's "Performance" section.
//
//	go run ./cmd/streambench          # everything, about a minute and a half
//	go run ./cmd/streambench -quick   # shorter windows, about a minute
//	go run ./cmd/streambench -json    # the same results as JSON
//	go run ./cmd/streambench -only ingest,match
//	go run ./cmd/streambench -only ingest -cpuprofile /tmp/sb.prof  # then go tool pprof
//
// Every measurement runs offline, over loopback, against the fakes the
// tests use: the v1.1 stream server of package streamtest serving the load
// generator's statuses (mock.NewGenerator, 2–6 KB each), and the fake Bot
// API of package telegramtest.
//
//   - ingest: statuses per second that twitter.Source reads, frames,
//     decodes and matches ("python"), against go-twitter's stock
//     Streams.Filter + SwitchDemux (plus the same matcher) on the same
//     bytes. Each client runs in a child process at GOMAXPROCS=1. The bytes
//     are 20,000 statuses recorded from the mock server and replayed in a
//     loop by a loopback server that only writes: the mock server spends
//     more CPU generating, decoding and flushing a status than our client
//     spends reading it, so against it (measured too, a last row) the
//     client waits for the server. The ratio is ours / stock.
//   - e2e: statuses per second the real binary (go build ./cmd/streambot,
//     -source twitter -track python, JSONL destination, durable outbox on)
//     forwards, counted in the file over a fixed window. The stream is
//     20,000 statuses recorded from the mock server with track=python (so
//     the bot forwards every one) and replayed in a loop by a loopback
//     server that only writes, rewriting the statuses' IDs in place each
//     loop so that the bot's dedupe does not drop them; the generating mock
//     server would be the bound. Then the ratio of that rate to go-twitter's
//     stock consume-only rate: the ingest section's row, or, when that
//     section does not run, the same child measured on e2e's recording.
//   - match: ns per status of stream/track for 1, 100 and 400 phrases, over
//     decoded generated statuses that no phrase matches (the whole status
//     is scanned), with allocations per status.
//   - latency: p50 and p99 from the server writing a status to the fake
//     Telegram answering its sendMessage, at 1,000 statuses per second,
//     rate limits off, outbox on, bot in this process.
//   - memory: peak RSS (VmHWM) of a child process running the bot while a
//     backlog of 10k, 50k and 100k statuses builds up behind a webhook
//     whose port is closed; the growth from 10k to 100k; the disk the
//     outbox's files take per queued status (their size, and in the note
//     their blocks on disk and their bytes up to the last non-zero one,
//     which leave out preallocated space); and the same at 100k with two
//     dead webhooks, each behind a route of its own, to show that a
//     status is stored once whatever the number of destinations.
//
// Child processes are this same binary, started with the internal -child
// flag; they print their result as one JSON object on standard output.
// The table's first line gives the machine and its load average: other
// work on the machine lowers the rates and stretches the latency tail.
package main
