package config_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/config"
)

func TestPolicyNamingAnUnknownAccountRefused(t *testing.T) {
	c := validConfig()
	c.Access.APIKeys = []config.APIKeyConfig{{Caller: "ops", SHA256: keyHash}}
	c.Access.Policies = []config.PolicyConfig{{Caller: "apikey:ops", Accounts: []string{"acme", "acme-typo"}, Permissions: []string{"token:get"}}}
	err := c.Validate()
	if want := `access.policies[0].accounts[1]: unknown account "acme-typo" (configured: acme)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("%v, want %q", err, want)
	}
	c.Access.Policies[0].Accounts = []string{"acme", "*"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPlainHTTPUpstreamOffLoopbackRefused(t *testing.T) {
	c := validConfig()
	c.Accounts[0].TokenURL = "http://eeo.example.com/oauth2/token"
	c.Accounts[0].BaseURL = "http://eeo.example.com/api"
	err := c.Validate()
	for _, f := range []string{"accounts[0].token_url", "accounts[0].base_url"} {
		if err == nil || !strings.Contains(err.Error(), f+": plain http to a host that is not loopback") {
			t.Errorf("%s: %v", f, err)
		}
	}
	c.Accounts[0].AllowInsecureUpstream = true
	if err := c.Validate(); err != nil {
		t.Fatalf("with allow_insecure_upstream: %v", err)
	}
	if w := c.Warnings(); len(w) != 2 {
		t.Errorf("with allow_insecure_upstream: %d warnings, want 2: %v", len(w), w)
	}
	for _, loop := range []string{"http://127.0.0.1:8099", "http://localhost:8099", "http://[::1]:8099"} {
		c := validConfig()
		c.Accounts[0].TokenURL, c.Accounts[0].BaseURL = loop+"/oauth2/token", loop
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", loop, err)
		}
		if w := c.Warnings(); len(w) != 0 {
			t.Errorf("%s: warnings %v", loop, w)
		}
	}
}

func TestFilePermissionWarnings(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode fs.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	c := validConfig()
	c.Accounts[0].ClientSecretEnv = ""
	c.Accounts[0].ClientSecretFile = write("secret-open", 0o644)
	second := c.Accounts[0]
	second.Name, second.ClientID, second.ClientSecretFile = "b", "b-client", write("secret-closed", 0o600)
	c.Accounts = append(c.Accounts, second)
	c.TLS.KeyFile = write("tls.key", 0o640)
	c.Access.JWT = &config.JWTConfig{JWKSFile: write("jwks.json", 0o666)}

	var got []string
	for _, w := range c.FilePermissionWarnings(os.Stat) {
		got = append(got, w.Error())
	}
	want := []string{
		"accounts[0].client_secret_file: " + filepath.Join(dir, "secret-open") + " is readable by group or others (mode 0644)",
		"tls.key_file: " + filepath.Join(dir, "tls.key") + " is readable by group or others (mode 0640)",
		"access.jwt.jwks_file: " + filepath.Join(dir, "jwks.json") + " is writable by group or others (mode 0666)",
	}
	if len(got) != len(want) {
		t.Fatalf("warnings %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d: %q, want prefix %q", i, got[i], want[i])
		}
	}

	// A file that cannot be stat'ed is reported by whatever reads it.
	c.Accounts[0].ClientSecretFile = filepath.Join(dir, "missing")
	if w := c.FilePermissionWarnings(os.Stat); len(w) != 2 {
		t.Errorf("with a missing file: %v", w)
	}
}
