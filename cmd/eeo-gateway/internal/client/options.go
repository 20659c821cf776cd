package client

import (
	"fmt"
	"time"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/spf13/cobra"
)

// Values of --output.
const (
	outputText = "text"
	outputJSON = "json"
)

// options are the flags every client command shares.
type options struct {
	env Env

	addr    string
	key     string
	output  string
	timeout time.Duration

	tls                bool
	caFile             string
	certFile           string
	keyFile            string
	serverName         string
	insecureSkipVerify bool

	quiet            bool
	progressInterval time.Duration
}

func (o *options) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.addr, "addr", "", "gateway gRPC `address` (default $"+EnvAddr+" or "+defaultAddr+")")
	f.StringVar(&o.key, "key", "", "caller API `key` or JWT (default $"+EnvKey+")")
	f.StringVar(&o.output, "output", outputText, "text, or json for scripts")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "limit for each call that is not a transfer or a wait")
	f.BoolVar(&o.tls, "tls", false, "connect over TLS, verifying the gateway against the system roots (or --ca)")
	f.StringVar(&o.caFile, "ca", "", "PEM `file` of CAs to verify the gateway with (implies --tls)")
	f.StringVar(&o.certFile, "cert", "", "client certificate PEM `file` for mTLS (implies --tls; needs --key-file)")
	f.StringVar(&o.keyFile, "key-file", "", "client private key PEM `file` for mTLS")
	f.StringVar(&o.serverName, "server-name", "", "`name` to verify the gateway's certificate for (default: the host in --addr)")
	f.BoolVar(&o.insecureSkipVerify, "insecure-skip-verify", false, "TLS without verifying the gateway's certificate (testing only)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress output")
	f.DurationVar(&o.progressInterval, "progress-interval", 2*time.Second, "how often progress is printed when stderr is not a terminal")
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error { return o.resolve() }
}

// resolve fills defaults from the environment and checks flag combinations.
func (o *options) resolve() error {
	if o.addr == "" {
		o.addr = o.env.Getenv(EnvAddr)
	}
	if o.addr == "" {
		o.addr = defaultAddr
	}
	if o.key == "" {
		o.key = o.env.Getenv(EnvKey)
	}
	if o.output != outputText && o.output != outputJSON {
		return exitcode.Usagef("--output must be %s or %s, got %q", outputText, outputJSON, o.output)
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return exitcode.Usagef("--cert and --key-file go together")
	}
	if o.progressInterval < 0 {
		return exitcode.Usagef("--progress-interval must not be negative")
	}
	return nil
}

// json reports whether --output json was asked for.
func (o *options) json() bool { return o.output == outputJSON }

// usesTLS reports whether any flag asks for TLS.
func (o *options) usesTLS() bool {
	return o.tls || o.caFile != "" || o.certFile != "" || o.insecureSkipVerify
}

// String describes the connection for error messages, never the key.
func (o *options) String() string {
	mode := "plaintext"
	if o.usesTLS() {
		mode = "TLS"
	}
	return fmt.Sprintf("%s (%s)", o.addr, mode)
}
