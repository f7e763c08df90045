// Package telegram delivers statuses to Telegram chats through the Bot API.
//
// A Telegram sender is a destination, the last step of streambot's flow
// (source → routes → handlers → destinations): it goes in a
// bot.Destination, and the bot calls it from one goroutine, in stream order,
// for every status the destination's routes selected.
//
//	tg, err := telegram.New(ctx, telegram.Config{
//		Token: os.Getenv("TELEGRAM_BOT_TOKEN"),
//		Chats: []string{os.Getenv("TELEGRAM_CHAT_ID")},
//	})
//	...
//	dest := bot.Destination{Name: "telegram", Handler: tg}
//
// A [Sender] is a handlers.Handler: it formats a status as an HTML message
// (see [Formatter]), sends it to every configured chat in order, each behind
// its own rate limiter, and classifies every failure once (see [Classify])
// as a handlers.DeliveryError, so callers branch with errors.Is on
// handlers.ErrPermanent and handlers.ErrDestinationGone and wait
// handlers.RetryDelay (Telegram's retry_after on HTTP 429). It makes one
// attempt per Handle and does not retry: the bot's delivery loop does, and a
// status handed again after a failure goes only to the chats that did not
// get it. A chat that blocks or kicks the bot is disabled and the others keep
// receiving; a group upgraded to a supergroup is followed to its new id.
//
// It uses github.com/go-telegram-bot-api/telegram-bot-api/v5 and fills its
// gaps: every request carries the caller's context and a timeout, answers
// that are not the Bot API's JSON are recognized, and the bot token — which
// is part of every request URL — is redacted from every error and log line.
// Package telegramtest is a fake Bot API server to test against.
package telegram
