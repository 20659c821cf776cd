package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// startProduction runs `serve --config` with yaml and returns the gRPC
// address it bound, read from its "serving" log line.
func startProduction(t *testing.T, yaml string, getenv func(string) string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs, logW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", path}, env{getenv: getenv, stdout: io.Discard, stderr: logW})
		logW.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	sc := bufio.NewScanner(logs)
	for sc.Scan() {
		var line struct {
			Msg      string `json:"msg"`
			GRPCAddr string `json:"grpc_addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
			go io.Copy(io.Discard, logs)
			return line.GRPCAddr
		}
	}
	t.Fatalf("serve stopped before serving: %v", <-done)
	return ""
}

// The client's TLS flags reach a gateway that requires client
// certificates: --ca verifies the gateway, --cert/--key-file identify the
// caller, whose certificate's SPIFFE ID the policy names.
func TestClientMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewCA("test CA")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := write("ca.pem", ca.CertPEM)
	srv := ca.Server("gateway")
	cli := ca.Client("", testkit.URI("spiffe://example.org/ops"))
	cliCert, cliKey := write("client.crt", cli.CertPEM), write("client.key", cli.KeyPEM)
	addr := startProduction(t, `grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
tls:
  cert_file: `+write("server.crt", srv.CertPEM)+`
  key_file: `+write("server.key", srv.KeyPEM)+`
  client_ca_file: `+caFile+`
access:
  mtls: true
  policies:
    - caller: spiffe://example.org/ops
      accounts: ["*"]
      permissions: [accounts:list]
accounts:
  - name: acme
    token_url: http://127.0.0.1:1/oauth2/token
    base_url: http://127.0.0.1:1
    client_id: acme
    client_secret_env: ACME_SECRET
`, func(k string) string {
		if k == "ACME_SECRET" {
			return "s"
		}
		return ""
	})
	g := devGateway{addr: addr}
	vars := map[string]string{"EEO_ADDR": addr}

	out, errOut, err := g.clientEnv(t, vars, "accounts", "--ca", caFile, "--cert", cliCert, "--key-file", cliKey)
	if err != nil || !strings.Contains(out, "acme") {
		t.Fatalf("accounts over mTLS: %v\n%s%s", err, out, errOut)
	}
	if _, _, err := g.clientEnv(t, vars, "accounts", "--insecure-skip-verify", "--cert", cliCert, "--key-file", cliKey); err != nil {
		t.Errorf("--insecure-skip-verify: %v", err)
	}
	// No client certificate: refused in the handshake. Under TLS 1.3 the
	// client learns it either from the gateway's alert (then it is the
	// caller's credentials: exit 3) or, if its first write races the
	// alert, only as a broken connection (exit 5).
	_, _, err = g.clientEnv(t, vars, "accounts", "--ca", caFile)
	switch code := exitcode.Of(err); {
	case code == exitcode.OK:
		t.Errorf("accounts without a client certificate succeeded")
	case strings.Contains(err.Error(), "certificate required") && code != exitcode.Auth:
		t.Errorf("refused client certificate: exit %d (%v), want %d", code, err, exitcode.Auth)
	case code != exitcode.Auth && code != exitcode.Upstream:
		t.Errorf("without a client certificate: exit %d (%v)", code, err)
	}
	// Not trusting the gateway's CA: the handshake fails, nothing is sent.
	if _, _, err := g.clientEnv(t, vars, "accounts", "--tls", "--cert", cliCert, "--key-file", cliKey); exitcode.Of(err) != exitcode.Upstream || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without --ca: exit %d (%v), want %d naming the certificate", exitcode.Of(err), err, exitcode.Upstream)
	}
	// Plaintext to a TLS port fails too.
	if _, _, err := g.clientEnv(t, vars, "accounts"); exitcode.Of(err) != exitcode.Upstream {
		t.Errorf("plaintext to TLS: exit %d (%v), want %d", exitcode.Of(err), err, exitcode.Upstream)
	}
	if _, _, err := g.clientEnv(t, vars, "accounts", "--cert", cliCert); exitcode.Of(err) != exitcode.Usage {
		t.Errorf("--cert without --key-file: exit %d (%v), want %d", exitcode.Of(err), err, exitcode.Usage)
	}
}
