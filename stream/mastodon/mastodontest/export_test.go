package mastodontest

// WithStallHook returns cfg with f called each time a stream stalls
// (Config.Stall), so a test can wait for that instead of for a while.
func WithStallHook(cfg Config, f func()) Config {
	cfg.onStall = f
	return cfg
}
