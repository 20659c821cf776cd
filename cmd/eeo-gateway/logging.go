package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/eeo-gateway/eeo-gateway/internal/logging"
)

// newLogger builds the service's logger: durations as strings, trace ids
// on traced calls' lines (see internal/logging).
func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	return slog.New(logging.NewHandler(w, format, lvl)), nil
}
