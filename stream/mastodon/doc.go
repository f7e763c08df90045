// Package mastodon streams public posts from a Mastodon instance: it reads
// the streaming API's server-sent events over HTTP ([Source]) and maps them
// to stream events ([Decode]).
//
// The Source is a stream.Source, the first stage of streambot's flow
// (source → routes → handlers → destinations):
//
//	cfg := mastodon.FromEnv(os.Getenv) // MASTODON_URL, MASTODON_TOKEN
//	cfg.Hashtags = []string{"python"}  // or none: the whole public stream
//	src, err := mastodon.NewSource(cfg)
//	...
//	b, err := bot.New(bot.Config{Source: src, ...})
//
// # Connecting
//
// Run first asks the instance where its streaming server is: GET
// /api/v2/instance (configuration.urls.streaming), else GET /api/v1/instance
// (urls.streaming_api), else the instance itself. The announced wss:// (ws://)
// URL becomes https:// (http://); an unencrypted streaming server announced
// by an https instance is refused, to keep the token off the wire. Then it
// opens GET /api/v1/streaming/public (or /public/local with Config.Local),
// or, with Config.Hashtags, one GET /api/v1/streaming/hashtag?tag=... (or
// /hashtag/local) per hashtag, merged into one stream of events. Every
// request carries the token as "Authorization: Bearer"; no URL, error or log
// line ever holds it.
//
// Each connection reconnects by itself (see Config.Backoff): at once after
// an established stream ended, with back-off after network errors, HTTP
// errors and 429 (honouring Retry-After), and when nothing, not even the
// ":thump" heartbeat Mastodon writes every 15 seconds, arrived for
// Config.StallTimeout (60 s). Run stops on a failure that needs a person —
// 401 (check MASTODON_TOKEN), 403 (the instance keeps its public streams to
// itself), 404 or 410 (check MASTODON_URL), 400 (check the hashtags) — as a
// *stream.PermanentError wrapping a [*StatusError] (errors.Is(err,
// stream.ErrPermanent)). NewSource reports missing or malformed settings
// ([ErrMissingInstance], [ErrMissingToken], [ErrInvalidConfig]).
//
// # Mapping
//
// An "update" event is a stream.Status with Source "mastodon":
//
//   - ID is the status id; Author is the account (ID, acct as ScreenName,
//     display_name as Name); URL is the status's url, else its uri; Lang,
//     CreatedAt and IsReply (in_reply_to_id set) follow the status.
//   - Text is the content as plain text ([PlainText]), preceded by
//     "CW: <spoiler_text>\n" when the post has a content warning.
//   - Hashtags come from tags, Mentions from mentions (acct), URLs from the
//     links in the content that are not mentions or hashtags, and the
//     preview card's url.
//   - A boost keeps its own ID, author and time, sets IsRetweet and
//     RetweetedID (the boosted status's id), and takes everything else from
//     the boosted status, with Text "RT @acct: " and the boosted text.
//   - Raw is the event's data.
//
// A "status.update" event (an edit) is a Status too, with ID
// "<id>@<edited_at>" and Text starting with "(edited) ". So each edit is a
// new status to the bot's de-duplication: an edit that now matches a route
// is forwarded, and an edit of a post already forwarded is forwarded again,
// marked as an edit. A "delete" event is a stream.KindDelete for the id;
// Run follows it with deletes for the edits of that status it emitted, so a
// queued edit of a deleted post is not delivered either.
//
// Other events (notification, filters_changed, announcements, ...) are
// skipped; malformed and oversized events (over Config.MaxLineBytes) are
// logged and skipped, and the stream goes on.
//
// Package mastodontest serves the same protocol from a loopback fake
// instance for tests.
package mastodon
