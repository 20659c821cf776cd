package access

// White-box: the method table is unexported on purpose (it is policy, not
// API), so its completeness is checked from inside.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/permission"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// apiPackage is the proto package of the gateway's own services.
const apiPackage = "eeo.v1"

// apiMethods returns every method of every service in apiPackage, read from
// the registered file descriptors, so a new RPC or a new service file is
// picked up without editing this test.
func apiMethods(t *testing.T) []protoreflect.MethodDescriptor {
	t.Helper()
	var out []protoreflect.MethodDescriptor
	protoregistry.GlobalFiles.RangeFilesByPackage(apiPackage, func(f protoreflect.FileDescriptor) bool {
		for i := range f.Services().Len() {
			svc := f.Services().Get(i)
			for j := range svc.Methods().Len() {
				out = append(out, svc.Methods().Get(j))
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatalf("no services registered in package %s", apiPackage)
	}
	return out
}

func fullMethodName(m protoreflect.MethodDescriptor) string {
	return fmt.Sprintf("/%s/%s", m.Parent().FullName(), m.Name())
}

func TestEveryProtoMethodHasARule(t *testing.T) {
	for _, m := range apiMethods(t) {
		name := fullMethodName(m)
		rule, ok := methodRules[name]
		switch {
		case !ok:
			t.Errorf("%s has no entry in methodRules (access/methods.go): every caller is refused until it has one", name)
			continue
		case rule.kind != kindGuarded:
			t.Errorf("%s: kind %d; the gateway's own methods must be guarded", name, rule.kind)
		case !rule.perm.Known():
			t.Errorf("%s: permission %q is not one of internal/permission's", name, rule.perm)
		}
		in := m.Input()
		switch rule.account {
		case accountUnset:
			t.Errorf("%s: the rule does not say where the account comes from", name)
		case accountNone:
			// A method whose request names an account must check it: marking
			// it "no account" would allow it on every account.
			if in.Fields().ByName("account") != nil || in.Fields().ByName("metadata") != nil {
				t.Errorf("%s: rule says no account, but %s names one", name, in.FullName())
			}
		case accountInRequest:
			if f := in.Fields().ByName("account"); f == nil || f.Kind() != protoreflect.StringKind {
				t.Errorf("%s: rule reads GetAccount(), but %s has no string field account", name, in.FullName())
			}
		case accountInImportMetadata:
			md := in.Fields().ByName("metadata")
			if md == nil || md.Message() == nil || md.Message().Fields().ByName("account") == nil {
				t.Errorf("%s: rule reads metadata.account, but %s has no such field", name, in.FullName())
			}
		}
		streaming := m.IsStreamingClient() || m.IsStreamingServer()
		switch {
		case streaming && rule.account != accountNone && rule.newFirst == nil:
			t.Errorf("%s: streaming with an account in its request, but no newFirst: the Guard could not read the account before the handler runs", name)
		case !streaming && rule.newFirst != nil:
			t.Errorf("%s: unary, but has newFirst", name)
		case rule.newFirst != nil && rule.newFirst().ProtoReflect().Descriptor().FullName() != in.FullName():
			t.Errorf("%s: newFirst makes %s, want %s", name, rule.newFirst().ProtoReflect().Descriptor().FullName(), in.FullName())
		}
	}
}

func TestEveryRuleNamesARegisteredMethod(t *testing.T) {
	for name := range methodRules {
		slash := strings.LastIndexByte(name, '/')
		if !strings.HasPrefix(name, "/") || slash <= 0 {
			t.Errorf("%q is not a full method name", name)
			continue
		}
		svc, method := name[1:slash], name[slash+1:]
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			t.Errorf("%s: service %s is not registered: a stale entry", name, svc)
			continue
		}
		if sd, ok := d.(protoreflect.ServiceDescriptor); !ok || sd.Methods().ByName(protoreflect.Name(method)) == nil {
			t.Errorf("%s: no such method in %s: a stale entry", name, svc)
		}
	}
}

// TestIncompleteRuleFailsClosed shows the zero account source is a refusal,
// even to a caller holding the permission on every account and in
// unauthenticated mode.
func TestIncompleteRuleFailsClosed(t *testing.T) {
	for _, anonymous := range []bool{false, true} {
		cfg := Config{
			APIKeys:  []APIKey{{Caller: "admin", SHA256: "0000000000000000000000000000000000000000000000000000000000000000"}},
			Policies: []Policy{{Caller: "apikey:admin", Accounts: []string{AllAccounts}, Permissions: permission.All()}},
		}
		if anonymous {
			// Unauthenticated mode takes no rules (New refuses to ignore them).
			cfg = Config{AllowUnauthenticated: true}
		}
		g, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		admin := Caller{Name: "apikey:admin", Via: ViaAPIKey}
		forgot := methodRule{kind: kindGuarded, perm: PermTokenGet} // no account source
		for _, err := range []error{
			g.authorizeMethod(admin, forgot, "/eeo.v1.TokenService/Future"),
			g.authorizeCall(admin, forgot, "/eeo.v1.TokenService/Future", "A"),
			g.authorizeCall(admin, forgot, "/eeo.v1.TokenService/Future", ""),
			g.authorizeCall(admin, methodRule{}, "/eeo.v1.TokenService/Unknown", "A"),
		} {
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("anonymous=%v: %v, want PERMISSION_DENIED", anonymous, err)
			}
		}
		complete := methodRule{kind: kindGuarded, perm: PermTokenGet, account: accountInRequest}
		if err := g.authorizeCall(admin, complete, "/eeo.v1.TokenService/GetToken", "A"); err != nil {
			t.Errorf("anonymous=%v: a complete rule was refused: %v", anonymous, err)
		}
		g.Close()
	}
}
