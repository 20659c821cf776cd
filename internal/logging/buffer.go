package logging

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"go.uber.org/zap/zapcore"
)

// Defaults of the service's log buffer (see Buffer).
const (
	DefaultBufferSize    = 64 << 10
	DefaultFlushInterval = 100 * time.Millisecond
)

// Buffer collects log lines in memory and writes them out in batches: when
// it is full, every flush interval, on Flush (which the handler from
// FlushingAt calls after every warning and error) and on Close. Writing
// each line as it was logged cost a write system call per line, the
// largest single cost of a logged gRPC call.
//
// What a crash can lose is bounded: the lines of the last flush interval,
// at most the buffer's size, and never a warning or an error, which are
// written out before the call that logged them returns. A shutdown loses
// nothing as long as Close runs.
type Buffer struct {
	ws     *zapcore.BufferedWriteSyncer
	closed atomic.Bool
}

// NewBuffer returns a Buffer of size bytes in front of w, flushed every
// interval; zero values take the defaults. Close stops it.
func NewBuffer(w io.Writer, size int, interval time.Duration) *Buffer {
	if size <= 0 {
		size = DefaultBufferSize
	}
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	// Hiding w's Sync, if any: a flush must not fsync the log file (or
	// fail on stderr being a pipe).
	return &Buffer{ws: &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(writerOnly{w}), Size: size, FlushInterval: interval}}
}

type writerOnly struct{ io.Writer }

// Write buffers p, a whole line: a line is never split across flushes.
func (b *Buffer) Write(p []byte) (int, error) {
	n, err := b.ws.Write(p)
	if err == nil && b.closed.Load() {
		err = b.ws.Sync()
	}
	return n, err
}

// Flush writes out what is buffered.
func (b *Buffer) Flush() error { return b.ws.Sync() }

// Close flushes and stops the periodic flush. Lines written after Close
// are written through at once.
func (b *Buffer) Close() error {
	// Before Stop: a line written meanwhile flushes itself.
	b.closed.Store(true)
	return b.ws.Stop()
}

// FlushingAt wraps h so that a record at level or above is flushed (by
// flush, typically a Buffer's Flush) before Handle returns.
func FlushingAt(h slog.Handler, level slog.Level, flush func() error) slog.Handler {
	return flushHandler{next: h, level: level, flush: flush}
}

type flushHandler struct {
	next  slog.Handler
	level slog.Level
	flush func() error
}

func (h flushHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.next.Handle(ctx, r)
	if r.Level >= h.level {
		if ferr := h.flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushHandler{next: h.next.WithAttrs(attrs), level: h.level, flush: h.flush}
}

func (h flushHandler) WithGroup(name string) slog.Handler {
	return flushHandler{next: h.next.WithGroup(name), level: h.level, flush: h.flush}
}
