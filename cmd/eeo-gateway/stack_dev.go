package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// Dev mode's account and sandbox client.
const (
	devAccount  = "demo"
	devClientID = "demo-client"
)

// newDevStack builds `serve --dev`: an embedded EEO sandbox on a free
// loopback port, one "demo" account pointing at it with a secret made up
// for this run, one API key for the caller "apikey:dev", and a banner of
// commands to try.
func newDevStack(f serveFlags, e env) (_ *stack, err error) {
	s := &stack{env: e}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	sandboxLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the embedded sandbox: %w", err)
	}
	s.onClose(func() { sandboxLis.Close() })
	base := "http://" + sandboxLis.Addr().String()
	secret := auth.NewSecret(rand.Text())
	cfg, err := config.Dev(e.getenv, config.Account{
		Name: devAccount, TokenURL: base + "/oauth2/token", BaseURL: base,
		ClientID: devClientID, ClientSecret: secret,
	})
	if err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	f.applyOverrides(&cfg)
	// Watches poll no slower than the sandbox moves, so a fast sandbox
	// gives fast waits.
	cfg.Files.WatchInterval = min(cfg.Files.WatchInterval, config.Duration(f.sandboxStep))
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	if s.logger, err = newServiceLogger(s, cfg.LogLevel, cfg.LogFormat, e.stderr); err != nil {
		return nil, err
	}
	s.cfg = cfg

	sb := sandbox.New(sandbox.Options{
		Clients:      []sandbox.Client{{ID: devClientID, Secret: secret.Reveal()}},
		StepDuration: f.sandboxStep,
		Logger:       s.logger.With("component", "sandbox"),
	})
	s.background = append(s.background, func(ctx context.Context) { sb.Serve(ctx, sandboxLis) })

	key, guardCfg := devAccess(e.getenv)
	guardCfg.Audit = s.logger.With("component", "audit")
	if err := s.buildGateway(guardCfg); err != nil {
		return nil, err
	}
	// The banner's report download line names a report made at start-up
	// through the gateway itself, so the banner waits for the server to
	// answer.
	s.banner = func(ctx context.Context, w io.Writer) {
		id, err := createSampleReport(ctx, s.grpc.Addr().String(), key)
		if err != nil {
			s.logger.Warn("the banner shows a report download line without an id", "err", err)
		}
		printDevBanner(w, newBanner(key, sandboxLis.Addr(), s.grpc.Addr(), s.http.Addr(), listenerAddr(s.admin), id))
	}
	return s, nil
}

// listenerAddr is l's address, or nil for no listener.
func listenerAddr(l net.Listener) net.Addr {
	if l == nil {
		return nil
	}
	return l.Addr()
}
