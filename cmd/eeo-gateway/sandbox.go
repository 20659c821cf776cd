package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

func runSandbox(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", "127.0.0.1:8099", "listen `address`")
	clientID := fs.String("client-id", "demo-client", "the one client `id` the sandbox accepts")
	secretEnv := fs.String("client-secret-env", "EEO_SANDBOX_CLIENT_SECRET", "environment `variable` holding that client's secret")
	idle := fs.Duration("idle-timeout", 3599*time.Second, "tokens unused this long are rejected (EEO's inactivity rule)")
	step := fs.Duration("step", time.Second, "how long imports and reports spend in each processing state")
	maxUpload := fs.Int64("max-upload-bytes", 4<<30, "largest accepted import file")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	secret := e.getenv(*secretEnv)
	if secret == "" {
		return fmt.Errorf("set %s to the client secret the sandbox should accept for %q", *secretEnv, *clientID)
	}
	logger, err := newLogger(*logLevel, "text", e.stderr)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("sandbox listener: %w (choose another address with --listen)", err)
	}
	sb := sandbox.New(sandbox.Options{
		Clients:        []sandbox.Client{{ID: *clientID, Secret: secret}},
		IdleTimeout:    *idle,
		StepDuration:   *step,
		MaxUploadBytes: *maxUpload,
		Logger:         logger,
	})
	fmt.Fprintf(e.stdout, "EEO sandbox listening on http://%s (token endpoint /oauth2/token, client %q)\n", lis.Addr(), *clientID)
	return sb.Serve(ctx, lis)
}
