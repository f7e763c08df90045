package telegram

import "github.com/streambot/streambot/stream"

// progress is what a Sender remembers between two Handle calls so that a
// retry does not duplicate messages.
//
// What: for the one status whose last Handle returned an error, and for each
// configured chat (in configuration order), the index of the first message
// of that status (a split status has several parts) that the chat has not
// accepted yet. len(parts) means the chat is done with the status: it
// accepted every part, or Telegram refused it for good (a permanent 400, a
// chat that refuses the bot), which Handle has already logged.
//
// Why: a Sender makes one attempt per Handle and leaves the retrying to its
// caller. Package bot hands the same status to Handle again after a
// retryable failure; without this record the chats that already accepted it
// would get it once more per retry.
//
// When: Handle consults it before sending. If it is about the same status
// (same Source and ID, formatted into the same number of parts), each chat
// starts where it stopped; otherwise every chat starts at the first part.
// Handle then forgets it, and records it again only when it returns an error.
// So it holds at most one status, and any other status, or a success, clears
// it. A status handed again after a success (say a redelivery after a crash)
// goes to every chat again: delivery is at least once.
type progress struct {
	key   string // statusKey of the status
	parts int    // how many messages the status was formatted into
	next  []int  // per chat: the first part not yet accepted
}

// statusKey identifies a status across Handle calls.
func statusKey(st *stream.Status) string { return st.Source + "/" + st.ID }

// start returns where each of chats chats starts sending the status key,
// formatted into parts messages: where p stopped when p is about that
// status, the first part otherwise. A nil p starts everywhere at 0.
func (p *progress) start(key string, parts, chats int) []int {
	next := make([]int, chats)
	if p != nil && p.key == key && p.parts == parts && len(p.next) == chats {
		copy(next, p.next)
	}
	return next
}
