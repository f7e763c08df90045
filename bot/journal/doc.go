// Package journal is streambot's delivery core: one append-only log of the
// statuses the routes accepted, read by one durable consumer per
// destination.
//
// It follows the model of NATS JetStream's streams and durable consumers and
// of Kafka's log, on one machine:
//
//	bot collector ──▶ Journal.Append(records, cursor)
//	                     │ in-memory tail of live *stream.Status (consumers that keep up never decode)
//	                     ▼ group commit: records + consumer marks + cursor + dedupe IDs, one transaction
//	                  Storage (bbolt file, or none: the same log in memory)
//	per destination: Consumer.Next(ctx) → *Record → sink → Consumer.Ack(seq)
//
// A [Record] is written once, whatever the number of destinations, and names
// the consumers it is for. Deletes are tombstone records, so they survive a
// restart. A consumer is a queue of the sequence numbers still to deliver
// plus the one in flight; an ack removes the one in flight and is persisted
// with the next group commit; the queue cap drops the oldest waiting ones;
// retention deletes what no consumer needs any more.
//
// The durable format is compact binary (see record.go): length-prefixed
// fields, a version byte and a CRC-32C per record. A record that does not
// decode is handed to its consumers as unreadable (Record.Err) so it is
// counted and skipped, never retried forever.
//
// The package knows nothing of Telegram or of routes' filters; package bot
// drives it. [Log] is the interface bot uses, so that another engine (NATS
// JetStream) can be a second implementation; journaltest holds the
// conformance suite every implementation runs.
package journal
