package config_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/config"
)

func check(t *testing.T, yaml string, e env, opts config.CheckOptions) *config.Report {
	t.Helper()
	return config.Check("gw.yaml", e.get, files{"gw.yaml": yaml}.read, opts)
}

// problemLines renders the report as check-config prints it.
func problemLines(r *config.Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.String())
	}
	return out
}

// The example shipped with the repository passes on a machine that holds
// none of its secrets: their absence is a warning, not an error.
func TestCheckExampleFilePassesOffline(t *testing.T) {
	r := config.Check("testdata/example.yaml", env{}.get, os.ReadFile, config.CheckOptions{})
	if r.HasErrors() {
		t.Fatalf("example.yaml has errors:\n%s", strings.Join(problemLines(r), "\n"))
	}
	// Two client secrets, the Redis password and its encryption key.
	if got := r.Count(config.SeverityWarning); got != 4 {
		t.Errorf("want 4 warnings (one per absent secret), got:\n%s", strings.Join(problemLines(r), "\n"))
	}
	strict := config.Check("testdata/example.yaml", env{}.get, os.ReadFile, config.CheckOptions{RequireSecrets: true})
	if strict.Count(config.SeverityError) != 4 {
		t.Errorf("with RequireSecrets the 4 absent secrets are errors, got:\n%s", strings.Join(problemLines(strict), "\n"))
	}
}

// An operator fixing a file wants every mistake in one run, each with the
// line and column to jump to and the field as the file spells it.
func TestCheckReportsEveryMistakeWithItsPosition(t *testing.T) {
	const yaml = `grpc_addr: 127.0.0.1:9090
log_level: loud
access:
  api_keys:
    - caller: ops
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  jwt:
    issuer: https://idp.example.com/
    audience: eeo-gateway
    algorithms: [RS256]
    jwks_url: ftp://idp.example.com/keys
accounts:
  - name: acme
    token_url: https://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com/api
    client_id: acme-client
    client_secret_env: ACME_SECRET
    colour: blue
`
	r := check(t, yaml, env{"ACME_SECRET": secretValue}, config.CheckOptions{})
	want := []string{
		"gw.yaml:18:5: error: accounts[0].colour: unknown field",
	}
	if got := problemLines(r); !slices.Equal(got, want) {
		t.Errorf("shape errors stop the check (nothing reliable after them); got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	r = check(t, strings.Replace(yaml, "    colour: blue\n", "", 1), env{"ACME_SECRET": secretValue}, config.CheckOptions{})
	got := problemLines(r)
	want = []string{
		`gw.yaml:2:1: error: log_level: must be one of debug, info, warn, error; got "loud"`,
		"gw.yaml:11:5: error: access.jwt.jwks_url: must be an https URL (http only to loopback)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckThreeMistakesThreeErrors(t *testing.T) {
	const yaml = `log_format: xml
accounts:
  - name: Acme
    token_url: https://eeo.example.com/oauth2/token
    base_url: not-a-url
    client_id: acme-client
    client_secret_env: ACME_SECRET
`
	r := check(t, yaml, env{"ACME_SECRET": secretValue}, config.CheckOptions{})
	got := problemLines(r)
	want := []string{
		`gw.yaml:1:1: error: log_format: must be one of json, text; got "xml"`,
		`gw.yaml:3:5: error: accounts[0].name: must match ^[a-z][a-z0-9-]{0,62}$ (it appears in URL paths), got "Acme"`,
		`gw.yaml:5:5: error: accounts[0].base_url: must be an absolute http or https URL, got "not-a-url"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A field the file leaves out is reported where its parent is written.
func TestCheckMissingFieldPointsAtItsParent(t *testing.T) {
	r := check(t, "accounts:\n  - name: acme\n    token_url: https://e.example.com/t\n    base_url: https://e.example.com\n    client_secret_env: ACME_SECRET\n",
		env{"ACME_SECRET": secretValue}, config.CheckOptions{})
	if got := problemLines(r); !slices.Equal(got, []string{"gw.yaml:2:5: error: accounts[0].client_id: required"}) {
		t.Errorf("got %q", got)
	}
}

func TestCheckSyntaxAndDuplicateKeysNameTheLine(t *testing.T) {
	r := check(t, "log_level: info\naccounts: [\n", env{}, config.CheckOptions{})
	if got := problemLines(r); len(got) != 1 || !strings.HasPrefix(got[0], "gw.yaml:2: error: ") {
		t.Errorf("syntax error: %q", got)
	}
	r = check(t, "- a\n- b\n", env{}, config.CheckOptions{})
	if got := problemLines(r); !slices.Equal(got, []string{"gw.yaml:1:1: error: must be a mapping of fields, got a list"}) {
		t.Errorf("document not a mapping: %q", got)
	}
	r = check(t, "log_level: info\nlog_level: debug\n"+minimalYAML, env{"ACME_SECRET": secretValue}, config.CheckOptions{})
	if got := problemLines(r); len(got) != 1 || !strings.HasPrefix(got[0], "gw.yaml:2: error: ") || !strings.Contains(got[0], `"log_level" already set`) {
		t.Errorf("duplicate key: %q", got)
	}
}

// Plain http off loopback would send the client secret in clear: refused,
// unless allow_insecure_upstream says something else encrypts the path,
// and then still warned about. Loopback (the sandbox) is fine.
func TestCheckPlainHTTPOffLoopback(t *testing.T) {
	yaml := strings.Replace(minimalYAML, "token_url: https://eeo.example.com", "token_url: http://eeo.example.com", 1) +
		"  - name: local\n    token_url: http://127.0.0.1:8099/oauth2/token\n    base_url: http://localhost:8099\n    client_id: c\n    client_secret_env: ACME_SECRET\n"
	r := check(t, yaml, env{"ACME_SECRET": secretValue}, config.CheckOptions{})
	got := problemLines(r)
	if len(got) != 1 || !strings.HasPrefix(got[0], "gw.yaml:4:5: error: accounts[0].token_url: plain http") || !strings.Contains(got[0], "accounts[0].allow_insecure_upstream: true") {
		t.Errorf("got %q, want one error for accounts[0].token_url only", got)
	}
	allowed := strings.Replace(yaml, "    client_id: acme-client\n", "    client_id: acme-client\n    allow_insecure_upstream: true\n", 1)
	if allowed == yaml {
		t.Fatal("test YAML has no acme-client line")
	}
	r = check(t, allowed, env{"ACME_SECRET": secretValue}, config.CheckOptions{})
	got = problemLines(r)
	if r.HasErrors() || len(got) != 1 || !strings.HasPrefix(got[0], "gw.yaml:4:5: warning: accounts[0].token_url: plain http") {
		t.Errorf("with allow_insecure_upstream: got %q, want one warning for accounts[0].token_url only", got)
	}
}

// The check says a secret is missing; it never shows one it found, nor one
// pasted where it does not belong.
func TestCheckNeverPrintsSecrets(t *testing.T) {
	r := check(t, minimalYAML+"    client_secret: "+secretValue+"\n", env{"ACME_SECRET": secretValue}, config.CheckOptions{})
	r2 := check(t, strings.Replace(minimalYAML, "client_id: acme-client", "client_id: \"\"", 1), env{"ACME_SECRET": secretValue}, config.CheckOptions{})
	for _, line := range append(problemLines(r), problemLines(r2)...) {
		if strings.Contains(line, secretValue) {
			t.Errorf("problem shows the secret: %s", line)
		}
	}
	r = check(t, minimalYAML, env{}, config.CheckOptions{RequireSecrets: true})
	if got := problemLines(r); !slices.Equal(got, []string{"gw.yaml:7:5: error: accounts[0].client_secret_env: environment variable ACME_SECRET is unset or empty"}) {
		t.Errorf("absent secret: %q", got)
	}
}

func TestCheckEnvironmentProblemsNameTheVariable(t *testing.T) {
	r := check(t, minimalYAML, env{"ACME_SECRET": secretValue, "EEO_GATEWAY_LOG_LEVEL": "loud"}, config.CheckOptions{})
	if got := problemLines(r); len(got) != 1 || !strings.HasPrefix(got[0], "gw.yaml: error: EEO_GATEWAY_LOG_LEVEL (overrides log_level)") {
		t.Errorf("got %q", got)
	}
}
