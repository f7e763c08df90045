// Package jetstreamtest is test support for Bluesky Jetstream clients: a
// fake Jetstream server that speaks the real wire protocol (JSON text
// frames over a WebSocket at /subscribe), so a client such as
// bluesky.Source is tested offline, through its WebSocket handshake,
// cursor and reconnect logic.
//
// It fakes the network at the start of streambot's flow (source → routes →
// handlers → destinations). The [Server]
//   - serves a sequence of events (the embedded [Corpus], Config.Events, and
//     whatever [Server.Publish] adds) in order;
//   - honours cursor (events with time_us >= cursor; none means live) and
//     wantedCollections (NSIDs or "prefix.*"; identity and account messages
//     always pass), answering 400 to invalid values;
//   - injects faults: scripted HTTP answers to the upgrade (with
//     Retry-After), a close after N events, a stall after N events,
//     malformed frames; [Giant] builds an oversized message to put among
//     the events;
//   - records each connection's query, cursor, collections and the
//     time_us range it sent ([Server.Connections]) for the test to assert on.
//
// In a test:
//
//	srv, ts := jetstreamtest.NewTestServer(t, jetstreamtest.Config{CloseAfter: 5})
//	src, err := bluesky.NewSource(bluesky.Config{URL: ts.URL})
//	... run src ...
//	if got := srv.Connections()[1].Cursor; got != want { ... }
//
// What it does not do: compression (compress=true, zstd), wantedDids and
// the other filters beyond collections, maxMessageSizeBytes, the options
// update message, and the real server's replay window limits.
package jetstreamtest
