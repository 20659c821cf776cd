package e2e_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/server"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestReflectionAndHealth proves the operational surface: reflection lists
// the services, health reports them SERVING, and the REST port serves
// /healthz and the OpenAPI document.
func TestReflectionAndHealth(t *testing.T) {
	s := newStack(t, stackOptions{})

	stream, err := reflectionpb.NewServerReflectionClient(s.conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: ""},
	}); err != nil {
		t.Fatalf("reflection Send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection Recv: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatalf("reflection CloseSend: %v", err)
	}
	var services []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		services = append(services, svc.GetName())
	}
	for _, want := range []string{eeov1.TokenService_ServiceDesc.ServiceName, healthpb.Health_ServiceDesc.ServiceName} {
		if !slices.Contains(services, want) {
			t.Errorf("reflection lists %v, missing %s", services, want)
		}
	}

	health := healthpb.NewHealthClient(s.conn)
	for _, svc := range []string{"", "eeo.v1.TokenService"} {
		got, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || got.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health Check(%q) = %v, %v; want SERVING", svc, got.GetStatus(), err)
		}
	}

	if code, _, body := s.rest(t, http.MethodGet, "/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz: HTTP %d, body %s", code, body)
	}
	code, _, body := s.rest(t, http.MethodGet, "/openapi.json")
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); code != http.StatusOK || err != nil {
		t.Fatalf("GET /openapi.json: HTTP %d, not JSON (%v)", code, err)
	}
	if _, ok := doc.Paths["/v1/accounts/{account}/token"]; !ok {
		t.Errorf("OpenAPI paths lack /v1/accounts/{account}/token")
	}
}

// TestRESTAndGRPCShareCacheAndErrors proves REST is a facade over the same
// cache and the same error model as gRPC.
func TestRESTAndGRPCShareCacheAndErrors(t *testing.T) {
	s := newStack(t, stackOptions{})
	viaGRPC := s.mustToken(t)

	code, hdr, body := s.rest(t, http.MethodGet, "/v1/accounts/"+account+"/token")
	if code != http.StatusOK {
		t.Fatalf("REST GetToken: HTTP %d", code)
	}
	var viaREST eeov1.GetTokenResponse
	if err := protojson.Unmarshal(body, &viaREST); err != nil {
		t.Fatalf("REST GetToken body is not a GetTokenResponse: %v", err)
	}
	if viaREST.GetToken().GetAccessToken() != viaGRPC.GetAccessToken() {
		t.Error("REST and gRPC returned different tokens: they do not share the cache")
	}
	if cc := hdr.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("REST token response Cache-Control = %q, want no-store", cc)
	}
	s.wantTokenRequests(t, 1)

	code, _, body = s.rest(t, http.MethodGet, "/v1/accounts/no-such-account/token")
	if code != http.StatusNotFound {
		t.Errorf("REST unknown account: HTTP %d, want 404", code)
	}
	detail := restErrorDetail(t, body)
	if detail["reason"] != server.ReasonAccountNotFound || detail["domain"] != server.ErrorDomain {
		t.Errorf("REST unknown account details[0] = %v, want reason %s domain %s", detail, server.ReasonAccountNotFound, server.ErrorDomain)
	}
}
