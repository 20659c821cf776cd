package access

import (
	"fmt"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/access/identity"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
)

// Permission is a right a Policy grants; each RPC needs exactly one (see
// the method table in methods.go). The list lives in internal/permission,
// shared with config/ and cmd/.
type Permission = permission.Permission

// The permissions, under the names callers of this package know them by.
const (
	// PermTokenGet allows GetToken: receiving a live EEO access token.
	PermTokenGet = permission.TokenGet
	// PermTokenRefresh allows RefreshToken.
	PermTokenRefresh = permission.TokenRefresh
	// PermTokenInvalidate allows InvalidateToken.
	PermTokenInvalidate = permission.TokenInvalidate
	// PermImportsWrite allows CreateImport and CancelImport.
	PermImportsWrite = permission.ImportsWrite
	// PermImportsRead allows ListImportTypes, GetImport, ListImports,
	// ListImportErrors and WatchImport.
	PermImportsRead = permission.ImportsRead
	// PermReportsWrite allows CreateReport and CancelReport.
	PermReportsWrite = permission.ReportsWrite
	// PermReportsRead allows ListReportTypes, GetReport, ListReports,
	// WatchReport and DownloadReport.
	PermReportsRead = permission.ReportsRead
	// PermAccountsList allows ListAccounts, which names no account.
	PermAccountsList = permission.AccountsList
)

// AllAccounts in Policy.Accounts grants the permissions on every account.
const AllAccounts = "*"

// Policy grants a caller permissions on accounts. A caller without a policy
// may do nothing; permissions not listed are denied.
type Policy struct {
	// Caller is the identity the policy applies to, in the form Caller.Name
	// has (see package identity): apikey:<name>, jwt:<issuer>#<subject>,
	// spiffe://…, x509:uri:…, x509:dns:… or x509:cn:…. A bare name is
	// refused: it could match more than one kind of identity.
	Caller string
	// Accounts the permissions apply to; "*" means all.
	Accounts []string
	// Permissions granted on those accounts.
	Permissions []Permission
}

// grant is a validated Policy in the form authorization looks things up in.
type grant struct {
	perms       map[Permission]bool
	allAccounts bool
	accounts    map[string]bool
}

// policies is every caller's grant, by caller name.
type policies map[string]*grant

// newPolicies validates the configured policies against the identities the
// Guard can authenticate (on), keyed by canonical identity. A caller may
// have only one policy: two would leave a reader unsure which one wins.
func newPolicies(cfg []Policy, on identity.Enabled) (policies, error) {
	ps := make(policies, len(cfg))
	for i, p := range cfg {
		field := fmt.Sprintf("Policies[%d]", i)
		if p.Caller == "" {
			return nil, fmt.Errorf("%s.Caller: required", field)
		}
		caller, err := identity.CheckPolicyCaller(p.Caller, on)
		if err != nil {
			return nil, fmt.Errorf("%s.Caller: %w", field, err)
		}
		if _, dup := ps[caller]; dup {
			return nil, fmt.Errorf("%s.Caller: a second policy for caller %q; merge them into one", field, caller)
		}
		g := &grant{perms: map[Permission]bool{}, accounts: map[string]bool{}}
		for j, perm := range p.Permissions {
			if !perm.Known() {
				return nil, fmt.Errorf("%s.Permissions[%d]: unknown permission %q (known: %s)", field, j, perm, permission.Names())
			}
			g.perms[perm] = true
		}
		for j, a := range p.Accounts {
			switch {
			case a == AllAccounts:
				g.allAccounts = true
			case strings.TrimSpace(a) == "":
				return nil, fmt.Errorf("%s.Accounts[%d]: empty account name", field, j)
			default:
				g.accounts[a] = true
			}
		}
		ps[caller] = g
	}
	return ps, nil
}

// hasPermission reports whether caller holds perm on some account, so a call
// can be refused before anything is read from it.
func (ps policies) hasPermission(caller string, perm Permission) bool {
	g := ps[caller]
	return g != nil && g.perms[perm]
}

// allows reports whether caller holds perm on account.
func (ps policies) allows(caller string, perm Permission, account string) bool {
	g := ps[caller]
	if g == nil || !g.perms[perm] {
		return false
	}
	return g.allAccounts || g.accounts[account]
}
