package main

import (
	"fmt"
	"net"
	"time"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/spf13/cobra"
)

func newSandboxCmd(e env) *cobra.Command {
	var (
		listen, clientID, secretEnv, logLevel string
		idle, step                            time.Duration
		maxUpload                             int64
		oneActive                             bool
	)
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run only the EEO sandbox, for pointing a gateway or a test at",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			secret := e.getenv(secretEnv)
			if secret == "" {
				return fmt.Errorf("set %s to the client secret the sandbox should accept for %q", secretEnv, clientID)
			}
			logger, err := newLogger(logLevel, "text", e.stderr)
			if err != nil {
				return err
			}
			lis, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("sandbox listener: %w (choose another address with --listen)", err)
			}
			sb := sandbox.New(sandbox.Options{
				Clients:        []sandbox.Client{{ID: clientID, Secret: secret}},
				IdleTimeout:    idle,
				StepDuration:   step,
				MaxUploadBytes: maxUpload,
				OneActiveToken: oneActive,
				Logger:         logger,
			})
			fmt.Fprintf(e.stdout, "EEO sandbox listening on http://%s (token endpoint /oauth2/token, client %q)\n", lis.Addr(), clientID)
			return sb.Serve(cmd.Context(), lis)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8099", "listen `address`")
	f.StringVar(&clientID, "client-id", "demo-client", "the one client `id` the sandbox accepts")
	f.StringVar(&secretEnv, "client-secret-env", "EEO_SANDBOX_CLIENT_SECRET", "environment `variable` holding that client's secret")
	f.DurationVar(&idle, "idle-timeout", 3599*time.Second, "tokens unused this long are rejected (EEO's inactivity rule)")
	f.DurationVar(&step, "step", time.Second, "how long imports and reports spend in each processing state")
	f.Int64Var(&maxUpload, "max-upload-bytes", 4<<30, "largest accepted import file")
	f.BoolVar(&oneActive, "one-active-token", false, "issuing a token revokes the client's earlier ones (reproduces the 401 storm of replicas that each fetch their own token)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
