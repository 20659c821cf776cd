package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
)

// devGateway is a `serve --dev` stack for client tests, with a sandbox
// fast enough that waiting for an import or report takes milliseconds.
type devGateway struct {
	addr, key string
}

func startDevGateway(t *testing.T) devGateway {
	t.Helper()
	banner, stop := startDev(t, "--sandbox-step", "10ms")
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("gateway stopped with %v", err)
		}
	})
	addr := regexp.MustCompile(`grpcurl -plaintext (\S+) list`).FindStringSubmatch(banner)
	key := regexp.MustCompile(`export EEO_KEY=(\S+)`).FindStringSubmatch(banner)
	if addr == nil || key == nil {
		t.Fatalf("banner lacks the address or key:\n%s", banner)
	}
	return devGateway{addr: addr[1], key: key[1]}
}

// client runs `eeo-gateway client ARGS` against g with EEO_ADDR and
// EEO_KEY set, as an operator would after copying them from the banner.
func (g devGateway) client(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return g.clientEnv(t, map[string]string{"EEO_ADDR": g.addr, "EEO_KEY": g.key}, args...)
}

func (g devGateway) clientEnv(t *testing.T, vars map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut strings.Builder
	err = run(t.Context(), append([]string{"client"}, args...), env{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: &errOut})
	return out.String(), errOut.String(), err
}

// mustClient is client for calls that must succeed.
func (g devGateway) mustClient(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := g.client(t, args...)
	if err != nil {
		t.Fatalf("client %q: %v\nstderr:\n%s", args, err, errOut)
	}
	return out
}

func TestClientTokens(t *testing.T) {
	g := startDevGateway(t)
	// Dev mode's start-up sample report (the banner's download line)
	// fetched a token; drop it to see an account without one.
	g.mustClient(t, "token", "invalidate", "demo")
	out := g.mustClient(t, "accounts")
	if !regexp.MustCompile(`(?m)^demo\s+NONE\s`).MatchString(out) {
		t.Errorf("accounts without a token:\n%s", out)
	}

	// Masked unless --reveal: a token is a live EEO credential.
	out = g.mustClient(t, "token", "get", "demo")
	if strings.Contains(out, "eeosbx_") || !strings.Contains(out, "[masked") {
		t.Errorf("token get shows the token:\n%s", out)
	}
	fp := regexp.MustCompile(`fingerprint:\s+([0-9a-f]{16})`).FindStringSubmatch(out)
	if fp == nil {
		t.Fatalf("no fingerprint in\n%s", out)
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal([]byte(g.mustClient(t, "token", "get", "demo", "--reveal", "--output", "json")), &tok); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(tok.AccessToken))
	if !strings.HasPrefix(tok.AccessToken, "eeosbx_") || tok.Fingerprint != fp[1] || hex.EncodeToString(sum[:8]) != fp[1] {
		t.Errorf("--reveal --output json = %+v, want the cached token with fingerprint %s", tok, fp[1])
	}

	out = g.mustClient(t, "token", "refresh", "demo")
	if strings.Contains(out, fp[1]) {
		t.Errorf("refresh returned the same token:\n%s", out)
	}
	if out := g.mustClient(t, "token", "invalidate", "demo", "--fingerprint", fp[1]); !strings.Contains(out, "nothing invalidated") {
		t.Errorf("invalidating a replaced token:\n%s", out)
	}
	if out := g.mustClient(t, "token", "invalidate", "demo"); !strings.Contains(out, "invalidated the cached token of demo") {
		t.Errorf("invalidate:\n%s", out)
	}
}

// writeCSV writes a participants file of rows data rows; every tenth row
// has an invalid email.
func writeCSV(t *testing.T, rows int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("participant_id,first_name,last_name,email\n")
	for i := 1; i <= rows; i++ {
		email := fmt.Sprintf("p%d@example.com", i)
		if i%10 == 0 {
			email = "not-an-email"
		}
		fmt.Fprintf(&b, "%d,Ada,Lovelace,%s\n", i, email)
	}
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClientImportUploadWait(t *testing.T) {
	g := startDevGateway(t)
	path := writeCSV(t, 30)
	out, errOut, err := g.client(t, "import", "upload", "demo", path, "--type", "participants", "--wait", "--request-id", "people-1")
	if err != nil {
		t.Fatalf("upload --wait: %v\n%s", err, errOut)
	}
	for _, want := range []string{
		"state:         COMPLETED",
		"rows:          30 total, 27 accepted, 3 rejected",
		"ROW  COLUMN  ERROR",
		"10   email   must contain one @",
		"30   email   must contain one @",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("upload --wait output lacks %q:\n%s", want, out)
		}
	}
	// Without a terminal, progress is plain lines on stderr.
	if !strings.Contains(errOut, "uploading people.csv: ") || !strings.Contains(errOut, "COMPLETED") || strings.Contains(errOut, "\r") {
		t.Errorf("progress on stderr:\n%q", errOut)
	}
	id := regexp.MustCompile(`import:\s+(imp_\S+)`).FindStringSubmatch(out)[1]

	// The same request id returns the same import.
	out = g.mustClient(t, "import", "upload", "demo", path, "--type", "participants", "--request-id", "people-1", "-q")
	if !strings.Contains(out, id) {
		t.Errorf("retry with the same request id made a new import:\n%s", out)
	}
	if out := g.mustClient(t, "import", "list", "demo", "--state", "completed"); !strings.Contains(out, id) {
		t.Errorf("import list:\n%s", out)
	}
	if out := g.mustClient(t, "import", "get", "demo", id, "--output", "json"); !strings.Contains(out, `"state": "IMPORT_STATE_COMPLETED"`) {
		t.Errorf("import get --output json:\n%s", out)
	}
	if out := g.mustClient(t, "import", "errors", "demo", id); strings.Count(out, "must contain one @") != 3 {
		t.Errorf("import errors:\n%s", out)
	}
	if out := g.mustClient(t, "import", "watch", "demo", id); !strings.Contains(out, "COMPLETED") {
		t.Errorf("watching a finished import:\n%s", out)
	}
	if _, _, err := g.client(t, "import", "cancel", "demo", id); exitcode.Of(err) != exitcode.Failure || !strings.Contains(err.Error(), "NOT_CANCELLABLE") {
		t.Errorf("cancelling a finished import: %v", err)
	}
}

func TestClientReportRun(t *testing.T) {
	g := startDevGateway(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "grants.csv")
	out := g.mustClient(t, "report", "run", "demo", "grants", "--param", "as_of=2026-01-31", "--param", "rows=2000", "-o", file)
	content, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if want := fmt.Sprintf("%s: %s, SHA-256 %s verified", file, "", hex.EncodeToString(sum[:])); !strings.HasPrefix(out, file+": ") || !strings.Contains(out, hex.EncodeToString(sum[:])+" verified") {
		t.Errorf("report run printed %q, want like %q", out, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	id := regexp.MustCompile(`rpt_\w+`).FindString(g.mustClient(t, "report", "list", "demo"))
	if id == "" {
		t.Fatal("report list shows no report")
	}
	// Downloading again, to stdout, gives the same bytes.
	if out := g.mustClient(t, "report", "download", "demo", id, "-o", "-", "-q"); out != string(content) {
		t.Errorf("report download -o - gave %d bytes, want the %d of the file", len(out), len(content))
	}
	if out := g.mustClient(t, "report", "get", "demo", id); !strings.Contains(out, "SUCCEEDED") || !strings.Contains(out, hex.EncodeToString(sum[:])) {
		t.Errorf("report get:\n%s", out)
	}
}

// Scripts branch on the exit status.
func TestClientExitCodes(t *testing.T) {
	g := startDevGateway(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()

	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want int
		msg  string
	}{
		{"no key", map[string]string{"EEO_ADDR": g.addr}, []string{"accounts"}, exitcode.Auth, "pass --key or set EEO_KEY"},
		{"wrong key", map[string]string{"EEO_ADDR": g.addr, "EEO_KEY": "dev-wrong"}, []string{"accounts"}, exitcode.Auth, "UNAUTHENTICATED"},
		{"unknown account", nil, []string{"token", "get", "nope"}, exitcode.NotFound, "ACCOUNT_NOT_FOUND"},
		{"unknown import", nil, []string{"import", "get", "demo", "imp_000000000000000000000000"}, exitcode.NotFound, "IMPORT_NOT_FOUND"},
		{"unknown report parameter", nil, []string{"report", "run", "demo", "grants", "--param", "as_of=2026-01-31", "--param", "colour=blue"}, exitcode.Usage, "INVALID_PARAMETER"},
		{"bad --param", nil, []string{"report", "run", "demo", "grants", "--param", "as_of"}, exitcode.Usage, "want NAME=VALUE"},
		{"missing --type", nil, []string{"import", "upload", "demo", "x.csv"}, exitcode.Usage, "--type is required"},
		{"bad --output", nil, []string{"accounts", "--output", "yaml"}, exitcode.Usage, "--output"},
		{"report that fails in EEO", nil, []string{"report", "run", "demo", "grants", "--param", "as_of=2026-01-31", "--param", "simulate_failure=true", "-q"}, exitcode.Upstream, "ended FAILED"},
		{"gateway down", map[string]string{"EEO_ADDR": deadAddr, "EEO_KEY": g.key}, []string{"accounts"}, exitcode.Upstream, "is the gateway running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := tc.vars
			if vars == nil {
				vars = map[string]string{"EEO_ADDR": g.addr, "EEO_KEY": g.key}
			}
			_, _, err := g.clientEnv(t, vars, tc.args...)
			if got := exitcode.Of(err); got != tc.want || !strings.Contains(fmt.Sprint(err), tc.msg) {
				t.Errorf("exit %d (%v), want %d mentioning %q", got, err, tc.want, tc.msg)
			}
			if err != nil && strings.Contains(err.Error(), g.key) {
				t.Errorf("error shows the API key: %v", err)
			}
		})
	}
}
