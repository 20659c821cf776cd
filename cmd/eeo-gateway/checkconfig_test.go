package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

func checkCmd(t *testing.T, getenv func(string) string, args ...string) (stdout string, err error) {
	t.Helper()
	var out strings.Builder
	err = run(t.Context(), append([]string{"check-config"}, args...), env{getenv: getenv, stdout: &out, stderr: io.Discard})
	return out.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckConfigExamplePassesOffline(t *testing.T) {
	out, err := checkCmd(t, noEnv, "../../config/testdata/example.yaml")
	if err != nil {
		t.Fatalf("check-config example.yaml: %v\n%s", err, out)
	}
	if !strings.Contains(out, "example.yaml: OK (") || strings.Contains(out, ": error: ") {
		t.Fatalf("output:\n%s", out)
	}
	// The example's secrets and TLS files are not on this machine; where
	// the gateway runs they must be.
	out, err = checkCmd(t, noEnv, "--require-secrets", "../../config/testdata/example.yaml")
	if exitcode.Of(err) != exitcode.Failure || strings.Count(out, ": error: ") != 8 || !strings.Contains(out, "redis.tls.ca_file") {
		t.Fatalf("--require-secrets: exit %d, output:\n%s", exitcode.Of(err), out)
	}
}

func TestCheckConfigThreeMistakesThreeErrors(t *testing.T) {
	path := writeFile(t, "bad.yaml", `grpc_addr: 127.0.0.1:9090
log_level: loud
access:
  api_keys:
    - caller: ops
      sha256: not-a-hash
accounts:
  - name: acme
    token_url: https://eeo.example.com/oauth2/token
    base_url: ftp://eeo.example.com
    client_id: acme
    client_secret_env: ACME_SECRET
`)
	getenv := func(k string) string {
		if k == "ACME_SECRET" {
			return "s"
		}
		return ""
	}
	out, err := checkCmd(t, getenv, path)
	if exitcode.Of(err) != exitcode.Failure || !strings.Contains(err.Error(), "3 errors") {
		t.Fatalf("exit %d (%v), want 1 and a count", exitcode.Of(err), err)
	}
	want := []string{
		path + `:2:1: error: log_level: must be one of debug, info, warn, error; got "loud"`,
		path + `:6:7: error: access.api_keys[0].sha256: must be 64 lower-case hex digits: the SHA-256 of the key, never the key`,
		path + `:10:5: error: accounts[0].base_url: must be an absolute http or https URL, got "ftp://eeo.example.com"`,
	}
	if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", out, strings.Join(want, "\n"))
	}

	out, err = checkCmd(t, getenv, "--output", "json", path)
	var doc struct {
		Valid    bool `json:"valid"`
		Problems []struct {
			Line int    `json:"line"`
			Path string `json:"path"`
		} `json:"problems"`
	}
	if jerr := json.Unmarshal([]byte(out), &doc); jerr != nil || doc.Valid || len(doc.Problems) != 3 || doc.Problems[2].Line != 10 || doc.Problems[2].Path != "accounts[0].base_url" {
		t.Fatalf("--output json: %v %+v\n%s", jerr, doc, out)
	}
	if exitcode.Of(err) != exitcode.Failure {
		t.Fatalf("--output json on a bad file: exit %d", exitcode.Of(err))
	}
}

func TestCheckConfigUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"a.yaml", "b.yaml"}, {"--output", "xml", "a.yaml"}} {
		if _, err := checkCmd(t, noEnv, args...); exitcode.Of(err) != exitcode.Usage {
			t.Errorf("check-config %q: exit %d (%v), want 2", args, exitcode.Of(err), err)
		}
	}
}

// --online asks EEO (here the sandbox) for a token per account, and names
// the account's line when that fails.
func TestCheckConfigOnline(t *testing.T) {
	base := startCheckSandbox(t)
	path := writeFile(t, "gw.yaml", `access:
  api_keys:
    - caller: ops
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
accounts:
  - name: demo
    token_url: `+base+`/oauth2/token
    base_url: `+base+`
    client_id: demo-client
    client_secret_env: DEMO_SECRET
`)
	secret := func(v string) func(string) string {
		return func(k string) string {
			if k == "DEMO_SECRET" {
				return v
			}
			return ""
		}
	}
	if out, err := checkCmd(t, secret("right"), "--online", path); err != nil || !strings.Contains(out, "OK (0 warnings)") {
		t.Fatalf("--online with the right secret: %v\n%s", err, out)
	}
	out, err := checkCmd(t, secret("wrong"), "--online", path)
	if exitcode.Of(err) != exitcode.Failure || !regexp.MustCompile(`gw\.yaml:6:5: error: accounts\[0\]: requesting a token from \S+: `).MatchString(out) {
		t.Fatalf("--online with a wrong secret: exit %d\n%s", exitcode.Of(err), out)
	}
	if strings.Contains(out, "wrong") {
		t.Fatalf("output shows the secret:\n%s", out)
	}
	// Offline, the same file passes: nothing is asked of EEO.
	if _, err := checkCmd(t, secret("wrong"), path); err != nil {
		t.Fatalf("offline: %v", err)
	}
	if out, err := checkCmd(t, noEnv, "--online", path); exitcode.Of(err) != exitcode.Failure || !strings.Contains(out, "DEMO_SECRET is unset") {
		t.Fatalf("--online without the secret: %v\n%s", err, out)
	}
}

// --online fetches the JWKS the config names; offline it is not touched.
func TestCheckConfigOnlineFetchesJWKS(t *testing.T) {
	keys := testkit.JWKS(testkit.ES256Signer(t, "k1"))
	var served atomic.Int64
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(keys)
	}))
	defer good.Close()
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()

	base := startCheckSandbox(t)
	file := func(jwksURL string) string {
		return writeFile(t, "gw.yaml", `access:
  jwt:
    issuer: https://idp.example.com/
    audience: eeo-gateway
    algorithms: [ES256]
    jwks_url: `+jwksURL+`
accounts:
  - name: demo
    token_url: `+base+`/oauth2/token
    base_url: `+base+`
    client_id: demo-client
    client_secret_env: DEMO_SECRET
`)
	}
	getenv := func(k string) string {
		if k == "DEMO_SECRET" {
			return "right"
		}
		return ""
	}
	if out, err := checkCmd(t, getenv, "--online", file(good.URL)); err != nil || served.Load() == 0 {
		t.Fatalf("--online with a good JWKS: %v (fetched %d times)\n%s", err, served.Load(), out)
	}
	out, err := checkCmd(t, getenv, "--online", file(missing.URL))
	if exitcode.Of(err) != exitcode.Failure || !regexp.MustCompile(`gw\.yaml:6:5: error: access\.jwt\.jwks_url: `).MatchString(out) {
		t.Fatalf("--online with a JWKS that is not there: exit %d\n%s", exitcode.Of(err), out)
	}
	before := served.Load()
	if _, err := checkCmd(t, getenv, file(good.URL)); err != nil || served.Load() != before {
		t.Fatalf("offline check: %v; JWKS fetched %d times", err, served.Load()-before)
	}
}

// startCheckSandbox serves a sandbox EEO that knows demo-client/right until
// the test ends, and returns its base URL, for the --online checks.
func startCheckSandbox(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sb := sandbox.New(sandbox.Options{Clients: []sandbox.Client{{ID: "demo-client", Secret: "right"}}})
	done := make(chan error, 1)
	go func() { done <- sb.Serve(ctx, lis) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + lis.Addr().String()
}

// --online PINGs the configured Redis with its password; a wrong password
// is an error at the redis section that does not show the password, and
// offline Redis is not contacted.
func TestCheckConfigOnlineRedis(t *testing.T) {
	const password = "check-redis-pa55"
	base := startCheckSandbox(t)
	srv := redistest.Start(t, redistest.Options{Password: password})
	path := writeFile(t, "gw.yaml", `accounts:
  - name: demo
    token_url: `+base+`/oauth2/token
    base_url: `+base+`
    client_id: demo-client
    client_secret_env: DEMO_SECRET
redis:
  addr: `+srv.Addr+`
  password_env: REDIS_PASSWORD
  encryption_key_env: REDIS_KEY
`)
	getenv := func(redisPassword string) func(string) string {
		return func(k string) string {
			return map[string]string{"DEMO_SECRET": "right", "REDIS_PASSWORD": redisPassword,
				"REDIS_KEY": "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}[k]
		}
	}
	if out, err := checkCmd(t, getenv(password), "--online", path); err != nil || !strings.Contains(out, "OK (0 warnings)") {
		t.Fatalf("--online with the right password: %v\n%s", err, out)
	}
	out, err := checkCmd(t, getenv("wrong-"+password), "--online", path)
	if exitcode.Of(err) != exitcode.Failure || !strings.Contains(out, "error: redis: PING: ") {
		t.Fatalf("--online with a wrong password: exit %d\n%s", exitcode.Of(err), out)
	}
	if strings.Contains(out, password) {
		t.Fatalf("output shows the password:\n%s", out)
	}
	srv.Stop(t)
	if out, err := checkCmd(t, getenv(password), path); err != nil {
		t.Fatalf("offline with Redis stopped: %v\n%s", err, out)
	}
}

// Offline, a Redis password file that is not on the checking machine is a
// warning like any absent secret, not an error.
func TestCheckConfigRedisPasswordFileAbsentOffline(t *testing.T) {
	path := writeFile(t, "gw.yaml", `accounts:
  - name: demo
    token_url: https://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com
    client_id: demo-client
    client_secret_env: DEMO_SECRET
redis:
  addr: 127.0.0.1:6379
  password_file: /nope/redis-password
  encryption_key_env: REDIS_KEY
`)
	getenv := func(k string) string {
		return map[string]string{"DEMO_SECRET": "s", "REDIS_KEY": "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}[k]
	}
	out, err := checkCmd(t, getenv, path)
	if err != nil || !strings.Contains(out, "warning: redis.password_file") {
		t.Fatalf("offline with the password file absent: %v\n%s", err, out)
	}
}
