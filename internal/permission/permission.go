// Package permission is the one list of rights a caller policy can grant.
// access/ checks them, config/ validates a policy's names against them and
// cmd/ grants all of them to dev mode's caller; each RPC needs exactly one
// (see the method table in access/methods.go). It imports nothing of the
// gateway's, so any package may use it without importing upward.
package permission

import (
	"slices"
	"strings"
)

// Permission is a right a policy grants, spelled as a config file names it.
type Permission string

// The permissions.
const (
	// TokenGet allows GetToken: receiving a live EEO access token.
	TokenGet Permission = "token:get"
	// TokenRefresh allows RefreshToken.
	TokenRefresh Permission = "token:refresh"
	// TokenInvalidate allows InvalidateToken.
	TokenInvalidate Permission = "token:invalidate"
	// ImportsWrite allows CreateImport and CancelImport.
	ImportsWrite Permission = "imports:write"
	// ImportsRead allows ListImportTypes, GetImport, ListImports,
	// ListImportErrors and WatchImport.
	ImportsRead Permission = "imports:read"
	// ReportsWrite allows CreateReport and CancelReport.
	ReportsWrite Permission = "reports:write"
	// ReportsRead allows ListReportTypes, GetReport, ListReports,
	// WatchReport and DownloadReport.
	ReportsRead Permission = "reports:read"
	// AccountsList allows ListAccounts, which names no account.
	AccountsList Permission = "accounts:list"
)

// all is every Permission, in the order messages list them.
var all = []Permission{
	TokenGet, TokenRefresh, TokenInvalidate,
	ImportsWrite, ImportsRead,
	ReportsWrite, ReportsRead,
	AccountsList,
}

// All returns every Permission; the caller may change the slice.
func All() []Permission { return slices.Clone(all) }

// Known reports whether p is one of the permissions.
func (p Permission) Known() bool { return slices.Contains(all, p) }

// Names lists the permissions for an error message: "token:get, …".
func Names() string {
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}
