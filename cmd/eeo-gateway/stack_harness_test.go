package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// prodStack is `serve --config` running in-process against a sandbox the
// test owns (for its fault knobs and request log), as an operator runs it:
// the same stack builder, metrics registry, admin listener and tracing.
type prodStack struct {
	sb                          *sandbox.Sandbox
	grpcAddr, restURL, adminURL string
	key                         string // the caller "ops"'s API key, every permission on "acme"
	logs                        *testkit.SyncBuffer
	secret                      string
	stop                        func() error
}

// prodStackOptions tune startProdStack.
type prodStackOptions struct {
	extraYAML    string // appended to the config file
	spanExporter sdktrace.SpanExporter
	sandboxNow   func() time.Time // the sandbox's clock; nil means time.Now
}

func startProdStack(t *testing.T, opts prodStackOptions) *prodStack {
	t.Helper()
	const clientID = "acme-client"
	secret := "sandbox-secret-" + t.Name()
	sb := sandbox.New(sandbox.Options{Clients: []sandbox.Client{{ID: clientID, Secret: secret}}, Now: opts.sandboxNow})
	sbLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sbCtx, stopSandbox := context.WithCancel(context.Background())
	sbDone := make(chan error, 1)
	go func() { sbDone <- sb.Serve(sbCtx, sbLis) }()
	base := "http://" + sbLis.Addr().String()

	key := "ops-key-" + t.Name()
	sum := sha256.Sum256([]byte(key))
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	yaml := fmt.Sprintf(`
grpc_addr: 127.0.0.1:0
http_addr: 127.0.0.1:0
admin_addr: 127.0.0.1:0
log_level: debug
access:
  api_keys:
    - caller: ops
      sha256: %s
  policies:
    - caller: apikey:ops
      accounts: [acme]
      permissions: [token:get, token:refresh, token:invalidate, accounts:list, imports:write, imports:read, reports:write, reports:read]
accounts:
  - name: acme
    token_url: %s/oauth2/token
    base_url: %s
    client_id: %s
    client_secret_env: ACME_SECRET
`, hex.EncodeToString(sum[:]), base, base, clientID) + opts.extraYAML
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "ACME_SECRET" {
			return secret
		}
		return ""
	}

	logs := &testkit.SyncBuffer{}
	logR, logW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", path}, env{getenv: getenv, stdout: io.Discard, stderr: logW, spanExporter: opts.spanExporter})
		logW.Close()
	}()
	// The "serving" line names the bound addresses.
	serving := make(chan map[string]any, 1)
	var copied sync.WaitGroup
	copied.Go(func() {
		sc := bufio.NewScanner(logR)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "serving" {
				serving <- m
			}
		}
		io.Copy(io.Discard, logR)
	})
	var addrs map[string]any
	select {
	case addrs = <-serving:
	case err := <-done:
		cancel()
		t.Fatalf("serve --config returned %v before serving; logs:\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("no serving line in 30s; logs:\n%s", logs)
	}
	var once sync.Once
	var stopErr error
	s := &prodStack{
		sb: sb, key: key, logs: logs, secret: secret,
		grpcAddr: addrs["grpc_addr"].(string),
		restURL:  "http://" + addrs["http_addr"].(string),
		adminURL: "http://" + addrs["admin_addr"].(string),
		stop: func() error {
			once.Do(func() {
				cancel()
				stopErr = <-done
				copied.Wait()
				stopSandbox()
				<-sbDone
			})
			return stopErr
		},
	}
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		if err := s.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

// rest does a REST request as the caller "ops" and returns the status,
// headers and body.
func (s *prodStack) rest(t *testing.T, method, path string, body io.Reader, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.restURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// logLines returns the JSON log lines whose msg is msg (all, for "").
func (s *prodStack) logLines(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && (msg == "" || m["msg"] == msg) {
			out = append(out, m)
		}
	}
	return out
}
