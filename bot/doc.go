// Package bot wires a stream.Source to routes and destinations and owns the
// lifecycle: concurrency, bounded queues, dedupe, delete handling, stats and
// graceful shutdown.
//
// The flow of one status:
//
//	source ──▶ dispatcher ──▶ route workers ──▶ collector ──▶ destination queues ──▶ sinks
//	           (dedupe,        (-workers         (restores      (one bounded queue
//	            control         goroutines run    stream         and goroutine per
//	            events)         route filters)    order)         destination)
//
// The source goroutine only waits for the worker pool (CPU), never for a
// destination: a destination whose queue is full loses the new status for
// itself alone (counted in Stats.Dropped and logged), and every other
// destination goes on. Each destination receives statuses in stream order.
package bot
