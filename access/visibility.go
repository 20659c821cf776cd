package access

import (
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// namesAccount reports whether caller's policy names account, with any
// permission: the accounts a caller may learn exist and see the state of.
func (ps policies) namesAccount(caller, account string) bool {
	g := ps[caller]
	return g != nil && len(g.perms) > 0 && (g.allAccounts || g.accounts[account])
}

// visibleOnly trims a page of accounts to the ones the
// caller's policy names. ListAccounts names no account, so authorizing it
// cannot scope it; without this a caller allowed one account would see
// every account's token state, fingerprint and last error. With access
// control off (AllowUnauthenticated) every account is visible, as every
// permission is granted. Trimming follows paging, so a page may hold fewer
// accounts than page_size, even none; next_page_token is kept, so a
// caller's loop still reaches the end (AIP-158 allows short pages).
func (g *Guard) visibleOnly(caller Caller, resp any) any {
	r, ok := resp.(*eeov1.ListAccountsResponse)
	if !ok || r == nil || g.anonymous {
		return resp
	}
	out := &eeov1.ListAccountsResponse{Accounts: make([]*eeov1.Account, 0, len(r.GetAccounts())), NextPageToken: r.GetNextPageToken()}
	for _, a := range r.GetAccounts() {
		if g.policies.namesAccount(caller.Name, a.GetName()) {
			out.Accounts = append(out.Accounts, a)
		}
	}
	return out
}
