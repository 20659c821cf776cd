package config_test

import (
	"strings"
	"testing"
	"time"
)

// fileWithEverything sets every overridable field, so each override has a
// file value to beat.
const fileWithEverything = `
grpc_addr: 127.0.0.1:1111
http_addr: 127.0.0.1:2222
log_level: error
log_format: text
shutdown_timeout: 1s
shutdown_drain_delay: 1s
token:
  idle_timeout: 100s
  fetch_timeout: 1s
` + minimalYAML

func TestEnvOverridesWin(t *testing.T) {
	e := env{
		"ACME_SECRET":                      secretValue,
		"EEO_GATEWAY_GRPC_ADDR":            ":9999",
		"EEO_GATEWAY_HTTP_ADDR":            "0.0.0.0:8888",
		"EEO_GATEWAY_ADMIN_ADDR":           "0.0.0.0:9191",
		"EEO_GATEWAY_LOG_LEVEL":            "debug",
		"EEO_GATEWAY_LOG_FORMAT":           "json",
		"EEO_GATEWAY_SHUTDOWN_TIMEOUT":     "45s",
		"EEO_GATEWAY_SHUTDOWN_DRAIN_DELAY": "3", // seconds
		"EEO_GATEWAY_TOKEN_IDLE_TIMEOUT":   "20m",
		"EEO_GATEWAY_TOKEN_FETCH_TIMEOUT":  "2500ms",
	}
	c, err := load(t, fileWithEverything, e)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, tc := range []struct {
		variable  string
		got, want any
	}{
		{"EEO_GATEWAY_GRPC_ADDR", c.GRPCAddr, ":9999"},
		{"EEO_GATEWAY_HTTP_ADDR", c.HTTPAddr, "0.0.0.0:8888"},
		{"EEO_GATEWAY_ADMIN_ADDR", c.AdminAddr, "0.0.0.0:9191"},
		{"EEO_GATEWAY_LOG_LEVEL", c.LogLevel, "debug"},
		{"EEO_GATEWAY_LOG_FORMAT", c.LogFormat, "json"},
		{"EEO_GATEWAY_SHUTDOWN_TIMEOUT", c.ShutdownTimeout.Std(), 45 * time.Second},
		{"EEO_GATEWAY_SHUTDOWN_DRAIN_DELAY", c.ShutdownDrainDelay.Std(), 3 * time.Second},
		{"EEO_GATEWAY_TOKEN_IDLE_TIMEOUT", c.Token.IdleTimeout.Std(), 20 * time.Minute},
		{"EEO_GATEWAY_TOKEN_FETCH_TIMEOUT", c.Token.FetchTimeout.Std(), 2500 * time.Millisecond},
	} {
		if tc.got != tc.want {
			t.Errorf("with %s=%s: got %v, want %v", tc.variable, e[tc.variable], tc.got, tc.want)
		}
	}
}

func TestEnvOverridesDefaults(t *testing.T) {
	c, err := load(t, minimalYAML, env{"ACME_SECRET": secretValue, "EEO_GATEWAY_LOG_LEVEL": "warn"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.LogLevel != "warn" || c.LogFormat != "json" {
		t.Errorf("log_level, log_format = %q, %q; want warn, json", c.LogLevel, c.LogFormat)
	}
}

func TestEmptyEnvIsUnset(t *testing.T) {
	c, err := load(t, fileWithEverything, env{"ACME_SECRET": secretValue, "EEO_GATEWAY_LOG_LEVEL": ""})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.LogLevel != "error" {
		t.Errorf("log_level = %q, want the file's error", c.LogLevel)
	}
}

func TestAdminAddrOffByEnv(t *testing.T) {
	c, err := load(t, "admin_addr: 127.0.0.1:9191\n"+minimalYAML, env{"ACME_SECRET": secretValue, "EEO_GATEWAY_ADMIN_ADDR": "off"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.AdminAddr != "" {
		t.Errorf("admin_addr = %q, want empty (off)", c.AdminAddr)
	}
}

func TestEnvErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		variable, value string
		wants           []string
	}{
		{"EEO_GATEWAY_GRPC_ADDR", "9090", []string{"EEO_GATEWAY_GRPC_ADDR (overrides grpc_addr): must be host:port"}},
		{"EEO_GATEWAY_HTTP_ADDR", "localhost:http", []string{"EEO_GATEWAY_HTTP_ADDR (overrides http_addr): must be host:port"}},
		{"EEO_GATEWAY_ADMIN_ADDR", "9091", []string{"EEO_GATEWAY_ADMIN_ADDR (overrides admin_addr): must be host:port"}},
		{"EEO_GATEWAY_LOG_LEVEL", "verbose", []string{"EEO_GATEWAY_LOG_LEVEL (overrides log_level): must be one of debug, info, warn, error", `"verbose"`}},
		{"EEO_GATEWAY_LOG_FORMAT", "xml", []string{"EEO_GATEWAY_LOG_FORMAT (overrides log_format): must be one of json, text"}},
		{"EEO_GATEWAY_SHUTDOWN_TIMEOUT", "abc", []string{`EEO_GATEWAY_SHUTDOWN_TIMEOUT (overrides shutdown_timeout): invalid duration "abc"`}},
		{"EEO_GATEWAY_SHUTDOWN_TIMEOUT", "0s", []string{"EEO_GATEWAY_SHUTDOWN_TIMEOUT (overrides shutdown_timeout): must be positive"}},
		{"EEO_GATEWAY_SHUTDOWN_DRAIN_DELAY", "-1s", []string{"EEO_GATEWAY_SHUTDOWN_DRAIN_DELAY (overrides shutdown_drain_delay): must not be negative"}},
		{"EEO_GATEWAY_TOKEN_IDLE_TIMEOUT", "soon", []string{`EEO_GATEWAY_TOKEN_IDLE_TIMEOUT (overrides token.idle_timeout): invalid duration "soon"`}},
		{"EEO_GATEWAY_TOKEN_FETCH_TIMEOUT", "-3", []string{"EEO_GATEWAY_TOKEN_FETCH_TIMEOUT (overrides token.fetch_timeout): must be positive"}},
	} {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			_, err := load(t, minimalYAML, env{"ACME_SECRET": secretValue, tc.variable: tc.value})
			assertErrContains(t, err, tc.wants...)
			// A rejected value is not applied, so it is reported once, against
			// the variable, and not again against the field.
			if n := len(errLines(err)); n != 1 {
				t.Errorf("got %d problems, want 1:\n%v", n, err)
			}
		})
	}
}

func TestEnvAndFileProblemsReportedTogether(t *testing.T) {
	yaml := strings.Replace(minimalYAML, "client_id: acme-client", "client_id: ''", 1)
	_, err := load(t, yaml, env{"ACME_SECRET": secretValue, "EEO_GATEWAY_LOG_LEVEL": "loud"})
	assertErrContains(t, err, "EEO_GATEWAY_LOG_LEVEL", "accounts[0].client_id: required")
}
