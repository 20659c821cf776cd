package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
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

// timeoutValue is a LogValuer that resolves to a group holding a duration.
type timeoutValue struct{}

func (timeoutValue) LogValue() slog.Value {
	return slog.GroupValue(slog.Duration("idle", time.Minute), slog.String("name", "demo"))
}

func TestDurationsAreStringsEverywhere(t *testing.T) {
	for _, format := range []string{logging.FormatJSON, logging.FormatText} {
		var b bytes.Buffer
		log := slog.New(logging.NewHandler(&b, format, slog.LevelInfo)).With("fetch_timeout", 10*time.Second).WithGroup("call")
		log.Info("x", "valuer", timeoutValue{}, slog.Any("elapsed", 2*time.Millisecond))
		line := b.String()
		for _, want := range []string{"10s", "1m0s", "2ms", "demo"} {
			if !strings.Contains(line, want) {
				t.Errorf("%s line %q: no %q", format, line, want)
			}
		}
		for _, nanos := range []string{"10000000000", "60000000000", "2000000"} {
			if strings.Contains(line, nanos) {
				t.Errorf("%s line %q: a duration as nanoseconds (%s)", format, line, nanos)
			}
		}
	}
}

// TestLinesWithoutDurationsAreSlogs: a line with no duration in it is
// exactly what slog's own JSON handler writes.
func TestLinesWithoutDurationsAreSlogs(t *testing.T) {
	var ours, plain bytes.Buffer
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, h := range []slog.Handler{
		logging.NewHandler(&ours, logging.FormatJSON, slog.LevelInfo),
		slog.NewJSONHandler(&plain, &slog.HandlerOptions{Level: slog.LevelInfo}),
	} {
		h = h.WithAttrs([]slog.Attr{slog.String("grpc.method", "GetToken")})
		r := slog.NewRecord(at, slog.LevelInfo, "finished call", 0)
		r.AddAttrs(slog.String("request_id", "r-1"), slog.String("grpc.code", "OK"), slog.Int("n", 3), slog.Group("g", slog.Bool("b", true)))
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if ours.String() != plain.String() {
		t.Errorf("line\n%s\nwant slog's\n%s", ours.String(), plain.String())
	}
}

// BenchmarkAccessLine encodes a line of the access log's shape (no
// durations but the one it formats itself).
func BenchmarkAccessLine(b *testing.B) {
	h := logging.NewHandler(io.Discard, logging.FormatJSON, slog.LevelInfo).WithAttrs([]slog.Attr{
		slog.String("protocol", "grpc"), slog.String("grpc.component", "server"), slog.String("grpc.service", "eeo.v1.TokenService"),
		slog.String("grpc.method", "GetToken"), slog.String("grpc.method_type", "unary")})
	ctx := context.Background()
	for b.Loop() {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "finished call", 0)
		r.AddAttrs(slog.String("request_id", "0123456789abcdef0123456789abcdef"), slog.String("peer.address", "127.0.0.1:45678"),
			slog.String("grpc.code", "OK"), slog.String("grpc.duration", "15.2µs"))
		_ = h.Handle(ctx, r)
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
