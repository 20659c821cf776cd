package access

import (
	"fmt"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
)

// Reflection says who may use gRPC server reflection (grpcurl list and
// describe).
type Reflection int

const (
	// ReflectionAuthenticated (the default) serves reflection to any
	// authenticated caller; no permission is needed, since it reveals only
	// the API's shape.
	ReflectionAuthenticated Reflection = iota
	// ReflectionPublic serves reflection to anyone, like health.
	ReflectionPublic
	// ReflectionOff answers every reflection call UNIMPLEMENTED, to
	// everyone: exactly what a client sees from a server without
	// reflection, so grpcurl reports it plainly, and no caller learns more
	// than another.
	ReflectionOff
)

// String returns the mode's name as a config file would spell it.
func (r Reflection) String() string {
	switch r {
	case ReflectionAuthenticated:
		return "authenticated"
	case ReflectionPublic:
		return "public"
	case ReflectionOff:
		return "off"
	default:
		return fmt.Sprintf("Reflection(%d)", int(r))
	}
}

// methodKind is how the Guard treats a method. The zero value is unknown:
// a method missing from the table is denied.
type methodKind int

const (
	kindUnknown    methodKind = iota // not in the table: PERMISSION_DENIED
	kindPublic                       // no authentication at all
	kindReflection                   // per Config.Reflection
	kindGuarded                      // authenticated, rate-limited, authorized
)

// accountSource says where a method's request names its account, and so
// what the Guard checks the caller's policy against. The zero value is no
// source at all: a guarded rule that does not say is refused for every
// caller, so forgetting it cannot turn into "allowed on every account".
type accountSource int

const (
	accountUnset            accountSource = iota // the rule does not say: PERMISSION_DENIED
	accountNone                                  // the method concerns no account (ListAccounts): the permission on any account suffices
	accountInRequest                             // the request's GetAccount()
	accountInImportMetadata                      // CreateImport: the first message's metadata
)

// methodRule is what the Guard needs to know about one method.
type methodRule struct {
	kind    methodKind
	perm    Permission
	account accountSource
	// audit: the call hands out a credential, moves data or changes state,
	// so every attempt, allowed or not, gets an audit event.
	audit bool
	// hitsRoutine: a call the handler reports as served from the token
	// cache (callnote.CacheHit) is routine, and audited only with
	// Config.AuditTokenCacheHits.
	hitsRoutine bool
	// listsAccounts: the method lists accounts, and its handler is given
	// the caller's view (internal/accountview) to filter them by before
	// paging.
	listsAccounts bool
	// newFirst allocates a streaming method's first request message, which
	// the Guard reads and authorizes before the handler starts; nil for
	// unary methods, whose request the interceptor already holds.
	newFirst func() proto.Message
}

// methodRules maps every method the server serves to its rule. A method not
// listed is denied, so a new RPC stays closed until someone decides its
// permission and account source here; TestEveryProtoMethodHasARule checks
// that every method of the eeo.v1 services has a complete entry.
var methodRules = map[string]methodRule{
	healthpb.Health_Check_FullMethodName: {kind: kindPublic},
	healthpb.Health_Watch_FullMethodName: {kind: kindPublic},

	reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName:      {kind: kindReflection},
	reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName: {kind: kindReflection},

	eeov1.TokenService_GetToken_FullMethodName:        {kind: kindGuarded, perm: PermTokenGet, account: accountInRequest, audit: true, hitsRoutine: true},
	eeov1.TokenService_RefreshToken_FullMethodName:    {kind: kindGuarded, perm: PermTokenRefresh, account: accountInRequest, audit: true},
	eeov1.TokenService_InvalidateToken_FullMethodName: {kind: kindGuarded, perm: PermTokenInvalidate, account: accountInRequest, audit: true},
	eeov1.TokenService_ListAccounts_FullMethodName:    {kind: kindGuarded, perm: PermAccountsList, account: accountNone, listsAccounts: true},

	eeov1.ImportReportService_ListImportTypes_FullMethodName:  {kind: kindGuarded, perm: PermImportsRead, account: accountInRequest},
	eeov1.ImportReportService_GetImport_FullMethodName:        {kind: kindGuarded, perm: PermImportsRead, account: accountInRequest},
	eeov1.ImportReportService_ListImports_FullMethodName:      {kind: kindGuarded, perm: PermImportsRead, account: accountInRequest},
	eeov1.ImportReportService_ListImportErrors_FullMethodName: {kind: kindGuarded, perm: PermImportsRead, account: accountInRequest},
	eeov1.ImportReportService_WatchImport_FullMethodName: {kind: kindGuarded, perm: PermImportsRead, account: accountInRequest,
		newFirst: func() proto.Message { return new(eeov1.WatchImportRequest) }},
	eeov1.ImportReportService_CreateImport_FullMethodName: {kind: kindGuarded, perm: PermImportsWrite, account: accountInImportMetadata, audit: true,
		newFirst: func() proto.Message { return new(eeov1.CreateImportRequest) }},
	eeov1.ImportReportService_CancelImport_FullMethodName: {kind: kindGuarded, perm: PermImportsWrite, account: accountInRequest, audit: true},

	eeov1.ImportReportService_ListReportTypes_FullMethodName: {kind: kindGuarded, perm: PermReportsRead, account: accountInRequest},
	eeov1.ImportReportService_GetReport_FullMethodName:       {kind: kindGuarded, perm: PermReportsRead, account: accountInRequest},
	eeov1.ImportReportService_ListReports_FullMethodName:     {kind: kindGuarded, perm: PermReportsRead, account: accountInRequest},
	eeov1.ImportReportService_WatchReport_FullMethodName: {kind: kindGuarded, perm: PermReportsRead, account: accountInRequest,
		newFirst: func() proto.Message { return new(eeov1.WatchReportRequest) }},
	eeov1.ImportReportService_DownloadReport_FullMethodName: {kind: kindGuarded, perm: PermReportsRead, account: accountInRequest, audit: true,
		newFirst: func() proto.Message { return new(eeov1.DownloadReportRequest) }},
	eeov1.ImportReportService_CreateReport_FullMethodName: {kind: kindGuarded, perm: PermReportsWrite, account: accountInRequest, audit: true},
	eeov1.ImportReportService_CancelReport_FullMethodName: {kind: kindGuarded, perm: PermReportsWrite, account: accountInRequest, audit: true},
}

// ruleFor returns method's rule; unknown methods get the zero rule.
func ruleFor(method string) methodRule {
	return methodRules[method]
}

// accountOf reads the account a request names, per the method's rule.
// Requests that carry none give "".
func (r methodRule) accountOf(req any) string {
	switch r.account {
	case accountInRequest:
		if m, ok := req.(interface{ GetAccount() string }); ok {
			return m.GetAccount()
		}
	case accountInImportMetadata:
		if m, ok := req.(interface {
			GetMetadata() *eeov1.ImportMetadata
		}); ok {
			return m.GetMetadata().GetAccount()
		}
	}
	return ""
}

// requestIDOf reads the request's idempotency key, if it has one, for the
// audit event.
func requestIDOf(req any) string {
	if m, ok := req.(interface{ GetRequestId() string }); ok {
		return m.GetRequestId()
	}
	if m, ok := req.(interface {
		GetMetadata() *eeov1.ImportMetadata
	}); ok {
		return m.GetMetadata().GetRequestId()
	}
	return ""
}
