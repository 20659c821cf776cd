package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/redishealth"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/tap"
)

// Config is what a Server serves and how.
type Config struct {
	// Tokens backs TokenService. Required.
	Tokens TokenCache
	// Upstreams back ImportReportService, by account name; an account
	// without one is NOT_FOUND there.
	Upstreams map[string]Upstream
	// MaxUploadBytes caps one import file. Default 2 GiB.
	MaxUploadBytes int64
	// WatchInterval is how often WatchImport and WatchReport poll EEO.
	// Default 2s.
	WatchInterval time.Duration
	// Logger receives one line per call and lifecycle events; nil discards.
	Logger *slog.Logger
	// AccessLogSampling thins out repeated access-log lines; the zero
	// value writes one line per call.
	AccessLogSampling AccessLogSampling
	// UnaryInterceptors and StreamInterceptors run after recovery and
	// logging, before the handler: the place for caller authentication,
	// metrics and the like.
	UnaryInterceptors  []grpc.UnaryServerInterceptor
	StreamInterceptors []grpc.StreamServerInterceptor
	// ShutdownTimeout bounds the drain of in-flight calls on shutdown; calls
	// still running then are cancelled. Default 15s.
	ShutdownTimeout time.Duration
	// DrainDelay is how long health reports NOT_SERVING before listeners
	// stop, so load balancers route away first. Default 0.
	DrainDelay time.Duration
	// Now is the clock for error details; nil means time.Now.
	Now func() time.Time
	// AllowedMetadataHeaders are extra HTTP request headers the REST facade
	// passes on as gRPC metadata (Grpc-Metadata-Foo arrives as "foo"). Only
	// Authorization and X-Request-Id pass by default.
	AllowedMetadataHeaders []string
	// CORSAllowedOrigins are the browser origins allowed to call the REST
	// facade; none (the default) sends no CORS headers.
	CORSAllowedOrigins []string
	// RESTUnencryptedHTTP2 lets the REST listener, when it has no TLS,
	// serve HTTP/2 to clients that start with its preface (h2c with prior
	// knowledge, as sidecars and internal clients speak it) next to
	// HTTP/1.1. Off by default: a connection may then carry up to
	// maxRESTConcurrentStreams requests at once instead of one. With TLS,
	// HTTP/2 is negotiated by ALPN whatever this says.
	RESTUnencryptedHTTP2 bool
	// RESTMetadata, if set, adds metadata to every call the REST facade
	// makes, derived from the HTTP request: how a client certificate
	// presented to the REST port reaches caller authentication. For REST
	// GetToken, which skips grpc-gateway's generated handler, ctx is the
	// HTTP request's and carries no runtime.RPCMethod.
	RESTMetadata func(context.Context, *http.Request) metadata.MD
	// TrustedProxies are the reverse proxies in front of the REST listener
	// whose X-Forwarded-For names the client; from any other peer the
	// client is the peer itself. Logs and audit events show that address.
	TrustedProxies []netip.Prefix
	// TracerProvider, if set, traces every call with OpenTelemetry: a span
	// per gRPC call (otelgrpc) and per REST request (otelhttp), the REST
	// request's trace context carried to the gRPC server across the
	// in-process connection, and W3C traceparent accepted from callers
	// with Propagator. Nil installs no instrumentation at all.
	TracerProvider trace.TracerProvider
	// Propagator reads and writes trace context; nil means W3C
	// traceparent and baggage.
	Propagator propagation.TextMapPropagator
	// Metrics, if set, receives the server's metrics when New runs: gRPC
	// server metrics for every method (initialised to zero, so series exist
	// before the first call), REST metrics by route template, and the size
	// of the request-id log.
	Metrics prometheus.Registerer
	// Admin is what the admin listener (Listeners.Admin) serves.
	Admin AdminConfig
	// TLS, if set, serves both listeners over TLS (with client certificate
	// verification if it asks for it). It is typically a
	// tlsfiles.Reloader's ServerConfig, so certificates rotate without a
	// restart. Nil serves plaintext.
	TLS *tls.Config
	// Limits bound bodies, connections and streams; zero fields take
	// their defaults.
	Limits Limits
	// RequestStore, if set, keeps the request-id log that makes
	// CreateImport and CreateReport idempotent where every replica sees it
	// (*redisrequests.Store on Redis): a retry is deduplicated whichever
	// replica it reaches, also after a restart, and a retry while the
	// first still runs on another replica waits for it there. While
	// RedisHealth marks Redis down the replica's in-memory log stands in.
	// Nil keeps the log in this process only.
	RequestStore RequestStore
	// RedisHealth is the breaker in front of RequestStore's Redis, shared
	// with every other user of that Redis (the token cache). Nil with a
	// RequestStore builds one for it alone, with this Config's Logger and
	// Metrics.
	RedisHealth *redishealth.Tracker
	// StreamTap, if set, runs when a gRPC stream's headers arrive, before
	// any of its messages is read or an interceptor runs: the place to
	// refuse, cheaply and without I/O, calls that carry no acceptable
	// credentials (access.Guard.TapHandle). The context it returns is the
	// call's.
	StreamTap tap.ServerInHandle
}

// Defaults for Config.
const (
	DefaultMaxUploadBytes  = 2 << 30
	DefaultWatchInterval   = 2 * time.Second
	DefaultShutdownTimeout = 15 * time.Second
)

// Request ids are remembered for a day, as Stripe does, and at most this
// many at once so memory stays bounded.
const (
	requestIDTTL  = 24 * time.Hour
	maxRequestIDs = 100_000
)

// streamWorkers is how many goroutines serve gRPC streams, reused from one
// call to the next (grpc.NumStreamWorkers; experimental in grpc-go, and a
// plain goroutine per stream, the default, when every worker is busy). A
// fresh goroutine per call grew its stack through the interceptor chain
// and the JSON log handler on every call: a tenth of a GetToken's CPU
// under load. Sixteen per CPU keep a closed-loop load of a few dozen
// concurrent calls on warm stacks; idle workers hold only their stacks.
func streamWorkers() uint32 { return uint32(16 * runtime.GOMAXPROCS(0)) }

// Server is the gateway's gRPC server and its REST facade.
type Server struct {
	cfg    Config
	log    *slog.Logger
	grpc   *grpc.Server
	health *health.Server

	draining     context.Context // cancelled when shutdown begins
	drainStarted context.CancelFunc
	metrics      *serverMetrics // nil without Config.Metrics
	access       accessLog
	serving      atomic.Bool // set once every listener is being served
	// drainWait waits out Config.DrainDelay; tests replace it to hold a
	// shutdown at the point where it is draining but still listening.
	drainWait func(time.Duration)

	// What the REST facade's in-process unary calls go through: the
	// server's tap and unary chain, and its unary methods.
	tap        tap.ServerInHandle
	unaryChain grpc.UnaryServerInterceptor
	unary      inprocMethods

	// sinks carry REST downloads' bytes from DownloadReport straight to
	// the facade's responses.
	sinks *downloadSinks
	// chunks recycles transfer buffers: the server's codec decodes upload
	// chunks into them, and the REST facade's codec encodes its upload
	// chunks into them.
	chunks *chunkPools
}

// newRequests is the request-id log cfg asks for.
func newRequests(cfg Config) (*requests, error) {
	r := &requests{local: newRequestLog(requestIDTTL, maxRequestIDs, cfg.Now), shared: cfg.RequestStore, health: cfg.RedisHealth}
	if r.shared != nil && r.health == nil {
		var err error
		if r.health, err = redishealth.New(redishealth.Options{Logger: cfg.Logger, Metrics: cfg.Metrics}); err != nil {
			return nil, fmt.Errorf("server: registering metrics: %w", err)
		}
	}
	return r, nil
}

// Listeners are the sockets a Server serves. GRPC and HTTP are required;
// Admin, if set, gets the admin endpoints (see AdminConfig), plaintext
// whatever Config.TLS says.
type Listeners struct {
	GRPC, HTTP, Admin net.Listener
}

// New builds the gRPC server with TokenService, health and reflection
// registered. Serve starts it.
func New(cfg Config) (*Server, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("server: Config.Tokens is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.WatchInterval <= 0 {
		cfg.WatchInterval = DefaultWatchInterval
	}
	cfg.Limits.setDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, health: health.NewServer(), drainWait: time.Sleep, sinks: newDownloadSinks()}
	s.draining, s.drainStarted = context.WithCancel(context.Background())
	requests, err := newRequests(cfg)
	if err != nil {
		return nil, err
	}
	var unary []grpc.UnaryServerInterceptor
	streams := []grpc.StreamServerInterceptor{endWatchesOnDrain(s.draining)}
	if cfg.Metrics != nil {
		m, err := newServerMetrics(cfg.Metrics, requests.local)
		if err != nil {
			return nil, fmt.Errorf("server: registering metrics: %w", err)
		}
		s.metrics = m
		// Before the access guard, so its refusals are counted too.
		var opts []grpcprom.Option
		if cfg.TracerProvider != nil {
			// Only then: looking for a span costs every observation.
			opts = append(opts, grpcprom.WithExemplarFromContext(traceExemplar))
		}
		// Integrity failures only end streams (uploads, downloads).
		unary = append(unary, m.grpc.UnaryServerInterceptor(opts...))
		streams = append(streams, m.grpc.StreamServerInterceptor(opts...), m.streamChecksum)
	}
	unary = append(unary, cfg.UnaryInterceptors...)
	streams = append(streams, cfg.StreamInterceptors...)
	serverOpts := append(grpcLimits(cfg.Limits), grpc.NumStreamWorkers(streamWorkers()))
	if cfg.TracerProvider != nil {
		if cfg.Propagator == nil {
			cfg.Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
			s.cfg.Propagator = cfg.Propagator
		}
		serverOpts = append(serverOpts, grpc.StatsHandler(otelgrpc.NewServerHandler(otelOptions(cfg)...)))
	}
	adm := newAdmission(cfg.Limits, cfg.StreamTap)
	access := newAccessLog(cfg.Logger, cfg.AccessLogSampling)
	s.access = access
	chunks := newChunkPools()
	s.chunks = chunks
	s.tap = adm.tap
	// One interceptor made of the whole chain, which the REST facade's
	// in-process calls (inprocConn) run too.
	s.unaryChain = chainUnary(append([]grpc.UnaryServerInterceptor{admitUnary}, unaryChain(cfg.Logger, access, unary)...))
	s.grpc = grpc.NewServer(append(serverOpts, grpc.Creds(newServerCredentials(cfg.TLS)),
		grpc.ForceServerCodecV2(newTransferCodec(chunks)),
		grpc.InTapHandle(s.tap),
		grpc.UnaryInterceptor(s.unaryChain),
		grpc.ChainStreamInterceptor(append([]grpc.StreamServerInterceptor{admitStream}, streamChain(cfg.Logger, access, streams)...)...),
	)...)
	s.unary = inprocMethods{}
	for _, svc := range []struct {
		desc *grpc.ServiceDesc
		impl any
	}{
		{&eeov1.TokenService_ServiceDesc, &tokenService{tokens: cfg.Tokens, now: cfg.Now}},
		{&eeov1.ImportReportService_ServiceDesc, &importReportService{
			upstreams:      cfg.Upstreams,
			requests:       requests,
			owners:         newObjectOwners(),
			maxUploadBytes: cfg.MaxUploadBytes,
			watchInterval:  cfg.WatchInterval,
			draining:       s.draining,
			now:            cfg.Now,
			sinks:          s.sinks,
			chunks:         chunks,
		}},
		{&healthpb.Health_ServiceDesc, s.health},
	} {
		s.grpc.RegisterService(svc.desc, svc.impl)
		s.unary.add(svc.desc, svc.impl)
	}
	reflection.Register(s.grpc) // v1 and v1alpha, for grpcurl list/describe
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	if s.metrics != nil {
		// Every method's series exist, at zero, before its first call.
		s.metrics.grpc.InitializeMetrics(s.grpc)
	}
	return s, nil
}

// Serve serves gRPC on grpcLis and REST on httpLis until ctx is done or
// either listener fails, then shuts down gracefully: health turns
// NOT_SERVING, new connections are refused, and in-flight calls get up to
// ShutdownTimeout to finish. It returns nil after a shutdown that ctx asked for.
func (s *Server) Serve(ctx context.Context, grpcLis, httpLis net.Listener) error {
	return s.ServeListeners(ctx, Listeners{GRPC: grpcLis, HTTP: httpLis})
}

// ServeListeners is Serve with an optional admin listener, which stays
// open through the whole drain (its /readyz failing from the start) and
// closes last.
func (s *Server) ServeListeners(ctx context.Context, l Listeners) error {
	grpcLis, httpLis := l.GRPC, l.HTTP
	internal := newInternalListener()
	conn, err := internal.dial(s.cfg)
	if err != nil {
		return fmt.Errorf("connecting the REST facade to the gRPC server: %w", err)
	}
	defer conn.Close()
	transfers, err := internal.dial(s.cfg, grpc.WithDefaultCallOptions(grpc.ForceCodecV2(newTransferCodec(s.chunks))))
	if err != nil {
		return fmt.Errorf("connecting the REST facade to the gRPC server: %w", err)
	}
	defer transfers.Close()
	var unaryConn grpc.ClientConnInterface = conn
	if s.cfg.TracerProvider == nil {
		// With tracing, over the connection: its stats handlers make the
		// client and server spans of every call.
		unaryConn = newInprocConn(conn, s.unary, s.tap, s.unaryChain, internal.Addr())
	}
	rest, err := newRESTHandler(ctx, unaryConn, transfers, s.cfg, s.metrics, s.sinks)
	if err != nil {
		return fmt.Errorf("building REST facade: %w", err)
	}
	httpSrv := &http.Server{
		Handler:           rest,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: maxRESTConcurrentStreams},
		Protocols:         restProtocols(s.cfg.TLS == nil && s.cfg.RESTUnencryptedHTTP2),
	}

	grpcLis = newLimitListener(grpcLis, &s.cfg.Limits)
	httpLis = newLimitListener(httpLis, &s.cfg.Limits)
	if s.cfg.TLS != nil {
		httpLis = tls.NewListener(httpLis, serverTLS(s.cfg.TLS, "h2", "http/1.1"))
	}
	errc := make(chan error, 4)
	go func() { errc <- serveErr("gRPC", s.grpc.Serve(grpcLis)) }()
	go func() { errc <- serveErr("internal gRPC", s.grpc.Serve(internal)) }()
	go func() { errc <- serveErr("REST", httpSrv.Serve(httpLis)) }()
	addrs := []any{"grpc_addr", grpcLis.Addr().String(), "http_addr", httpLis.Addr().String()}
	// Ready before the admin listener answers its first probe.
	s.serving.Store(true)
	var adminSrv *http.Server
	if l.Admin != nil {
		adminSrv = newAdminServer(s.adminHandler(), s.log)
		go func() { errc <- serveErr("admin", adminSrv.Serve(l.Admin)) }()
		addrs = append(addrs, "admin_addr", l.Admin.Addr().String())
	}
	s.log.Info("serving", addrs...)

	var serveFailure error
	select {
	case <-ctx.Done():
	case serveFailure = <-errc:
	}
	s.shutdown(httpSrv)
	// After the last call: what sampling dropped and no line reported yet.
	s.access.flushSuppressed()
	if adminSrv != nil {
		// Nothing to drain but probes and scrapes.
		adminSrv.Close()
	}
	return serveFailure
}

// Close releases what New started: the gRPC server's stream workers. A
// Server that was served needs it no more than one that was not, and
// calling it after Serve returned is harmless.
func (s *Server) Close() { s.grpc.Stop() }

func serveErr(what string, err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return fmt.Errorf("%s listener: %w", what, err)
}

// shutdown drains REST first, since its requests are gRPC calls in flight,
// then gRPC; whatever is still running at the deadline is cut off.
func (s *Server) shutdown(httpSrv *http.Server) {
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout, "drain_delay", s.cfg.DrainDelay)
	// Unready first (admin /readyz, gRPC health), listeners closed later.
	s.drainStarted()
	s.serving.Store(false)
	s.health.Shutdown()
	if s.cfg.DrainDelay > 0 {
		s.drainWait(s.cfg.DrainDelay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(ctx); err != nil {
		s.log.Warn("REST drain cut short", "error", err)
		httpSrv.Close()
	}
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.log.Warn("gRPC drain cut short; cancelling calls still in flight")
		s.grpc.Stop()
		<-stopped
	}
	s.log.Info("stopped")
}
