// Package sourcetest holds the test doubles that the tests of every
// networked source in stream/... share: a Sleep that records the reconnect
// schedule (Sleeps), a sink for JSON logs (Logs), a connection observer
// (Observer), stall timers the test fires by hand (Timers), a bounded Run,
// and goroutine-leak checks.
//
// It is an ordinary package, not a _test file, so that the tests of
// several packages can import it; being internal, only stream/... can.
// It imports package testing, so only tests should import it.
package sourcetest
