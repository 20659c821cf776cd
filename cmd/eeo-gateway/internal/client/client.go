// Package client is `eeo-gateway client`: an operator's command line for a
// running gateway, over gRPC. It lists accounts and hands out tokens,
// uploads import files with a progress bar and follows them to the end,
// and runs reports into files whose SHA-256 it checks.
//
// Commands print tables (or, with --output json, protobuf JSON for
// scripts) on stdout, and progress and errors on stderr. The exit status
// says what went wrong: see package exitcode.
package client

import (
	"io"
	"time"

	"github.com/spf13/cobra"
)

// Env is what the client gets from the process.
type Env struct {
	Getenv func(string) string
	Stdout io.Writer
	// Stderr receives progress and is where a terminal is looked for: a
	// progress bar is drawn only on a terminal, periodic lines otherwise.
	Stderr io.Writer
	// Now is the clock progress reports read; nil means time.Now.
	Now func() time.Time
}

// Environment variables the client reads.
const (
	// EnvKey holds the API key (or JWT) sent as a bearer credential.
	EnvKey = "EEO_KEY"
	// EnvAddr holds the gateway's gRPC address.
	EnvAddr = "EEO_ADDR"
)

// defaultAddr is where `serve --dev` listens.
const defaultAddr = "127.0.0.1:9090"

// NewCommand returns the `client` command and its subcommands.
func NewCommand(env Env) *cobra.Command {
	if env.Now == nil {
		env.Now = time.Now
	}
	o := &options{env: env}
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Operate a running gateway over gRPC: tokens, imports, reports",
		Long: `Operate a running gateway over gRPC: tokens, imports, reports.

The gateway's address comes from --addr or $` + EnvAddr + ` (default ` + defaultAddr + `),
the caller's API key from --key or $` + EnvKey + `. Plaintext unless --tls, --ca,
--cert or --insecure-skip-verify is given.

Tables go to stdout (--output json prints protobuf JSON instead, one object
per line for watch); progress and errors go to stderr. Progress is a bar on a
terminal and a line every --progress-interval otherwise.

Exit status: 0 success, 1 failure, 2 usage or invalid request, 3 caller
authentication or permission, 4 not found, 5 EEO or gateway unavailable or
failing, 6 data integrity (checksum or size mismatch).`,
		Example: `  export EEO_KEY=dev-…   # from the serve --dev banner
  eeo-gateway client accounts
  eeo-gateway client import upload demo people.csv --type participants --wait
  eeo-gateway client report run demo grants --param as_of=2026-01-31 -o grants.csv`,
	}
	o.addFlags(cmd)
	cmd.AddCommand(
		newAccountsCmd(o),
		newTokenCmd(o),
		newImportCmd(o),
		newReportCmd(o),
	)
	return cmd
}
