// Package webhook delivers statuses by POSTing one JSON document per status
// to a URL: a generic JSON record, or a Slack- or Discord-compatible message.
//
// A webhook is a destination, the last step of streambot's flow (source →
// routes → handlers → destinations): the handler that [New] returns goes in
// a bot.Destination, and the bot calls it from one goroutine, in stream
// order, for every status the destination's routes selected.
//
//	h, err := webhook.New(webhook.Config{URL: os.Getenv("SLACK_WEBHOOK_URL"), Format: webhook.Slack})
//	...
//	dest := bot.Destination{Name: "slack", Handler: h}
//
// [New] returns the complete destination — rate limit and the [Sender] — as
// one handlers.Handler that makes one attempt per status; retries belong to
// the caller (package bot's delivery loop). Failures are classified once, in
// the Sender: 2xx is success; 429 (and 503 with Retry-After) is retryable
// after exactly the Retry-After the server sent; 408, 5xx and network errors
// are retryable after the caller's backoff; 410 Gone means the webhook was
// deleted; any other answer is permanent for the status. The classification is a handlers.DeliveryError,
// so callers branch with errors.Is(err, handlers.ErrPermanent) and
// handlers.ErrDestinationGone. Webhook URLs are secrets (a Slack or Discord
// webhook URL is all it takes to post), so the URL's path, query and user
// information, and every configured header value, are redacted from every
// error and log line.
package webhook
