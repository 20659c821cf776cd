// Command eeo-gateway serves EEO access tokens, imports and reports over gRPC
// and REST, or runs the EEO sandbox on its own.
//
//	eeo-gateway serve --dev                 # embedded sandbox, no config
//	eeo-gateway serve --config gateway.yaml # a real deployment
//	eeo-gateway sandbox --listen 127.0.0.1:8099
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], env{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr})
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "eeo-gateway: %v\n", err)
		os.Exit(1)
	}
}

// env is what the process gets from outside, passed in so tests can run
// the command without touching the real environment.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// errUsage marks a command-line mistake whose usage text was already printed.
var errUsage = errors.New("usage")

const usage = `usage:
  eeo-gateway serve --dev [--grpc-addr ADDR] [--http-addr ADDR]
      Serve on an embedded EEO sandbox with a "demo" account. No config needed.
  eeo-gateway serve --config FILE [--grpc-addr ADDR] [--http-addr ADDR] [--log-level LEVEL]
      Serve the accounts in FILE (see config/testdata/example.yaml).
  eeo-gateway sandbox [--listen ADDR] [--client-id ID] [--client-secret-env VAR]
      Run only the EEO sandbox, for pointing a gateway or a test at.

Run "eeo-gateway COMMAND -h" for a command's flags.
`

func run(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], e)
	case "sandbox":
		return runSandbox(ctx, args[1:], e)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, usage)
		return nil
	}
	fmt.Fprintf(e.stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
