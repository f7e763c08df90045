package stream

import "fmt"

// Kind tells which field of an [Event] is set.
type Kind uint8

// The kinds of events a stream carries.
const (
	// KindStatus: Event.Status holds a post.
	KindStatus Kind = iota + 1
	// KindDelete: Event.Delete asks that a post be forgotten.
	KindDelete
	// KindLimit: Event.Limit reports statuses the network withheld.
	KindLimit
	// KindDisconnect: Event.Disconnect explains why the server is closing the stream.
	KindDisconnect
	// KindWarning: Event.Warning is a stall warning or similar notice.
	KindWarning
)

// String returns the kind's name, as used in logs and metrics.
func (k Kind) String() string {
	switch k {
	case KindStatus:
		return "status"
	case KindDelete:
		return "delete"
	case KindLimit:
		return "limit"
	case KindDisconnect:
		return "disconnect"
	case KindWarning:
		return "warning"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Event is one message from a stream. Exactly the field named by Kind is
// meaningful; a concrete struct instead of an interface{} keeps consumers
// free of type switches and lets the compiler check them.
type Event struct {
	// Kind names the field below that is set.
	Kind Kind
	// Status is the post, for KindStatus; it is shared and must not be modified.
	Status *Status
	// Delete is set for KindDelete.
	Delete Delete
	// Limit is set for KindLimit.
	Limit Limit
	// Disconnect is set for KindDisconnect.
	Disconnect Disconnect
	// Warning is set for KindWarning.
	Warning Warning
	// Cursor, when not empty, is the source's position just after this
	// event, for a source that implements [Resumer]. The consumer hands it
	// back through Resumer.Committed once this event and every one before
	// it are durably accepted.
	Cursor string
}

// Delete asks consumers to forget a status: if it has not been delivered yet,
// it should not be.
type Delete struct {
	// StatusID is the ID of the deleted status.
	StatusID string
	// UserID is the author's ID.
	UserID string
}

// Limit reports that the network withheld statuses matching the filter
// because the stream exceeded its share of the firehose.
type Limit struct {
	// Track is the total number of undelivered statuses since the connection opened.
	Track int64
}

// Disconnect is the server's explanation just before it closes a stream.
type Disconnect struct {
	// Code is the network's disconnect code (for Twitter, 1 to 12: 1
	// shutdown, 2 duplicate stream, 6 token revoked, 7 admin logout, ...).
	Code int
	// StreamName names the stream being closed.
	StreamName string
	// Reason is the server's human-readable explanation.
	Reason string
}

// Warning is a notice such as Twitter's stall warning (FALLING_BEHIND).
type Warning struct {
	// Code is the warning's code, e.g. "FALLING_BEHIND".
	Code string
	// Message is the server's human-readable text.
	Message string
	// PercentFull is how full the server's queue for this stream is, for a
	// stall warning.
	PercentFull int
}

// StatusEvent wraps s in an Event.
func StatusEvent(s *Status) Event { return Event{Kind: KindStatus, Status: s} }
