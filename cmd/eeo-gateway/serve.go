package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/eeo-gateway/eeo-gateway/server"
	"github.com/eeo-gateway/eeo-gateway/tlsfiles"
	"google.golang.org/grpc"
)

// Dev mode's account and sandbox client.
const (
	devAccount  = "demo"
	devClientID = "demo-client"
)

func serve(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dev := fs.Bool("dev", false, "serve on an embedded EEO sandbox with a \"demo\" account; no config needed")
	configPath := fs.String("config", "", "YAML configuration `file` (see config/testdata/example.yaml)")
	grpcAddr := fs.String("grpc-addr", "", "gRPC listen `address` (overrides config; default 127.0.0.1:9090)")
	httpAddr := fs.String("http-addr", "", "REST listen `address` (overrides config; default 127.0.0.1:8080)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (overrides config)")
	insecure := fs.Bool("insecure-allow-unauthenticated", false,
		"serve without caller authentication (only behind something that authenticates callers; logged loudly)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 || *dev == (*configPath != "") {
		fmt.Fprintln(e.stderr, "serve needs exactly one of --dev or --config FILE")
		fs.Usage()
		return errUsage
	}

	var sandboxLis net.Listener
	var cfg config.Config
	var err error
	if *dev {
		if sandboxLis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("starting the embedded sandbox: %w", err)
		}
		defer sandboxLis.Close()
		secret := auth.NewSecret(rand.Text())
		base := "http://" + sandboxLis.Addr().String()
		cfg, err = config.Dev(e.getenv, config.Account{
			Name: devAccount, TokenURL: base + "/oauth2/token", BaseURL: base,
			ClientID: devClientID, ClientSecret: secret,
		})
	} else {
		cfg, err = config.Load(*configPath, e.getenv, os.ReadFile)
	}
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	overrideIfSet(&cfg.GRPCAddr, *grpcAddr)
	overrideIfSet(&cfg.HTTPAddr, *httpAddr)
	overrideIfSet(&cfg.LogLevel, *logLevel)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}

	logger, err := newLogger(cfg.LogLevel, cfg.LogFormat, e.stderr)
	if err != nil {
		return err
	}
	if *dev {
		sb := sandbox.New(sandbox.Options{
			Clients: []sandbox.Client{{ID: devClientID, Secret: cfg.Accounts[0].ClientSecret.Reveal()}},
			Logger:  logger.With("component", "sandbox"),
		})
		// The sandbox outlives the gateway's drain, so token fetches of
		// calls in flight still succeed, and stops on any return.
		sandboxCtx, stopSandbox := context.WithCancel(context.WithoutCancel(ctx))
		sandboxDone := make(chan error, 1)
		go func() { sandboxDone <- sb.Serve(sandboxCtx, sandboxLis) }()
		defer func() { stopSandbox(); <-sandboxDone }()
	}

	var guardCfg access.Config
	var devKey string
	if *dev {
		devKey, guardCfg = devAccess(e.getenv)
		guardCfg.Audit = logger.With("component", "audit")
	} else if guardCfg, err = accessFromConfig(cfg.Access, *insecure, logger); err != nil {
		return err
	}
	guard, err := access.New(guardCfg)
	if err != nil {
		return fmt.Errorf("configuration: access: %w", err)
	}
	defer guard.Close()

	cache, secretFiles, err := newTokenCache(cfg, logger)
	if err != nil {
		return err
	}
	defer cache.Close()
	if len(secretFiles) > 0 {
		watchCtx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			auth.WatchSecretFiles(watchCtx, cache, secretFiles, secretCheckInterval, logger.With("component", "secrets"))
			close(watched)
		}()
		defer func() { stopWatch(); <-watched }()
	}
	upstreams, err := newUpstreams(cfg, cache, logger)
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
	srv, err := server.New(server.Config{
		Tokens:                 cache,
		Upstreams:              upstreams,
		MaxUploadBytes:         cfg.Files.MaxUploadBytes,
		WatchInterval:          cfg.Files.WatchInterval.Std(),
		Logger:                 logger,
		UnaryInterceptors:      []grpc.UnaryServerInterceptor{guard.UnaryInterceptor()},
		StreamInterceptors:     []grpc.StreamServerInterceptor{guard.StreamInterceptor()},
		RESTMetadata:           guard.ForwardCertificate,
		TLS:                    serverTLS,
		AllowedMetadataHeaders: cfg.HTTP.AllowedMetadataHeaders,
		CORSAllowedOrigins:     cfg.HTTP.CORSAllowedOrigins,
		ShutdownTimeout:        cfg.ShutdownTimeout.Std(),
		DrainDelay:             cfg.ShutdownDrainDelay.Std(),
	})
	if err != nil {
		return err
	}

	grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("gRPC listener: %w (choose another address with --grpc-addr)", err)
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("REST listener: %w (choose another address with --http-addr)", err)
	}
	if *dev {
		printDevBanner(e.stdout, devKey, sandboxLis.Addr(), grpcLis.Addr(), httpLis.Addr())
	}
	logger.Info("eeo-gateway starting", "config", cfg)
	return srv.Serve(ctx, grpcLis, httpLis)
}

func overrideIfSet(dst *string, flagValue string) {
	if flagValue != "" {
		*dst = flagValue
	}
}

// newTokenCache builds one client-credentials fetcher per account. The HTTP
// client's own timeouts bound connection set-up; the cache's fetch timeout
// bounds the whole exchange.
// secretCheckInterval is how often client secret files are checked for
// rotation.
const secretCheckInterval = 10 * time.Second

func newTokenCache(cfg config.Config, logger *slog.Logger) (*auth.Cache, map[string]*auth.FileSecret, error) {
	transport := upstreamTransport()
	transport.ResponseHeaderTimeout = cfg.Token.FetchTimeout.Std()
	httpClient := &http.Client{Transport: transport}

	accounts := make([]auth.Account, 0, len(cfg.Accounts))
	files := map[string]*auth.FileSecret{}
	for _, a := range cfg.Accounts {
		style := auth.AuthStyleBasic
		if a.AuthStyle == config.AuthStyleForm {
			style = auth.AuthStyleForm
		}
		fetcher := &auth.ClientCredentials{
			TokenURL:     a.TokenURL,
			ClientID:     a.ClientID,
			ClientSecret: a.ClientSecret,
			Scopes:       a.Scopes,
			AuthStyle:    style,
			HTTPClient:   httpClient,
		}
		// A secret in a file can be rotated without a restart.
		if a.ClientSecretFile != "" {
			fs, err := auth.NewFileSecret(a.ClientSecretFile)
			if err != nil {
				return nil, nil, err
			}
			fetcher.SecretSource, files[a.Name] = fs, fs
		}
		accounts = append(accounts, auth.Account{Name: a.Name, Fetcher: fetcher})
	}
	t := cfg.Token
	cache, err := auth.NewCache(accounts, auth.Options{
		IdleTimeout:    t.IdleTimeout.Std(),
		IdleMargin:     t.IdleMargin.Std(),
		ExpiryMargin:   t.ExpiryMargin.Std(),
		MaxLifetime:    t.MaxLifetime.Std(),
		FetchTimeout:   t.FetchTimeout.Std(),
		BackoffInitial: t.BackoffInitial.Std(),
		BackoffMax:     t.BackoffMax.Std(),
		Logger:         logger.With("component", "token-cache"),
	})
	return cache, files, err
}

// newUpstreams builds each account's EEO import/report client. The
// transport waits for 100 Continue before sending an upload's body, so EEO
// can refuse a stale token before the body is consumed; no overall client
// timeout, since uploads and downloads may take many minutes.
func newUpstreams(cfg config.Config, tokens eeo.TokenSource, logger *slog.Logger) (map[string]server.Upstream, error) {
	transport := upstreamTransport()
	transport.ExpectContinueTimeout = time.Second
	transport.ResponseHeaderTimeout = time.Minute
	httpClient := &http.Client{Transport: transport}

	upstreams := make(map[string]server.Upstream, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		c, err := eeo.New(a.Name, a.BaseURL, tokens, eeo.Options{
			HTTPClient: httpClient,
			Logger:     logger.With("component", "eeo", "account", a.Name),
		})
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", a.Name, err)
		}
		upstreams[a.Name] = c
	}
	return upstreams, nil
}

// upstreamTransport bounds connection set-up to EEO: dial and TLS handshake
// fail within 5 s instead of the OS's minutes, so a blackholed EEO shows up
// as UNAVAILABLE while callers still wait.
func upstreamTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	return t
}
