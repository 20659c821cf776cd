package floor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"
)

// ServeHTTP serves resp on lis from a bare net/http server until ctx ends.
// The server has the gateway REST listener's settings (header timeout,
// idle timeout, header size bound): a per-request read deadline is part of
// what net/http costs there.
func ServeHTTP(ctx context.Context, lis net.Listener, resp HTTPResponse) error {
	srv := &http.Server{
		Handler:           httpHandler(resp),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return serveUntil(ctx, func() error { return srv.Serve(lis) }, func() { srv.Close() }, http.ErrServerClosed)
}

func httpHandler(resp HTTPResponse) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != resp.Path {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		for k, v := range resp.Header {
			h[k] = v
		}
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	})
}

// ServeGRPC serves resp as every TokenService/GetToken's answer on lis
// from a bare grpc-go server until ctx ends. The server has the gateway's
// stream limit and keepalive settings, and nothing else: no interceptors,
// no stream workers, the default codec.
func ServeGRPC(ctx context.Context, lis net.Listener, resp GRPCResponse) error {
	msg := &eeov1.GetTokenResponse{}
	if err := proto.Unmarshal(resp.Message, msg); err != nil {
		return fmt.Errorf("floor: GetTokenResponse: %w", err)
	}
	srv := grpc.NewServer(
		grpc.MaxConcurrentStreams(1000),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute, Time: 2 * time.Minute, Timeout: 20 * time.Second}),
	)
	eeov1.RegisterTokenServiceServer(srv, &tokens{resp: msg, header: resp})
	return serveUntil(ctx, func() error { return srv.Serve(lis) }, srv.Stop, grpc.ErrServerStopped)
}

// tokens answers GetToken with one fixed response; the other methods are
// unimplemented.
type tokens struct {
	eeov1.UnimplementedTokenServiceServer
	resp   *eeov1.GetTokenResponse // shared: marshalling only reads it
	header GRPCResponse
}

func (t *tokens) GetToken(ctx context.Context, _ *eeov1.GetTokenRequest) (*eeov1.GetTokenResponse, error) {
	if len(t.header.Header) > 0 {
		if err := grpc.SetHeader(ctx, t.header.Header); err != nil {
			return nil, err
		}
	}
	return t.resp, nil
}

// serveUntil runs serve until ctx ends, then stops it and waits for it to
// return; stopped is the error serve returns when stopped.
func serveUntil(ctx context.Context, serve func() error, stop func(), stopped error) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc: // failed before ctx ended
		return err
	case <-ctx.Done():
	}
	stop()
	if err := <-errc; err != nil && !errors.Is(err, stopped) {
		return err
	}
	return nil
}
