package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	_ "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1" // registers the descriptors walked below
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// withoutGatewayMapping lists the RPCs that have no google.api.http option,
// each with why and the route the REST facade serves it on by hand. An RPC
// is either mapped in its proto or listed here: TestEveryRPCHasARESTRoute
// fails otherwise.
var withoutGatewayMapping = map[string]struct {
	why          string
	method, path string
}{
	"/eeo.v1.ImportReportService/CreateImport": {
		why:    "client streaming: grpc-gateway cannot stream a raw or multipart body into it, so server/rest_files.go does",
		method: http.MethodPost, path: "/v1/accounts/demo/imports",
	},
}

func TestEveryRPCHasARESTRoute(t *testing.T) {
	var methods []protoreflect.MethodDescriptor
	protoregistry.GlobalFiles.RangeFilesByPackage("eeo.v1", func(f protoreflect.FileDescriptor) bool {
		for i := range f.Services().Len() {
			for j := range f.Services().Get(i).Methods().Len() {
				methods = append(methods, f.Services().Get(i).Methods().Get(j))
			}
		}
		return true
	})
	if len(methods) == 0 {
		t.Fatal("no eeo.v1 services registered")
	}
	g := startGateway(t, nil)
	seen := map[string]bool{}
	for _, m := range methods {
		name := fmt.Sprintf("/%s/%s", m.Parent().FullName(), m.Name())
		seen[name] = true
		rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
		exception, listed := withoutGatewayMapping[name]
		switch {
		case rule.GetPattern() != nil && listed:
			t.Errorf("%s has a google.api.http option and is listed in withoutGatewayMapping: drop one", name)
		case rule.GetPattern() == nil && !listed:
			t.Errorf("%s has no google.api.http option: add one in proto/, or list it in withoutGatewayMapping with why and its hand-written route", name)
		case listed:
			if exception.why == "" {
				t.Errorf("%s: withoutGatewayMapping gives no reason", name)
			}
			// The hand-written route exists: refusing an empty request is
			// not "no such route".
			resp, _ := g.restCall(t, exception.method, exception.path)
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented {
				t.Errorf("%s: %s %s answers %d; its hand-written REST route is missing", name, exception.method, exception.path, resp.StatusCode)
			}
		}
	}
	for name := range withoutGatewayMapping {
		if !seen[name] {
			t.Errorf("withoutGatewayMapping lists %s, which the proto no longer has", name)
		}
	}
}

// A path or query that is not UTF-8 is refused as a bad request before it
// reaches a handler (proto strings must be UTF-8); one without a query, or
// with a valid one, is served.
func TestRESTRefusesPathsAndQueriesThatAreNotUTF8(t *testing.T) {
	g := startGateway(t, nil)
	for path, want := range map[string]int{
		"/v1/accounts/demo/token":                 http.StatusOK,
		"/v1/accounts/demo/token?x=%C3%A9":        http.StatusOK,
		"/v1/accounts/d%FFmo/token":               http.StatusBadRequest,
		"/v1/accounts/demo/token?x=%FF":           http.StatusBadRequest,
		"/v1/accounts/demo/token?%FF=1":           http.StatusBadRequest,
		"/v1/accounts/demo/imports?pageToken=%FE": http.StatusBadRequest,
	} {
		resp, body := g.restCall(t, http.MethodGet, path)
		if resp.StatusCode != want {
			t.Errorf("GET %s: HTTP %d %v, want %d", path, resp.StatusCode, body, want)
			continue
		}
		if want == http.StatusBadRequest && !strings.Contains(fmt.Sprint(body["message"]), "must be UTF-8") {
			t.Errorf("GET %s: body %v does not say the path and query must be UTF-8", path, body)
		}
	}
}
