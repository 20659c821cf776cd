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
	s := &stack{cfg: cfg, env: e}
	if s.logger, err = newServiceLogger(s, cfg.LogLevel, cfg.LogFormat, e.stderr); err != nil {
		return nil, err
	}
	for _, w := range append(cfg.Warnings(), cfg.FilePermissionWarnings(os.Stat)...) {
		s.logger.Warn("configuration: " + w.Error())
	}
	guardCfg, err := accessFromConfig(cfg.Access, f.insecure, s.logger)
	if err != nil {
		s.close()
		return nil, err
	}
	if err := s.buildGateway(guardCfg); err != nil {
		return nil, err
	}
	return s, nil
}

// loadConfig reads the configuration file from the real file system.
func loadConfig(path string, getenv func(string) string) (config.Config, error) {
	return config.Load(path, getenv, os.ReadFile)
}
