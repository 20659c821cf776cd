package e2e_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
)

// TestSecuritySecretFileRotation proves that rotating the client secret
// file takes effect without a restart and drops the token issued to the
// old credentials. The account's fetcher reads its secret through an
// auth.FileSecret watched by auth.WatchSecretFiles, as production wires a
// client_secret_file.
//
// The sandbox knows one secret per client, fixed at sandbox.New (a
// repeated client ID replaces the earlier entry), so EEO cannot be made to
// accept a newly generated secret mid-test. The test therefore rotates
// twice: to a secret EEO does not know, which shows the cached token
// dropped at once (no call needed) and the next fetch presenting the new
// secret, refused as invalid_client; then back to the secret EEO accepts,
// which clears the failure and its backoff so the next call gets a new
// token at once — all on the running gateway.
func TestSecuritySecretFileRotation(t *testing.T) {
	cfg := &access.Config{}
	ops := grant(cfg, "ops", []string{account}, access.PermTokenGet, access.PermAccountsList)
	s := newStack(t, stackOptions{Access: cfg, SecretFile: true})
	caller := s.as(t, view{Bearer: ops})

	demoAccount := func() *eeov1.Account {
		t.Helper()
		resp, err := caller.tokens.ListAccounts(t.Context(), &eeov1.ListAccountsRequest{})
		if err != nil {
			t.Fatalf("ListAccounts: %v", err)
		}
		for _, a := range resp.GetAccounts() {
			if a.GetName() == account {
				return a
			}
		}
		t.Fatalf("ListAccounts lacks %s: %v", account, resp)
		return nil
	}
	// rotate replaces the secret file atomically, as secret stores do.
	rotate := func(secret string) {
		t.Helper()
		tmp := filepath.Join(filepath.Dir(s.secretFile), ".rotating")
		if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, s.secretFile); err != nil {
			t.Fatal(err)
		}
	}

	t1 := caller.mustToken(t)
	if st := demoAccount().GetTokenState(); st != eeov1.TokenState_TOKEN_STATE_FRESH {
		t.Fatalf("after GetToken the account is %v, want FRESH", st)
	}
	s.wantTokenRequests(t, 1)

	// Rotate to a secret EEO does not (yet) know. The cached token, issued
	// to the old credentials, is dropped by the watch alone.
	rotate(newSecret("e2e-rotated-secret-longer-"))
	waitFor(t, "the rotated secret file to drop the cached token", func() bool {
		return demoAccount().GetTokenState() == eeov1.TokenState_TOKEN_STATE_NONE
	})
	s.wantTokenRequests(t, 1)
	// The next fetch presents the new secret, which EEO refuses.
	_, err := caller.getToken(t.Context())
	if _, e := grpcRefusal(err, codes.FailedPrecondition, server.ReasonEEOInvalidClient); e != nil {
		t.Fatalf("GetToken after rotating to a secret EEO does not know: %v", e)
	}
	s.wantTokenRequests(t, 2)
	if a := demoAccount(); a.GetLastErrorReason() != server.ReasonEEOInvalidClient || a.GetRetryTime() == nil {
		t.Fatalf("ListAccounts last_error_reason %q retry_time %v, want %q and a backoff", a.GetLastErrorReason(), a.GetRetryTime(), server.ReasonEEOInvalidClient)
	}
	// Meanwhile the failure is replayed from the backoff, not re-fetched.
	_, err = caller.getToken(t.Context())
	if _, e := grpcRefusal(err, codes.FailedPrecondition, server.ReasonEEOInvalidClient); e != nil {
		t.Fatalf("GetToken during the backoff: %v", e)
	}
	s.wantTokenRequests(t, 2)

	// Rotate to the secret EEO accepts: the failure (and any backoff) is
	// forgotten without a call, and the next GetToken fetches a new token.
	rotate(s.presentedSecret)
	waitFor(t, "the rotated secret file to clear the failure", func() bool {
		a := demoAccount()
		return a.GetLastErrorReason() == "" && a.GetRetryTime() == nil
	})
	t2 := caller.mustToken(t)
	if t2.GetFingerprint() == t1.GetFingerprint() {
		t.Error("GetToken after rotation returned the token issued before it")
	}
	s.wantTokenRequests(t, 3)
	if n := s.countLogs(t, "client secret rotated; cached token dropped", map[string]string{"component": "secrets", "account": account}); n != 2 {
		t.Errorf("%d rotation log lines, want 2", n)
	}
}
