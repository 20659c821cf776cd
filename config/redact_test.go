package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/eeo-gateway/eeo-gateway/config"
)

// TestLoadedConfigNeverShowsSecrets prints, marshals and logs a loaded
// Config every usual way and checks that the client secrets never appear.
func TestLoadedConfigNeverShowsSecrets(t *testing.T) {
	const fileSecret = "file-s3cr3t-0a1b2c"
	yaml2 := minimalYAML + `
  - name: globex
    token_url: https://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com/api
    client_id: globex-client
    client_secret_file: /run/secrets/globex
`
	readFile := files{"/etc/eeo.yaml": yaml2, "/run/secrets/globex": fileSecret}.read
	c, err := config.Load("/etc/eeo.yaml", env{"ACME_SECRET": secretValue}.get, readFile)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// The secrets are there, just not visible.
	if c.Accounts[0].ClientSecret.Reveal() != secretValue || c.Accounts[1].ClientSecret.Reveal() != fileSecret {
		t.Fatal("secrets not loaded")
	}

	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		outputs["fmt "+verb] = fmt.Sprintf(verb, c)
		outputs["fmt "+verb+" of an account"] = fmt.Sprintf(verb, c.Accounts[0])
		outputs["fmt "+verb+" of a pointer"] = fmt.Sprintf(verb, &c)
	}
	outputs["fmt Sprint"] = fmt.Sprint(c)
	outputs["fmt Sprintln"] = fmt.Sprintln(c.Accounts)

	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	outputs["json.Marshal"] = string(b)
	b, err = yaml.Marshal(c)
	if err != nil {
		t.Fatalf("yaml.Marshal: %v", err)
	}
	outputs["yaml.Marshal"] = string(b)

	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		logger := slog.New(h(&buf))
		logger.Info("config loaded", "config", c, "account", c.Accounts[1], "accounts", c.Accounts)
		outputs[name] = buf.String()
	}

	for name, out := range outputs {
		for _, secret := range []string{secretValue, fileSecret} {
			if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
				t.Errorf("%s shows secret %q:\n%s", name, secret, out)
			}
		}
	}

	// Spot-check that the outputs are useful, not just empty.
	if !strings.Contains(outputs["fmt %+v"], "ClientSecret:[REDACTED]") {
		t.Errorf("%%+v does not show the redacted secret: %s", outputs["fmt %+v"])
	}
	if !strings.Contains(outputs["fmt %+v"], "ShutdownTimeout:15s") {
		t.Errorf("%%+v does not show durations as strings: %s", outputs["fmt %+v"])
	}
	if !strings.Contains(outputs["json.Marshal"], `"shutdown_timeout":"15s"`) {
		t.Errorf("json.Marshal: %s", outputs["json.Marshal"])
	}
	if !strings.Contains(outputs["slog text"], "config.accounts.globex.client_secret_file=/run/secrets/globex") ||
		!strings.Contains(outputs["slog text"], "config.token.idle_timeout=59m59s") {
		t.Errorf("slog text: %s", outputs["slog text"])
	}
}

// TestMarshalledConfigReloads checks that a dumped Config (secrets dropped)
// is itself a valid config file, which is what makes a dump useful.
func TestMarshalledConfigReloads(t *testing.T) {
	c, err := load(t, minimalYAML, env{"ACME_SECRET": secretValue})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatalf("yaml.Marshal: %v", err)
	}
	c2, err := load(t, string(b), env{"ACME_SECRET": secretValue})
	if err != nil {
		t.Fatalf("reloading the dump: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(c2, c) {
		t.Errorf("reloaded %+v, want %+v", c2, c)
	}
}
