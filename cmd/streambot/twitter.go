package main

import (
	"errors"
	"log/slog"

	"github.com/streambot/streambot/stream"
)

// newTwitterSource builds the Twitter v1.1 filter-stream source.
func newTwitterSource(o *options, getenv func(string) string, log *slog.Logger) (stream.Source, error) {
	return nil, errors.New("-source twitter: not wired yet")
}
