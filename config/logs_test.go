package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/server"
)

// Access-log sampling defaults to zap's production numbers; 0 initial
// lines, written out, turns it off rather than reading as "not set".
func TestAccessSamplingConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       server.AccessLogSampling
	}{
		{"default", minimalYAML, server.AccessLogSampling{Initial: 100, Thereafter: 100}},
		{"off", "log:\n  access_sampling:\n    initial: 0\n" + minimalYAML, server.AccessLogSampling{Initial: 0, Thereafter: 100}},
		{"tuned", "log:\n  access_sampling:\n    initial: 10\n    thereafter: 1000\n" + minimalYAML, server.AccessLogSampling{Initial: 10, Thereafter: 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.yaml, env{"ACME_SECRET": secretValue})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Log.AccessSampling.Server(); got != tc.want {
				t.Errorf("sampling %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Out-of-range numbers are refused by check-config, each at its line.
func TestCheckAccessSampling(t *testing.T) {
	yaml := "log:\n  access_sampling:\n    initial: -1\n    thereafter: -5\n" + minimalYAML
	got := problemLines(check(t, yaml, env{"ACME_SECRET": secretValue}, config.CheckOptions{}))
	want := []string{
		"gw.yaml:3:5: error: log.access_sampling.initial: must be between 0 (log every call) and 1000000 lines per second, got -1",
		"gw.yaml:4:5: error: log.access_sampling.thereafter: must be between 1 (log every call) and 1000000, got -5",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var c config.Config // built in code, without defaults
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "log.access_sampling.initial: not set") {
		t.Errorf("Validate of a Config without defaults: %v, want log.access_sampling.initial reported", err)
	}
}
