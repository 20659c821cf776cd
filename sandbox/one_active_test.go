package sandbox_test

import (
	"net/http"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// In one-active-token mode an issuance revokes the same client's earlier
// token, and only that client's: this is the upstream behaviour that makes
// replicas fetching their own tokens revoke each other.
func TestOneActiveTokenRevokesEarlierToken(t *testing.T) {
	sb, ts := start(t, sandbox.Options{
		OneActiveToken: true,
		Clients: []sandbox.Client{
			{ID: testID, Secret: testSecret},
			{ID: "other", Secret: "other-secret"},
		},
	})
	first := issue(t, ts)
	otherTok := issueFor(t, ts, "other", "other-secret")
	if res := whoami(t, ts, first); res.status != http.StatusOK {
		t.Fatalf("first token before a new issuance: %d %s", res.status, res.body)
	}

	second := issue(t, ts)
	assertInvalidToken(t, "earlier token after a new issuance", whoami(t, ts, first))
	if res := whoami(t, ts, second); res.status != http.StatusOK {
		t.Errorf("newest token: %d %s, want 200", res.status, res.body)
	}
	if res := whoami(t, ts, otherTok); res.status != http.StatusOK {
		t.Errorf("another client's token: %d %s, want 200 (revocation is per client)", res.status, res.body)
	}
	if st := sb.Stats(); st.TokensIssued != 3 || st.TokensRevoked != 1 || st.RejectedTokens != 1 {
		t.Errorf("stats = issued %d revoked %d rejected %d, want 3, 1, 1", st.TokensIssued, st.TokensRevoked, st.RejectedTokens)
	}
}

// By default the sandbox keeps every issued token live, as EEO's
// documentation implies.
func TestTokensStayLiveByDefault(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	first := issue(t, ts)
	issue(t, ts)
	if res := whoami(t, ts, first); res.status != http.StatusOK {
		t.Errorf("earlier token after a new issuance: %d %s, want 200", res.status, res.body)
	}
	if got := sb.Stats().TokensRevoked; got != 0 {
		t.Errorf("TokensRevoked = %d, want 0", got)
	}
}
