package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/internal/metrics"
	"github.com/eeo-gateway/eeo-gateway/internal/redishealth"
	"github.com/eeo-gateway/eeo-gateway/internal/version"
	"github.com/eeo-gateway/eeo-gateway/server"
	"github.com/eeo-gateway/eeo-gateway/tlsfiles"
	"google.golang.org/grpc"
)

// stack is everything `serve` runs, wired and bound to its ports but not yet
// serving. newDevStack and newProductionStack build one; they differ only in
// where the configuration, the caller access rules and EEO come from.
type stack struct {
	cfg    config.Config
	logger *slog.Logger
	server *server.Server
	env    env // for the OTEL_* variables and test seams
	grpc   net.Listener
	http   net.Listener
	admin  net.Listener // nil when admin_addr is off

	// background runs beside the server: the embedded sandbox, the
	// client-secret file watcher. Their context ends only after the server
	// has drained, so calls in flight can still fetch tokens.
	background []func(ctx context.Context)
	// banner, if set, prints what to try against this stack. It runs
	// beside the server, so it may call it: dev mode creates the report its
	// download line names.
	banner func(ctx context.Context, w io.Writer)
	// interrupts run, in order, once serving has stopped and the
	// background work has been told to end, before it is waited for and
	// before the closers: they end calls that a cancelled context does
	// not (a Redis command blocked on a Redis that does not answer).
	interrupts []func()
	// closers release what the build acquired, last first.
	closers []func()
}

// run serves until ctx is done, then drains, stops the background work
// and releases everything.
func (s *stack) run(ctx context.Context, stdout io.Writer) error {
	defer s.close()
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, f := range s.background {
		wg.Go(func() { f(bgCtx) })
	}
	if s.banner != nil {
		wg.Go(func() { s.banner(bgCtx, stdout) })
	}
	defer func() {
		stopBackground()
		for _, f := range s.interrupts {
			f()
		}
		wg.Wait()
	}()

	s.logger.Info("eeo-gateway starting", append(version.Get().LogAttrs(), "config", s.cfg)...)
	return s.server.ServeListeners(ctx, server.Listeners{GRPC: s.grpc, HTTP: s.http, Admin: s.admin})
}

// onClose registers f to run when the stack is closed.
func (s *stack) onClose(f func()) { s.closers = append(s.closers, f) }

// close releases everything in reverse order of acquisition. A build that
// fails part way calls it to undo what it had done.
func (s *stack) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// buildGateway wires the gateway proper onto s, whose cfg and logger are
// set: caller guard, token cache, EEO clients, TLS, the server and its two
// listeners. On error s is closed.
func (s *stack) buildGateway(guardCfg access.Config) (err error) {
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	cfg, logger := s.cfg, s.logger

	obs, err := newObservability(context.Background(), s.env, cfg, guardCfg)
	if err != nil {
		return fmt.Errorf("observability: %w", err)
	}
	s.onClose(func() { obs.shutdown(context.Background()) })
	registry := obs.registry

	guardCfg.Observer = obs.access
	guard, err := access.New(guardCfg)
	if err != nil {
		return fmt.Errorf("configuration: access: %w", err)
	}
	s.onClose(guard.Close)

	rb, err := newRedisBackend(cfg.Redis, logger, registry)
	if err != nil {
		return err
	}
	if rb != nil {
		s.onClose(rb.close)
		s.background = append(s.background, rb.watch)
	}

	cache, secretFiles, err := newTokenCache(cfg, logger, obs, rb.tokenStore())
	if err != nil {
		return err
	}
	s.onClose(cache.Close)
	if rb != nil {
		registry.MustRegister(redishealth.UpGauge(redishealth.StoreTokens, func() bool { return cache.SharedStatus().Up }))
		// Once serving has stopped nothing needs Redis, and a command
		// blocked on a Redis that does not answer ends at its timeout,
		// not when its context is cancelled: the cache stops first, so
		// that its calls failing now are not taken for an outage, then
		// closing the client ends them all at once.
		s.interrupts = append(s.interrupts, cache.Stop, rb.close)
	}
	registry.MustRegister(metrics.NewTokenCacheCollector(cache, nil))
	if len(secretFiles) > 0 {
		s.background = append(s.background, func(ctx context.Context) {
			auth.WatchSecretFiles(ctx, cache, secretFiles, secretCheckInterval, logger.With("component", "secrets"))
		})
	}
	upstreams, err := newUpstreams(cfg, cache, logger, obs)
	if err != nil {
		return err
	}
	var serverTLS *tls.Config
	if cfg.TLS.Enabled() {
		certs, err := tlsfiles.New(tlsfiles.Options{
			CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, ClientCAFile: cfg.TLS.ClientCAFile,
			Logger: logger.With("component", "tls"),
		})
		if err != nil {
			return err
		}
		serverTLS = certs.ServerConfig()
	}
	// Validate has checked them; this cannot fail.
	trustedProxies, err := cfg.HTTP.TrustedProxyPrefixes()
	if err != nil {
		return err
	}
	s.server, err = server.New(server.Config{
		Tokens:                 cache,
		Upstreams:              upstreams,
		MaxUploadBytes:         cfg.Files.MaxUploadBytes,
		WatchInterval:          cfg.Files.WatchInterval.Std(),
		Logger:                 logger,
		AccessLogSampling:      cfg.Log.AccessSampling.Server(),
		StreamTap:              guard.TapHandle(),
		RequestStore:           rb.requestStore(),
		RedisHealth:            rb.healthTracker(),
		UnaryInterceptors:      []grpc.UnaryServerInterceptor{guard.UnaryInterceptor()},
		StreamInterceptors:     []grpc.StreamServerInterceptor{guard.StreamInterceptor()},
		RESTMetadata:           guard.ForwardCertificate,
		TLS:                    serverTLS,
		AllowedMetadataHeaders: cfg.HTTP.AllowedMetadataHeaders,
		CORSAllowedOrigins:     cfg.HTTP.CORSAllowedOrigins,
		RESTUnencryptedHTTP2:   cfg.HTTP.H2C,
		ShutdownTimeout:        cfg.ShutdownTimeout.Std(),
		DrainDelay:             cfg.ShutdownDrainDelay.Std(),
		Limits:                 serverLimits(cfg),
		TrustedProxies:         trustedProxies,
		Metrics:                registry,
		TracerProvider:         obs.tracerProvider(),
		Propagator:             obs.propagator(),
		Admin:                  server.AdminConfig{Gatherer: registry, Pprof: cfg.Admin.Pprof},
	})
	if err != nil {
		return err
	}
	s.onClose(s.server.Close)

	// The server closes the listeners once it serves; these closers only
	// matter when the stack is closed without having run.
	if s.grpc, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return fmt.Errorf("gRPC listener: %w (choose another address with --grpc-addr)", err)
	}
	s.onClose(func() { s.grpc.Close() })
	if s.http, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return fmt.Errorf("REST listener: %w (choose another address with --http-addr)", err)
	}
	s.onClose(func() { s.http.Close() })
	if cfg.AdminAddr != "" {
		if s.admin, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			return fmt.Errorf("admin listener: %w (choose another address with --admin-addr, or --admin-addr off)", err)
		}
		s.onClose(func() { s.admin.Close() })
	}
	return nil
}
