package e2e_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestGracefulShutdownDrainsInFlight proves that shutting the server down
// turns health NOT_SERVING, lets a GetToken waiting on EEO finish, returns
// nil from Serve and then refuses new connections.
func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	// The server's own log shows whether the drain finished or was cut off.
	var serverLog testkit.SyncBuffer
	s := newStack(t, stackOptions{Server: func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(io.MultiWriter(&serverLog, logSink{}), nil)).With("component", "server")
		c.ShutdownTimeout = 30 * time.Second
	}})
	s.sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{Latency: 300 * time.Millisecond}})

	// A health watch sees the drain's NOT_SERVING deterministically. It is an
	// open stream the client never closes: the server must end it, or
	// GracefulStop waits out the whole ShutdownTimeout.
	watchCtx, stopWatch := context.WithCancel(t.Context())
	defer stopWatch()
	watch, err := healthpb.NewHealthClient(s.conn).Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("health Watch: %v", err)
	}
	if st, err := watch.Recv(); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before shutdown: %v, %v; want SERVING", st.GetStatus(), err)
	}

	type result struct {
		tok *eeov1.Token
		err error
	}
	inFlight := make(chan result, 1)
	go func() {
		tok, err := s.getToken(t.Context())
		inFlight <- result{tok, err}
	}()
	waitFor(t, "the sandbox to receive the in-flight token request", func() bool { return s.tokenRequests() >= 1 })

	s.cancelServe()
	if st, err := watch.Recv(); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health during drain: %v, %v; want NOT_SERVING", st.GetStatus(), err)
	}
	if _, err := watch.Recv(); err == nil {
		t.Error("health Watch still open after NOT_SERVING during drain")
	}

	res := <-inFlight
	if res.err != nil {
		t.Fatalf("in-flight GetToken failed during graceful shutdown: %v", res.err)
	}
	if res.tok.GetAccessToken() == "" {
		t.Fatal("in-flight GetToken returned no token")
	}
	if err := s.stopServer(); err != nil {
		t.Fatalf("Serve after a requested shutdown returned %v, want nil", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(s.dial(t)).Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("health Check on a new connection after Serve returned: %v, want Unavailable", err)
	}
	s.wantTokenRequests(t, 1)
	if strings.Contains(serverLog.String(), "drain cut short") || !strings.Contains(serverLog.String(), "stopped") {
		t.Errorf("shutdown did not drain cleanly:\n%s", serverLog.String())
	}
}
