package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	gwclient "github.com/eeo-gateway/eeo-gateway/client"
	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// dial connects to the gateway. grpc.NewClient connects lazily, so an
// unreachable gateway shows up as UNAVAILABLE on the first call.
func (o *options) dial() (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if o.usesTLS() {
		cfg, err := o.tlsConfig()
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	// The client library's flow-control windows: `client download` moves
	// whole reports, and with grpc-go's defaults it spent more CPU
	// receiving than the gateway did sending (see client.DialOptions).
	opts := append(gwclient.DialOptions(), grpc.WithTransportCredentials(creds), grpc.WithUnaryInterceptor(o.boundUnary))
	if o.key != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{key: o.key}))
	}
	conn, err := grpc.NewClient(o.addr, opts...)
	if err != nil {
		return nil, exitcode.Usagef("--addr %q: %w", o.addr, err)
	}
	return conn, nil
}

// tlsConfig builds the client TLS configuration from the flags.
func (o *options) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         o.serverName,
		InsecureSkipVerify: o.insecureSkipVerify, //nolint:gosec // only on request, for testing
	}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca: no PEM certificates in %s", o.caFile)
		}
	}
	if o.certFile != "" {
		pair, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key-file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// bearer sends the caller's key as "authorization: Bearer KEY" metadata.
// It does not require transport security: `serve --dev` is plaintext on
// loopback, and a production gateway without TLS is the operator's call.
type bearer struct{ key string }

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.key}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// errNoKey explains an unauthenticated call made without any key.
var errNoKey = errors.New("no caller key: pass --key or set " + EnvKey)

// clients are the gateway's services on one connection.
type clients struct {
	tokens  eeov1.TokenServiceClient
	imports eeov1.ImportReportServiceClient
}

// idCmd builds a subcommand taking ACCOUNT and one resource ID that runs
// run on a connection: most import and report subcommands have this shape,
// and building them one way keeps their arity and dialling alike.
func (o *options) idCmd(use, short string, run func(ctx context.Context, c clients, account, id string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				return run(ctx, c, args[0], args[1])
			})
		},
	}
}

// withConn dials the gateway, runs f with the command's context, and
// closes the connection.
func (o *options) withConn(cmd *cobra.Command, f func(ctx context.Context, c clients) error) error {
	conn, err := o.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(cmd.Context(), clients{tokens: eeov1.NewTokenServiceClient(conn), imports: eeov1.NewImportReportServiceClient(conn)})
}

// boundUnary limits every unary call to --timeout. Streams (transfers,
// watches) are not limited: a 2 GiB upload or a long report may take
// longer than any fixed bound.
func (o *options) boundUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok && o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
