package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/internal/redisconn"
	"github.com/eeo-gateway/eeo-gateway/tlsfiles"
	"github.com/spf13/cobra"
)

// checkConfigFlags are check-config's settings.
type checkConfigFlags struct {
	requireSecrets bool
	online         bool
	output         string
}

// Values of --output.
const (
	outputText = "text"
	outputJSON = "json"
)

func newCheckConfigCmd(e env) *cobra.Command {
	var f checkConfigFlags
	cmd := &cobra.Command{
		Use:   "check-config FILE",
		Short: "Validate a configuration file without starting the gateway",
		Long: `Validate a configuration file without starting the gateway and, unless
--online is given, without the network: no JWKS fetch, no call to EEO.

Every problem is reported at once as FILE:LINE:COLUMN: SEVERITY: PATH: MESSAGE,
PATH being the field as the file spells it (access.jwt.jwks_url). Secrets are
checked for presence, never printed. A secret, TLS or JWKS file that is not
present on this machine is a warning unless --require-secrets is given (run it
that way where the gateway runs, e.g. in an init container).

Exit status 0 if the file is valid (warnings allowed), 1 if not.`,
		Example: `  eeo-gateway check-config config/testdata/example.yaml
  eeo-gateway check-config --require-secrets /etc/eeo-gateway/config.yaml
  eeo-gateway check-config --online /etc/eeo-gateway/config.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.output != outputText && f.output != outputJSON {
				return exitcode.Usagef("--output must be %s or %s, got %q", outputText, outputJSON, f.output)
			}
			r := checkConfig(cmd.Context(), args[0], f, e.getenv)
			return printCheckReport(e.stdout, r, f.output)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.requireSecrets, "require-secrets", false, "a client secret, TLS, Redis TLS or JWKS file not present here is an error, not a warning")
	fl.BoolVar(&f.online, "online", false, "also fetch the JWKS, PING Redis and request one EEO token per account (implies --require-secrets)")
	fl.StringVarP(&f.output, "output", "o", outputText, "text or json")
	return cmd
}

// checkConfig runs every check f asks for on the file at path.
func checkConfig(ctx context.Context, path string, f checkConfigFlags, getenv func(string) string) *config.Report {
	strict := f.requireSecrets || f.online
	r := config.Check(path, getenv, os.ReadFile, config.CheckOptions{RequireSecrets: strict})
	absent := config.SeverityWarning
	if strict {
		absent = config.SeverityError
	}
	checkTLSFiles(r, absent)
	checkJWKS(r, absent, f.online)
	checkRedis(ctx, r, absent, f.online)
	if f.online && !r.HasErrors() {
		checkTokens(ctx, r)
	}
	r.Sort()
	return r
}

// checkTLSFiles loads the TLS certificate, key and client CA as serve
// would, when they are present.
func checkTLSFiles(r *config.Report, absent config.Severity) {
	t := r.Config.TLS
	if !t.Enabled() || r.HasErrorsAt("tls") {
		return
	}
	if !filesPresent(r, absent, map[string]string{"tls.cert_file": t.CertFile, "tls.key_file": t.KeyFile, "tls.client_ca_file": t.ClientCAFile}) {
		return
	}
	if _, err := tlsfiles.New(tlsfiles.Options{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile}); err != nil {
		r.Add(config.SeverityError, "tls", err)
	}
}

// checkRedis loads the Redis TLS files as serve would, when they are
// present, and with online PINGs Redis (with its password and TLS), which
// serve does not need at start but replicas need to share anything.
func checkRedis(ctx context.Context, r *config.Report, absent config.Severity, online bool) {
	c := r.Config.Redis
	if c == nil || r.HasErrorsAt("redis.tls") {
		return
	}
	if !filesPresent(r, absent, map[string]string{"redis.tls.ca_file": c.TLS.CAFile, "redis.tls.cert_file": c.TLS.CertFile, "redis.tls.key_file": c.TLS.KeyFile}) || r.HasErrorsAt("redis") {
		return
	}
	if c.PasswordFile != "" && c.Password.IsZero() {
		return // absent here: config.Check has said so, as a warning offline
	}
	client, err := redisconn.New(*c, nil)
	if err != nil {
		r.Add(config.SeverityError, "redis", err)
		return
	}
	defer client.Close()
	if !online {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.DialTimeout.Std()+c.ReadTimeout.Std())
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		r.Add(config.SeverityError, "redis", fmt.Errorf("PING: %w", err))
	}
}

// checkJWKS builds the caller guard when that needs no network (a
// jwks_file) or the network is allowed (--online, a jwks_url): building it
// loads and parses the key set.
func checkJWKS(r *config.Report, absent config.Severity, online bool) {
	j := r.Config.Access.JWT
	if j == nil || r.HasErrorsAt("access.jwt") {
		return
	}
	field := "access.jwt.jwks_url"
	switch {
	case j.JWKSFile != "":
		field = "access.jwt.jwks_file"
		if !filesPresent(r, absent, map[string]string{field: j.JWKSFile}) {
			return
		}
	case !online:
		return
	}
	guardCfg, err := accessFromConfig(r.Config.Access, false, slog.New(slog.DiscardHandler))
	if err == nil {
		var g *access.Guard
		if g, err = access.New(guardCfg); err == nil {
			g.Close()
		}
	}
	if err != nil {
		r.Add(config.SeverityError, field, err)
	}
}

// filesPresent reports whether every named file exists, adding a problem
// of severity absent for each that does not. Empty names are skipped.
func filesPresent(r *config.Report, absent config.Severity, files map[string]string) bool {
	ok := true
	for field, name := range files {
		if name == "" {
			continue
		}
		if _, err := os.Stat(name); errors.Is(err, fs.ErrNotExist) {
			r.Add(absent, field, fmt.Errorf("file %s is not present here", name))
			ok = false
		}
	}
	return ok
}

// checkTokens requests one token per account from EEO, as the gateway's
// first call for it would.
func checkTokens(ctx context.Context, r *config.Report) {
	httpClient := newTokenHTTPClient(r.Config)
	defer httpClient.CloseIdleConnections()
	for i, a := range r.Config.Accounts {
		at := fmt.Sprintf("accounts[%d]", i)
		fetcher, _, err := newFetcher(a, httpClient)
		if err == nil {
			fetchCtx, cancel := context.WithTimeout(ctx, r.Config.Token.FetchTimeout.Std())
			_, err = fetcher.FetchToken(fetchCtx)
			cancel()
		}
		if err != nil {
			r.Add(config.SeverityError, at, fmt.Errorf("requesting a token from %s: %w", a.TokenURL, err))
		}
	}
}

// printCheckReport writes the problems and a summary line, and returns an
// error if there is any error among them.
func printCheckReport(w io.Writer, r *config.Report, output string) error {
	errs, warns := r.Count(config.SeverityError), r.Count(config.SeverityWarning)
	if output == outputJSON {
		type problem struct {
			Severity string `json:"severity"`
			File     string `json:"file"`
			Line     int    `json:"line,omitempty"`
			Column   int    `json:"column,omitempty"`
			Path     string `json:"path,omitempty"`
			Message  string `json:"message"`
		}
		out := struct {
			File     string    `json:"file"`
			Valid    bool      `json:"valid"`
			Problems []problem `json:"problems"`
		}{File: r.File, Valid: errs == 0, Problems: []problem{}}
		for _, p := range r.Problems {
			out.Problems = append(out.Problems, problem{p.Severity.String(), p.File, p.Line, p.Column, p.Path, p.Message})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		for _, p := range r.Problems {
			fmt.Fprintln(w, p)
		}
		if errs == 0 {
			fmt.Fprintf(w, "%s: OK (%s)\n", r.File, plural(warns, "warning"))
		}
	}
	if errs > 0 {
		return fmt.Errorf("%s: %s, %s", r.File, plural(errs, "error"), plural(warns, "warning"))
	}
	return nil
}

// plural is "1 error", "3 errors".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
