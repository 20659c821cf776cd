// Command eeo-gateway serves EEO access tokens, imports and reports over gRPC
// and REST, runs the EEO sandbox on its own, checks configuration files, and
// drives a running gateway as an operator client.
//
//	eeo-gateway serve --dev                 # embedded sandbox, no config
//	eeo-gateway serve --config gateway.yaml # a real deployment
//	eeo-gateway check-config gateway.yaml   # validate before a deploy
//	eeo-gateway client accounts             # talk to a running gateway
//	eeo-gateway sandbox --listen 127.0.0.1:8099
//	eeo-gateway version
//
// Exit status: 0 success, 1 failure, 2 usage, 3 caller auth, 4 not found,
// 5 EEO/upstream failure, 6 data integrity.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "eeo-gateway: %v\n", err)
	}
	os.Exit(exitcode.Of(err))
}

// env is what the process gets from outside, passed in so tests can run
// the command without touching the real environment.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// spanExporter, set only by tests, receives the spans of a served
	// stack whatever the OTEL_* environment says.
	spanExporter sdktrace.SpanExporter
}

// run executes the command line args and returns what main reports; the
// error's exit status is exitcode.Of(err).
func run(ctx context.Context, args []string, e env) error {
	if e.stdin == nil {
		e.stdin = eofReader{}
	}
	root := newRootCmd(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if exitcode.Of(err) == exitcode.Usage {
		return exitcode.With(exitcode.Usage, fmt.Errorf("%w\nRun '%s --help' for usage.", err, cmd.CommandPath()))
	}
	return err
}

// eofReader is the standard input of a test that gives none.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
