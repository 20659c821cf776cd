package sandbox_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

func TestLogsNoSecretsOrTokens(t *testing.T) {
	var logs testkit.SyncBuffer
	const wrongSecret = "not-the-secret-Zq9"
	clk := testkit.NewClock()
	sb, ts := start(t, sandbox.Options{
		Now:    clk.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})

	// Issue (both styles), use, fail to authenticate, reject for every reason.
	tok := issue(t, ts)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testID}, "client_secret": {testSecret}}
	if res := send(t, ts, tokenReq(t, ts, form, nil)); res.status != http.StatusOK {
		t.Fatalf("form token: %d", res.status)
	}
	whoami(t, ts, tok)
	send(t, ts, tokenReq(t, ts, grant, &sandbox.Client{ID: testID, Secret: wrongSecret}))
	whoami(t, ts, "eeosbx_unknown")
	clk.Advance(time.Hour)
	whoami(t, ts, tok) // inactive
	idleTok := issue(t, ts)
	sb.SetFaults(sandbox.Faults{API: sandbox.Fault{Status: 502}})
	whoami(t, ts, idleTok)
	sb.SetFaults(sandbox.Faults{})
	sb.RevokeAll()
	whoami(t, ts, idleTok) // revoked

	out := logs.String()
	if !strings.Contains(out, "client_id="+testID) || !strings.Contains(out, "token_fp=") {
		t.Fatalf("expected client_id and token_fp in logs, got:\n%s", out)
	}
	secrets := []string{testSecret, url.QueryEscape(testSecret), wrongSecret}
	secrets = append(secrets, sb.IssuedTokens()...)
	if len(secrets) != 3+3 {
		t.Fatalf("issued %d tokens, want 3", len(secrets)-3)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("log output contains secret or token %q:\n%s", s, out)
		}
	}
}
