package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// runMainEnv makes the test binary run main instead of the tests, so a test
// can run the command as its own process (on a pseudo-terminal, say).
const runMainEnv = "EEO_GATEWAY_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

func noEnv(string) string { return "" }

// startDev runs `serve --dev` (plus extraArgs) on free ports and returns the banner once the
// gateway is listening, and a stop function that returns run's result.
func startDev(t *testing.T, extraArgs ...string) (banner string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--dev", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, extraArgs...),
			env{getenv: noEnv, stdout: outW, stderr: io.Discard})
		outW.Close()
	}()
	var b strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if sc.Text() == bannerEnd {
			break
		}
	}
	go io.Copy(io.Discard, out)
	if !strings.Contains(b.String(), bannerEnd) {
		cancel()
		t.Fatalf("no banner; run returned %v", <-done)
	}
	return b.String(), func() error { cancel(); return <-done }
}

func TestServeDevPrintsCommandsThatWork(t *testing.T) {
	banner, stop := startDev(t)
	grpcAddr := regexp.MustCompile(`grpcurl -plaintext (\S+) list`).FindStringSubmatch(banner)
	curlURL := regexp.MustCompile(`curl -s -H "Authorization: Bearer \$EEO_KEY" (http://\S+/v1/accounts/demo/token)\n`).FindStringSubmatch(banner)
	key := regexp.MustCompile(`export EEO_KEY=(\S+)`).FindStringSubmatch(banner)
	if grpcAddr == nil || curlURL == nil || key == nil {
		t.Fatalf("banner lacks the key, grpcurl or curl commands:\n%s", banner)
	}

	// The grpcurl GetToken command, as a Go client.
	conn, err := grpc.NewClient(grpcAddr[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := eeov1.NewTokenServiceClient(conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("GetToken without the key = %v, want Unauthenticated", err)
	}
	withKey := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+key[1])
	resp, err := eeov1.NewTokenServiceClient(conn).GetToken(withKey, &eeov1.GetTokenRequest{Account: "demo"})
	if err != nil || !strings.HasPrefix(resp.GetToken().GetAccessToken(), "eeosbx_") {
		t.Fatalf("GetToken on the printed address: %v, %v", resp, err)
	}

	// The curl command.
	req, _ := http.NewRequest(http.MethodGet, curlURL[1], nil)
	req.Header.Set("Authorization", "Bearer "+key[1])
	httpResp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer httpResp.Body.Close()
	var body struct {
		Token struct{ AccessToken string } `json:"token"`
	}
	if err := json.NewDecoder(httpResp.Body).Decode(&body); err != nil || body.Token.AccessToken != resp.GetToken().GetAccessToken() {
		t.Fatalf("curl URL: status %d, token %q, err %v", httpResp.StatusCode, body.Token.AccessToken, err)
	}

	// The admin line: metrics (with the build and the call just made) and probes.
	metricsURL := regexp.MustCompile(`Admin +(http://\S+)/metrics`).FindStringSubmatch(banner)
	if metricsURL == nil {
		t.Fatalf("banner lacks the admin listener:\n%s", banner)
	}
	m := testkit.Scrape(t, nil, metricsURL[1]+"/metrics")
	if _, ok := m.Value("eeo_gateway_build_info"); !ok {
		t.Errorf("no eeo_gateway_build_info in /metrics")
	}
	if v := m.Get("grpc_server_handled_total", "grpc_method", "GetToken", "grpc_code", "OK"); v != 2 {
		t.Errorf("GetToken OK handled = %v, want 2 (one gRPC, one REST)", v)
	}
	for _, probe := range []string{"/livez", "/readyz"} {
		resp, err := http.Get(metricsURL[1] + probe)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %v, %v", probe, resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if err := stop(); err != nil {
		t.Fatalf("run after shutdown = %v, want nil", err)
	}
}

func TestBusyAdminPortFailsClearly(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	err = run(t.Context(), []string{"serve", "--dev", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", taken.Addr().String()},
		env{getenv: noEnv, stdout: io.Discard, stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "--admin-addr") {
		t.Fatalf("serve on a busy admin port = %v, want an error pointing at --admin-addr", err)
	}
}

func TestServeFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(path, []byte(`
grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
accounts:
  - name: acme
    token_url: http://127.0.0.1:1/oauth2/token
    base_url: http://127.0.0.1:1
    client_id: acme
    client_secret_env: ACME_SECRET
access:
  api_keys:
    - caller: ops
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
`), 0o600)
	getenv := func(k string) string {
		if k == "ACME_SECRET" {
			return "from-env"
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve, then shut down at once: proves the file wires up
	if err := run(ctx, []string{"serve", "--config", path}, env{getenv: getenv, stdout: io.Discard, stderr: io.Discard}); err != nil {
		t.Fatalf("serve --config: %v", err)
	}
}

// A production start with no caller authentication would hand live EEO
// credentials to anyone who reaches the port: it must refuse, unless told
// loudly otherwise.
func TestProductionRefusesToStartWithoutCallerAuth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	os.WriteFile(path, []byte(`
grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
accounts:
  - name: acme
    token_url: http://127.0.0.1:1/oauth2/token
    base_url: http://127.0.0.1:1
    client_id: acme
    client_secret_env: ACME_SECRET
`), 0o600)
	getenv := func(k string) string {
		if k == "ACME_SECRET" {
			return "s"
		}
		return ""
	}
	err := run(t.Context(), []string{"serve", "--config", path}, env{getenv: getenv, stdout: io.Discard, stderr: io.Discard})
	if !errors.Is(err, errNoCallerAuth) {
		t.Fatalf("serve without access config = %v, want a refusal", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr strings.Builder
	err = run(ctx, []string{"serve", "--config", path, "--insecure-allow-unauthenticated"}, env{getenv: getenv, stdout: io.Discard, stderr: &stderr})
	if err != nil || !strings.Contains(stderr.String(), "INSECURE") {
		t.Fatalf("with --insecure-allow-unauthenticated: %v; log %q", err, stderr.String())
	}
}

func TestCommandLineMistakes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("accounts:\n  - name: Acme\n    token_url: not-a-url\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string // in the error or on stderr
	}{
		{nil, "usage:"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve"}, "exactly one of --dev or --config"},
		{[]string{"serve", "--dev", "--config", bad}, "exactly one of --dev or --config"},
		{[]string{"serve", "--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"serve", "--config", bad}, "accounts[0].token_url"},
		{[]string{"serve", "--dev", "--grpc-addr", "nonsense"}, "grpc_addr"},
		{[]string{"serve", "--dev", "--log-level", "loud"}, "log_level"},
		{[]string{"sandbox"}, "set EEO_SANDBOX_CLIENT_SECRET"},
	} {
		var stderr strings.Builder
		err := run(t.Context(), tc.args, env{getenv: noEnv, stdout: io.Discard, stderr: &stderr})
		if err == nil {
			t.Errorf("%v: succeeded", tc.args)
			continue
		}
		if msg := err.Error() + stderr.String(); !strings.Contains(msg, tc.want) {
			t.Errorf("%v: %q does not mention %q", tc.args, msg, tc.want)
		}
	}
}

func TestBusyPortFailsClearly(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	err = run(t.Context(), []string{"serve", "--dev", "--grpc-addr", taken.Addr().String(), "--http-addr", "127.0.0.1:0"},
		env{getenv: noEnv, stdout: io.Discard, stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "--grpc-addr") {
		t.Fatalf("serve on a busy port = %v, want an error pointing at --grpc-addr", err)
	}
}

func TestSandboxCommand(t *testing.T) {
	url := startSandboxCommand(t)
	if status, _ := sandboxToken(t, url); status != http.StatusOK {
		t.Fatalf("token request to the standalone sandbox: %d", status)
	}
}

// --one-active-token makes the standalone sandbox revoke a client's earlier
// token on every issuance, so the storm can be reproduced against it.
func TestSandboxCommandOneActiveToken(t *testing.T) {
	url := startSandboxCommand(t, "--one-active-token")
	_, first := sandboxToken(t, url)
	if status, _ := sandboxToken(t, url); status != http.StatusOK {
		t.Fatalf("second token request: %d", status)
	}
	req, _ := http.NewRequest(http.MethodGet, url+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+first)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("earlier token after a second issuance: %d, want 401", resp.StatusCode)
	}
}

// startSandboxCommand runs `eeo-gateway sandbox` with args until the test
// ends and returns its base URL.
func startSandboxCommand(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, outW := io.Pipe()
	done := make(chan error, 1)
	getenv := func(k string) string {
		if k == "EEO_SANDBOX_CLIENT_SECRET" {
			return "sandbox-secret"
		}
		return ""
	}
	go func() {
		done <- run(ctx, append([]string{"sandbox", "--listen", "127.0.0.1:0"}, args...), env{getenv: getenv, stdout: outW, stderr: io.Discard})
		outW.Close()
	}()
	line, _ := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	url := regexp.MustCompile(`http://\S+`).FindString(line)
	if url == "" {
		cancel()
		t.Fatalf("no address in %q: %v", line, <-done)
	}
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("sandbox command returned %v", err)
		}
	})
	return url
}

// sandboxToken requests a token for demo-client from the sandbox at url
// and returns the status and the access token (empty unless 200).
func sandboxToken(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo-client", "sandbox-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil && resp.StatusCode == http.StatusOK {
		t.Fatalf("token response: %v", err)
	}
	return resp.StatusCode, body.AccessToken
}

// --insecure-allow-unauthenticated turns every policy off; with access
// rules in the config that would ignore them silently, so it is refused.
func TestInsecureFlagWithAccessRulesRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	os.WriteFile(path, []byte(`
grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
accounts:
  - name: acme
    token_url: http://127.0.0.1:1/oauth2/token
    base_url: http://127.0.0.1:1
    client_id: acme
    client_secret_env: ACME_SECRET
access:
  api_keys:
    - caller: ops
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  policies:
    - caller: apikey:ops
      accounts: [acme]
      permissions: [token:get]
`), 0o600)
	getenv := func(k string) string {
		if k == "ACME_SECRET" {
			return "s"
		}
		return ""
	}
	err := run(t.Context(), []string{"serve", "--config", path, "--insecure-allow-unauthenticated"}, env{getenv: getenv, stdout: io.Discard, stderr: io.Discard})
	if !errors.Is(err, errInsecureWithRules) {
		t.Fatalf("--insecure-allow-unauthenticated with access rules = %v, want a refusal", err)
	}
}

// A client secret file other users can read is warned about once at start.
func TestSecretFileReadableByOthersWarned(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("s\n"), 0o644)
	os.Chmod(secret, 0o644)
	path := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(path, []byte(`
grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
accounts:
  - name: acme
    token_url: http://127.0.0.1:1/oauth2/token
    base_url: http://127.0.0.1:1
    client_id: acme
    client_secret_file: `+secret+`
access:
  api_keys:
    - caller: ops
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
`), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr strings.Builder
	if err := run(ctx, []string{"serve", "--config", path}, env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: &stderr}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stderr.String(), "accounts[0].client_secret_file: "+secret+" is readable by group or others"); n != 1 {
		t.Fatalf("%d warnings about the secret file, want 1; log:\n%s", n, stderr.String())
	}
}
