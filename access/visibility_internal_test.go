package access

import (
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// White-box: the trim behind the handler's filtering must hand a correctly
// filtered page on as it is, not a copy that could drift from it.
func TestVisibleOnlyLeavesAFilteredPageAlone(t *testing.T) {
	g, err := New(Config{
		APIKeys:  []APIKey{{Caller: "one", SHA256: "0000000000000000000000000000000000000000000000000000000000000000"}},
		Policies: []Policy{{Caller: "apikey:one", Accounts: []string{"B"}, Permissions: []Permission{PermAccountsList}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	caller := Caller{Name: "apikey:one", Via: ViaAPIKey}
	filtered := &eeov1.ListAccountsResponse{Accounts: []*eeov1.Account{{Name: "B"}}, NextPageToken: "t"}
	if got := g.visibleOnly(caller, filtered); got != any(filtered) {
		t.Errorf("a filtered page came back as %v, want the same response", got)
	}
	unfiltered := &eeov1.ListAccountsResponse{Accounts: []*eeov1.Account{{Name: "A"}, {Name: "B"}}, NextPageToken: "t"}
	got, _ := g.visibleOnly(caller, unfiltered).(*eeov1.ListAccountsResponse)
	if len(got.GetAccounts()) != 1 || got.GetAccounts()[0].GetName() != "B" || got.GetNextPageToken() != "t" {
		t.Errorf("an unfiltered page came back as %v, want [B] with its token", got)
	}
}
