package server

import (
	"context"
	"crypto/tls"
	"net"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// The REST facade reaches the gRPC server over an in-process connection
// rather than the network listener: it needs no TLS client certificate when
// the gRPC port requires mTLS, nothing outside the process can use it, and
// every interceptor still runs because it is the same grpc.Server. Unary
// calls take a shorter way to the same tap, interceptors and handlers
// unless tracing is on (inproc.go); streams always use the connection.

const internalBufferBytes = 256 << 10

// internalListener is the in-process listener; its connections are marked
// so the transport credentials can tell them from network ones.
type internalListener struct {
	*bufconn.Listener
}

type internalConn struct{ net.Conn }

func newInternalListener() *internalListener {
	return &internalListener{bufconn.Listen(internalBufferBytes)}
}

func (l *internalListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return internalConn{c}, nil
}

// dial connects the facade's gRPC client to the internal listener.
// With tracing, the connection carries each REST request's trace context
// to the server as traceparent metadata, so the gRPC call's span joins the
// REST request's trace.
func (l *internalListener) dial(cfg Config, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
	if cfg.TracerProvider != nil {
		opts = append(opts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelOptions(cfg)...)))
	}
	return grpc.NewClient("passthrough:///eeo-gateway-internal", append(opts, extra...)...)
}

// InternalAuthInfo is the peer AuthInfo of calls that come through the REST
// facade's in-process connection; interceptors may trust metadata the facade
// sets on such calls, and only on such calls.
type InternalAuthInfo struct {
	credentials.CommonAuthInfo
}

// AuthType implements credentials.AuthInfo.
func (InternalAuthInfo) AuthType() string { return "eeo-gateway-internal" }

// serverCredentials wraps the network transport credentials (TLS, or none)
// so that in-process connections skip them.
type serverCredentials struct {
	network credentials.TransportCredentials
}

func newServerCredentials(cfg *tls.Config) credentials.TransportCredentials {
	if cfg == nil {
		return serverCredentials{network: insecure.NewCredentials()}
	}
	return serverCredentials{network: credentials.NewTLS(serverTLS(cfg, "h2"))}
}

func (c serverCredentials) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if _, ok := conn.(internalConn); ok {
		return conn, InternalAuthInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return c.network.ServerHandshake(conn)
}

func (c serverCredentials) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.network.ClientHandshake(ctx, authority, conn)
}

func (c serverCredentials) Info() credentials.ProtocolInfo { return c.network.Info() }

func (c serverCredentials) Clone() credentials.TransportCredentials {
	return serverCredentials{network: c.network.Clone()}
}

//nolint:staticcheck // required by the interface
func (c serverCredentials) OverrideServerName(name string) error {
	return c.network.OverrideServerName(name) //nolint:staticcheck
}

// serverTLS is cfg for one listener: its protocols, and never below TLS 1.2
// whatever the caller configured.
func serverTLS(cfg *tls.Config, protos ...string) *tls.Config {
	cfg = cfg.Clone()
	cfg.NextProtos = protos
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	// A reloading config answers each handshake with a fresh config, which
	// must get the same treatment.
	if get := cfg.GetConfigForClient; get != nil {
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := get(hello)
			if err != nil || c == nil {
				return c, err
			}
			c = c.Clone()
			c.NextProtos = protos
			c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
			return c, nil
		}
	}
	return cfg
}
