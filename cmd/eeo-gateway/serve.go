package main

import (
	"time"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/spf13/cobra"
)

// serveFlags are serve's command-line settings. The address and log flags
// override the configuration (file, defaults and environment alike).
type serveFlags struct {
	dev        bool
	configPath string
	grpcAddr   string
	httpAddr   string
	adminAddr  string
	logLevel   string
	insecure   bool
	// sandboxStep is how long the embedded sandbox keeps imports and
	// reports in each state (--dev only).
	sandboxStep time.Duration
}

// applyOverrides writes the flags that were given over cfg.
func (f serveFlags) applyOverrides(cfg *config.Config) {
	overrideIfSet(&cfg.GRPCAddr, f.grpcAddr)
	overrideIfSet(&cfg.HTTPAddr, f.httpAddr)
	if f.adminAddr == config.AdminOff {
		cfg.AdminAddr = ""
	} else {
		overrideIfSet(&cfg.AdminAddr, f.adminAddr)
	}
	overrideIfSet(&cfg.LogLevel, f.logLevel)
}

func overrideIfSet(dst *string, flagValue string) {
	if flagValue != "" {
		*dst = flagValue
	}
}

func newServeCmd(e env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve (--dev | --config FILE)",
		Short: "Serve the gateway: on an embedded sandbox (--dev) or the accounts in a config file",
		Example: `  eeo-gateway serve --dev
  eeo-gateway serve --config gateway.yaml --log-level debug`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.dev == (f.configPath != "") {
				return exitcode.Usagef("serve needs exactly one of --dev or --config FILE")
			}
			build := newProductionStack
			if f.dev {
				build = newDevStack
			}
			s, err := build(f, e)
			if err != nil {
				return err
			}
			return s.run(cmd.Context(), e.stdout)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dev, "dev", false, "serve on an embedded EEO sandbox with a \"demo\" account; no config needed")
	fl.StringVar(&f.configPath, "config", "", "YAML configuration `file` (see config/testdata/example.yaml)")
	fl.StringVar(&f.grpcAddr, "grpc-addr", "", "gRPC listen `address` (overrides config; default 127.0.0.1:9090)")
	fl.StringVar(&f.httpAddr, "http-addr", "", "REST listen `address` (overrides config; default 127.0.0.1:8080)")
	fl.StringVar(&f.adminAddr, "admin-addr", "", "admin listen `address` for /metrics, /livez, /readyz (overrides config; \"off\" for none; dev default "+config.DevAdminAddr+")")
	fl.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (overrides config)")
	fl.BoolVar(&f.insecure, "insecure-allow-unauthenticated", false,
		"serve without caller authentication (only behind something that authenticates callers; logged loudly)")
	fl.DurationVar(&f.sandboxStep, "sandbox-step", time.Second,
		"with --dev: how long the embedded sandbox keeps an import or report in each processing state")
	return cmd
}
