package stream

import (
	"encoding/json"
	"time"
)

// Status is one post, normalized from whatever network it came from.
//
// Sources create a Status and never modify it after emitting it, so a Status
// may be shared between goroutines. A handler that wants to change a field
// (for example Matched) works on a copy: c := *s.
type Status struct {
	// ID is the post's identifier as a string (Twitter's id_str). IDs are
	// unique within one Source.
	ID string
	// Source names the network the status came from, e.g. "twitter" or "mock".
	Source string
	// Author is who posted it.
	Author Author
	// Text is the full text: for Twitter, extended_tweet.full_text when
	// present, and the original's text for a retweet. HTML entities that the
	// network escaped (&amp; &lt; &gt;) are decoded, so Text is plain text.
	Text string
	// URL links to the post on the web.
	URL string
	// Lang is the BCP 47 language code the network detected ("en", "und", ...).
	Lang string
	// CreatedAt is when the post was created.
	CreatedAt time.Time

	// IsRetweet, IsQuote and IsReply describe how the post relates to others.
	IsRetweet bool
	IsQuote   bool
	IsReply   bool
	// RetweetedID is the original's ID when IsRetweet is set.
	RetweetedID string

	// Hashtags holds hashtag texts without the '#'.
	Hashtags []string
	// Mentions holds mentioned screen names without the '@'.
	Mentions []string
	// URLs holds the links in the post: expanded and display forms.
	URLs []URL

	// Matched holds the track phrases that selected the status (for every
	// route that took it, each phrase once). Sources leave it empty; the match
	// middleware sets it on its own copy.
	Matched []string

	// Routes names the routes that took the status, in configuration order,
	// as a destination sees it: only the routes that lead to that
	// destination. Sources and filters leave it empty; package bot sets it.
	Routes []string

	// Rules holds the tags of the server-side rules the post matched, for a
	// network that filters by rules (the X API v2 filtered stream tags each
	// rule with the route it was made for). Empty when the network does not
	// report them; routes then match the text locally.
	Rules []string

	// Raw is the payload exactly as the network sent it.
	Raw json.RawMessage
}

// Author is the account that posted a status.
type Author struct {
	// ID is the account's identifier as a string.
	ID string
	// ScreenName is the handle without the '@'.
	ScreenName string
	// Name is the display name.
	Name string
}

// URL is one link in a status.
type URL struct {
	// Expanded is the full target URL.
	Expanded string
	// Display is the shortened form the network shows, without a scheme.
	Display string
}
