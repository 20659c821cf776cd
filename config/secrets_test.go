package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/config"
)

// accountYAML is a one-account file whose secret source is the given
// client_secret_env / client_secret_file lines.
func accountYAML(source string) string {
	return `
accounts:
  - name: acme
    token_url: https://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com/api
    client_id: acme-client
` + source
}

func TestSecretFromEnv(t *testing.T) {
	c, err := load(t, accountYAML("    client_secret_env: ACME_SECRET\n"), env{"ACME_SECRET": secretValue})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Accounts[0].ClientSecret.Reveal(); got != secretValue {
		t.Errorf("ClientSecret = %q, want %q", got, secretValue)
	}
}

func TestSecretFromFile(t *testing.T) {
	// Real files, read with os.ReadFile, as in production.
	dir := t.TempDir()
	secretPath := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secretPath, []byte(secretValue+" \r\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(dir, "eeo.yaml")
	yaml := accountYAML("    client_secret_file: " + secretPath + "\n")
	if err := os.WriteFile(configPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	c, err := config.Load(configPath, env{}.get, os.ReadFile)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Accounts[0].ClientSecret.Reveal(); got != secretValue {
		t.Errorf("ClientSecret = %q, want %q (trailing whitespace trimmed)", got, secretValue)
	}
}

func TestSecretErrors(t *testing.T) {
	dir := t.TempDir()
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missingFile := filepath.Join(dir, "missing")

	for _, tc := range []struct {
		name   string
		source string
		env    env
		wants  []string
	}{
		{
			name:   "env var unset",
			source: "    client_secret_env: ACME_SECRET\n",
			env:    env{"OTHER_SECRET": secretValue},
			wants:  []string{"accounts[0].client_secret_env: environment variable ACME_SECRET is unset or empty"},
		},
		{
			name:   "env var empty",
			source: "    client_secret_env: ACME_SECRET\n",
			env:    env{"ACME_SECRET": ""},
			wants:  []string{"accounts[0].client_secret_env: environment variable ACME_SECRET is unset or empty"},
		},
		{
			name:   "file missing",
			source: "    client_secret_file: " + missingFile + "\n",
			wants:  []string{"accounts[0].client_secret_file: reading secret file", missingFile, "no such file"},
		},
		{
			name:   "file empty",
			source: "    client_secret_file: " + emptyFile + "\n",
			wants:  []string{"accounts[0].client_secret_file: secret file " + emptyFile + " is empty"},
		},
		{
			name:   "file is a directory",
			source: "    client_secret_file: " + dir + "\n",
			wants:  []string{"accounts[0].client_secret_file: reading secret file", dir},
		},
		{
			name:   "neither source",
			source: "",
			wants:  []string{"accounts[0].client_secret_env: one of client_secret_env or client_secret_file is required"},
		},
		{
			name:   "both sources",
			source: "    client_secret_env: ACME_SECRET\n    client_secret_file: " + emptyFile + "\n",
			env:    env{"ACME_SECRET": secretValue},
			wants:  []string{"accounts[0].client_secret_file: set only one of client_secret_env and client_secret_file"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			configPath := filepath.Join(t.TempDir(), "eeo.yaml")
			if err := os.WriteFile(configPath, []byte(accountYAML(tc.source)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(configPath, tc.env.get, os.ReadFile)
			assertErrContains(t, err, tc.wants...)
			// One problem, one line: a secret that could not be read is not
			// reported again by validation.
			if n := len(errLines(err)); n != 1 {
				t.Errorf("got %d problems, want 1:\n%v", n, err)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error contains the secret: %v", err)
			}
		})
	}
}

func TestSecretFileErrorNamesThePath(t *testing.T) {
	// A readFile other than os.ReadFile may return errors that do not name
	// the file; Load adds the path itself.
	readFile := func(path string) ([]byte, error) {
		if path == "/etc/eeo.yaml" {
			return []byte(accountYAML("    client_secret_file: vault:acme\n")), nil
		}
		return nil, errors.New("permission denied")
	}
	_, err := config.Load("/etc/eeo.yaml", env{}.get, readFile)
	assertErrContains(t, err, "accounts[0].client_secret_file: reading secret file vault:acme: permission denied")
}

// TestErrorsNeverContainSecrets loads a config whose secrets all resolve but
// which is wrong in many other ways, and checks that no message contains a
// secret.
func TestErrorsNeverContainSecrets(t *testing.T) {
	const fileSecret = "file-s3cr3t-0a1b2c"
	yaml := `
grpc_addr: nope
log_level: loud
accounts:
  - name: Acme
    token_url: eeo.example.com/token
    base_url: https://user:` + fileSecret + `@eeo.example.com/
    client_id: ""
    client_secret_env: ACME_SECRET
    auth_style: bogus
  - name: b
    token_url: https://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com/api
    client_id: b
    client_secret_file: /run/secrets/b
    scopes: ["a b"]
`
	e := env{"ACME_SECRET": secretValue, "EEO_GATEWAY_LOG_FORMAT": "xml"}
	readFile := files{"/etc/eeo.yaml": yaml, "/run/secrets/b": fileSecret + "\n"}.read
	_, err := config.Load("/etc/eeo.yaml", e.get, readFile)
	assertErrContains(t, err,
		"grpc_addr:", "log_level:", "EEO_GATEWAY_LOG_FORMAT",
		"accounts[0].name:", "accounts[0].token_url:", "accounts[0].base_url: must not contain user info",
		"accounts[0].client_id:", "accounts[0].auth_style:", "accounts[1].scopes[0]:")
	for _, secret := range []string{secretValue, fileSecret} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error contains secret %q:\n%v", secret, err)
		}
	}
}
