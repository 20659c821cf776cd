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

// newServiceLogger is newLogger for `serve`: lines go through a
// logging.Buffer, so a logged call costs no write system call of its own,
// and warnings and errors are written out at once. The stack closes the
// buffer last, after the final lines. The README's Logging section says
// what a crash can lose.
func newServiceLogger(s *stack, level, format string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	buf := logging.NewBuffer(w, 0, 0)
	s.onClose(func() { buf.Close() })
	return slog.New(logging.FlushingAt(logging.NewHandler(buf, format, lvl), slog.LevelWarn, buf.Flush)), nil
}
