// Package logging builds the gateway's slog handler: JSON (or text) with
// every duration written as a Go duration string ("15s", "1.2ms") — the
// same form the configuration uses — and, on every line logged with the
// context of a traced call, that call's trace_id and span_id.
package logging

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Formats accepted by NewHandler.
const (
	FormatJSON = "json"
	FormatText = "text"
)

// NewHandler returns the handler for format (FormatText, else JSON)
// writing to w at level and above.
func NewHandler(w io.Writer, format string, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationAsString}
	var h slog.Handler
	if format == FormatText {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return WithTraceIDs(h)
}

// durationAsString writes durations as "1.5s" rather than slog's JSON
// default of a count of nanoseconds, which reads as a different unit
// from the configuration's and is easy to misread by a factor of 10⁹.
func durationAsString(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// WithTraceIDs wraps h so that a record logged with the context of a
// sampled or recording span carries trace_id and span_id (W3C hex), which
// is how a log line is found from a trace and the reverse. Without a span
// in the context it adds nothing and costs one context lookup.
func WithTraceIDs(h slog.Handler) slog.Handler { return traceHandler{h} }

type traceHandler struct{ next slog.Handler }

func (h traceHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r = r.Clone()
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.next.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.next.WithGroup(name)}
}
