package main

import (
	"fmt"
	"github.com/eeo-gateway/eeo-gateway/config"
	"os"
)

// newProductionStack builds `serve --config FILE`: the accounts, caller
// access rules and listeners the file (and the environment) configure.
// Without caller authentication it refuses to build unless
// --insecure-allow-unauthenticated says otherwise.
func newProductionStack(f serveFlags, e env) (*stack, error) {
	cfg, err := loadConfig(f.configPath, e.getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	f.applyOverrides(&cfg)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	logger, err := newLogger(cfg.LogLevel, cfg.LogFormat, e.stderr)
	if err != nil {
		return nil, err
	}
	for _, w := range append(cfg.Warnings(), cfg.FilePermissionWarnings(os.Stat)...) {
		logger.Warn("configuration: " + w.Error())
	}
	guardCfg, err := accessFromConfig(cfg.Access, f.insecure, logger)
	if err != nil {
		return nil, err
	}
	s := &stack{cfg: cfg, logger: logger, env: e}
	if err := s.buildGateway(guardCfg); err != nil {
		return nil, err
	}
	return s, nil
}

// loadConfig reads the configuration file from the real file system.
func loadConfig(path string, getenv func(string) string) (config.Config, error) {
	return config.Load(path, getenv, os.ReadFile)
}
