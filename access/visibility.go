package access

import (
	"context"
	"slices"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/accountview"
)

// namesAccount reports whether caller's policy names account, with any
// permission: the accounts a caller may learn exist and see the state of.
func (ps policies) namesAccount(caller, account string) bool {
	g := ps[caller]
	return g != nil && len(g.perms) > 0 && (g.allAccounts || g.accounts[account])
}

// restrictView gives the handler of a method that lists accounts
// (ListAccounts, which names no account, so authorizing it cannot scope
// it) the accounts caller may see, for it to filter by before paging: a
// caller allowed on 3 of 500 accounts gets full pages of its 3. A caller
// allowed on every account, or every caller with access control off
// (AllowUnauthenticated), gets no restriction, and so the same page tokens
// as the gateway without a Guard. A restricted view is scoped to the
// caller, so its page tokens are refused for any other caller.
func (g *Guard) restrictView(ctx context.Context, caller Caller) context.Context {
	if g.anonymous {
		return ctx
	}
	if gr := g.policies[caller.Name]; gr != nil && gr.allAccounts && len(gr.perms) > 0 {
		return ctx
	}
	ps, name := g.policies, caller.Name
	return accountview.Restrict(ctx, name, func(account string) bool { return ps.namesAccount(name, account) })
}

// visibleOnly is defence in depth behind restrictView: it trims from a
// ListAccounts response any account the caller's policy does not name,
// should a handler have ignored the view (without it a caller allowed one
// account would see every account's token state, fingerprint and last
// error). A correctly filtered page, the normal case, is returned as it
// is. A trimmed page keeps its next_page_token, so a caller's loop still
// reaches the end.
func (g *Guard) visibleOnly(caller Caller, resp any) any {
	r, ok := resp.(*eeov1.ListAccountsResponse)
	if !ok || r == nil || g.anonymous {
		return resp
	}
	hidden := func(a *eeov1.Account) bool { return !g.policies.namesAccount(caller.Name, a.GetName()) }
	if !slices.ContainsFunc(r.GetAccounts(), hidden) {
		return resp
	}
	out := &eeov1.ListAccountsResponse{Accounts: make([]*eeov1.Account, 0, len(r.GetAccounts())), NextPageToken: r.GetNextPageToken()}
	for _, a := range r.GetAccounts() {
		if !hidden(a) {
			out.Accounts = append(out.Accounts, a)
		}
	}
	return out
}
