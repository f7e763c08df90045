package bot

import "github.com/streambot/streambot/bot/journal"

// Store is where the delivery log keeps its records: [OpenOutbox] returns
// the durable one; a nil Config.Store keeps the same log in memory only.
type Store = journal.Storage

// Outbox is the durable Store, a bbolt file (see journal.Bolt for its
// layout). Open it with OpenOutbox and close it after the Bot has stopped.
type Outbox = journal.Bolt

// OpenOutbox opens (creating when missing) the outbox database at path,
// usually outbox.db in the -data directory; a file of the first outbox
// layout is migrated, keeping its queued statuses. It fails after a second
// when another process holds the file, and with an error naming the file
// when it is corrupt.
func OpenOutbox(path string) (*Outbox, error) { return journal.OpenBolt(path) }
