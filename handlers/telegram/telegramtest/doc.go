// Package telegramtest runs a fake Telegram Bot API server for tests.
//
// It is to the Telegram destination what package streamtest is to the
// Twitter source: the far end of streambot's flow (source → routes →
// handlers → destinations), faked over loopback HTTP so that the real
// telegram.Sender, with its real client library, can be tested offline.
//
//	srv := telegramtest.NewServer(t, "123:token")
//	tg, err := telegram.New(ctx, telegram.Config{Token: "123:token", BaseURL: srv.URL, Chats: []string{"42"}})
//
// The fake answers like the real Bot API — {"ok":true,"result":...} or
// {"ok":false,"error_code":...,"description":...,"parameters":{...}} — at
// /bot{token}/{method} for getMe, sendMessage and sendPhoto. It checks the
// token, validates what Telegram validates (HTML entities in parse_mode HTML,
// text of at most 4096 characters after entity parsing, captions of at most
// 1024), and records every request. Tests script failures per call or per
// chat, and assert on the recorded requests from the test goroutine: the
// fake never fails a test by itself.
package telegramtest
