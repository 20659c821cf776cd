package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/logging"
	"go.opentelemetry.io/otel/trace"
)

func decode(t *testing.T, b *bytes.Buffer) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	b.Reset()
	return m
}

func TestDurationsAreStrings(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(logging.NewHandler(&b, logging.FormatJSON, slog.LevelInfo))
	log.Info("x", "timeout", 15*time.Second, slog.Group("g", slog.Duration("d", 1500*time.Microsecond)))
	m := decode(t, &b)
	if m["timeout"] != "15s" || m["g"].(map[string]any)["d"] != "1.5ms" {
		t.Fatalf("line = %v, want durations as strings", m)
	}
}

func TestTraceIDsOnTracedLines(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(logging.NewHandler(&b, logging.FormatJSON, slog.LevelDebug)).With("component", "c")
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))

	log.InfoContext(ctx, "traced")
	m := decode(t, &b)
	if m["trace_id"] != tid.String() || m["span_id"] != sid.String() || m["component"] != "c" {
		t.Fatalf("traced line = %v", m)
	}
	log.InfoContext(context.Background(), "untraced")
	if m := decode(t, &b); m["trace_id"] != nil {
		t.Fatalf("untraced line = %v", m)
	}
}
