package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/logging"
	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"google.golang.org/grpc/peer"
)

// BenchmarkAccessLogWrite is the access log's work for one successful
// GetToken with a deadline, through the service's production handler
// chain (buffered JSON at info, flushed at warnings) into io.Discard:
//
//	go test -run '^$' -bench AccessLogWrite -benchmem -count 5 ./server/
func BenchmarkAccessLogWrite(b *testing.B) {
	buf := logging.NewBuffer(io.Discard, 0, 0)
	b.Cleanup(func() { buf.Close() })
	log := slog.New(logging.FlushingAt(logging.NewHandler(buf, logging.FormatJSON, slog.LevelInfo), slog.LevelWarn, buf.Flush))
	a := newAccessLog(log)
	ctx := requestid.With(context.Background(), "0123456789abcdef0123456789abcdef")
	ctx = peer.NewContext(ctx, &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 45678}})
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	const method = "/eeo.v1.TokenService/GetToken"
	b.ReportAllocs()
	for b.Loop() {
		a.write(ctx, method, "unary", false, nil, time.Now())
	}
}
