// Package config reads streambot's YAML configuration file: one source, any
// number of destinations, and routes that send what a track expression
// matches to some of those destinations.
//
// It describes streambot's whole flow (source → routes → handlers →
// destinations) as data, and builds it with the same public API a library
// user has: [File.Build] makes a stream.Source (stream/twitter or
// stream/mock), a handlers.Middleware per route (handlers.Match and the
// route's filters) and a handler per destination (console, JSONL,
// handlers/telegram, handlers/webhook), and returns them as a bot.Config for
// bot.New. cmd/streambot is this package plus flags.
//
//	f, err := config.Load("streambot.yaml", os.Getenv)
//	...
//	built, err := f.Build(ctx, config.Env{})
//	...
//	defer built.Close()
//	b, err := bot.New(built.Config)
//
// Values may reference environment variables as ${NAME}, so secrets stay out
// of the file; a reference to an unset variable is an error. Every error
// names the file, the line and the field.
//
// [Load] and [Parse] parse and validate; [File.Build] turns the result into a
// bot.Config with real sources and destinations.
package config
