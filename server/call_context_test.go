package server_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// finishedCalls returns the access log lines of calls to method.
func finishedCalls(t *testing.T, g *gateway, method string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(g.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "finished call" && m["grpc.method"] == method {
			out = append(out, m)
		}
	}
	return out
}

func TestGRPCRequestIDIsKeptOrGeneratedAndReturned(t *testing.T) {
	g := startGateway(t, nil)
	client := eeov1.NewTokenServiceClient(g.conn)
	var header metadata.MD
	ctx := metadata.AppendToOutgoingContext(t.Context(), requestid.MetadataKey, "grpc-req-7")
	if _, err := client.GetToken(ctx, &eeov1.GetTokenRequest{Account: "demo"}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	if got := header.Get(requestid.MetadataKey); len(got) != 1 || got[0] != "grpc-req-7" {
		t.Errorf("x-request-id header = %v, want the caller's", got)
	}
	ctx = metadata.AppendToOutgoingContext(t.Context(), requestid.MetadataKey, "spaces are not allowed")
	if _, err := client.GetToken(ctx, &eeov1.GetTokenRequest{Account: "demo"}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	generated := header.Get(requestid.MetadataKey)
	if len(generated) != 1 || !requestid.Valid(generated[0]) {
		t.Fatalf("x-request-id header for a malformed id = %v, want a generated one", generated)
	}
	lines := finishedCalls(t, g, "GetToken")
	if len(lines) != 2 || lines[0]["request_id"] != "grpc-req-7" || lines[1]["request_id"] != generated[0] {
		t.Errorf("access log request ids: %v", lines)
	}
	// A caller on the network port cannot pose as a REST client.
	ctx = metadata.AppendToOutgoingContext(t.Context(), "x-eeo-gateway-client-addr", "203.0.113.1:1")
	if _, err := client.GetToken(ctx, &eeov1.GetTokenRequest{Account: "demo"}); err != nil {
		t.Fatal(err)
	}
	if addr := finishedCalls(t, g, "GetToken")[2]["peer.address"].(string); !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("peer.address = %q with forged client address metadata, want the connection's", addr)
	}
}

func TestRESTClientAddressAndForwardedFor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		xff     string
		want    string // prefix of the logged peer.address
	}{
		{"no proxy trusted: X-Forwarded-For is ignored", nil, "203.0.113.9", "127.0.0.1:"},
		{"trusted proxy: the client it names", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.9", "203.0.113.9:0"},
		{"trusted chain: the rightmost untrusted hop", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")},
			"198.51.100.7, 203.0.113.9, 10.1.2.3", "203.0.113.9:0"},
		{"trusted proxy: an IPv6 client", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "2001:db8::7", "[2001:db8::7]:0"},
		{"trusted proxy: an IPv4-mapped client is its IPv4 address", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "::ffff:203.0.113.9", "203.0.113.9:0"},
		{"garbage hop: the proxy itself", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "not-an-ip", "127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, func(c *server.Config) { c.TrustedProxies = tc.trusted })
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.baseURL+"/v1/accounts/demo/token", nil)
			req.Header.Set("X-Forwarded-For", tc.xff)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !requestid.Valid(resp.Header.Get(requestid.Header)) {
				t.Errorf("X-Request-Id = %q", resp.Header.Get(requestid.Header))
			}
			lines := finishedCalls(t, g, "GetToken")
			if len(lines) != 1 {
				t.Fatalf("access log: %v", lines)
			}
			if addr, _ := lines[0]["peer.address"].(string); !strings.HasPrefix(addr, tc.want) || strings.HasPrefix(addr, "bufconn") {
				t.Errorf("peer.address = %q, want %s…", addr, tc.want)
			}
			if lines[0]["request_id"] != resp.Header.Get(requestid.Header) {
				t.Errorf("logged request_id %v, returned %q", lines[0]["request_id"], resp.Header.Get(requestid.Header))
			}
		})
	}
}

func TestHealthChecksLogAtDebug(t *testing.T) {
	g := startGateway(t, nil)
	if _, err := healthpb.NewHealthClient(g.conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	g.restCall(t, http.MethodGet, "/healthz")
	if _, err := eeov1.NewTokenServiceClient(g.conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"}); err != nil {
		t.Fatal(err)
	}
	checks := finishedCalls(t, g, "Check")
	if len(checks) != 2 {
		t.Fatalf("health check log lines: %v", checks)
	}
	for _, l := range checks {
		if l["level"] != "DEBUG" {
			t.Errorf("health check logged at %v, want DEBUG", l["level"])
		}
	}
	if l := finishedCalls(t, g, "GetToken"); len(l) != 1 || l[0]["level"] != "INFO" {
		t.Errorf("GetToken log lines %v, want one at INFO", l)
	}
}

// Even an operator's allow-list cannot let a REST client set the facade's
// own metadata, such as the client address.
func TestRESTClientCannotForgeFacadeMetadata(t *testing.T) {
	g := startGateway(t, func(c *server.Config) {
		c.AllowedMetadataHeaders = []string{"Grpc-Metadata-X-Eeo-Gateway-Client-Addr"}
	})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.baseURL+"/v1/accounts/demo/token", nil)
	req.Header.Set("Grpc-Metadata-X-Eeo-Gateway-Client-Addr", "203.0.113.66:1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if lines := finishedCalls(t, g, "GetToken"); len(lines) != 1 || !strings.HasPrefix(lines[0]["peer.address"].(string), "127.0.0.1:") {
		t.Errorf("access log %v, want the real loopback client", lines)
	}
}

func TestAdminRequestsLogAtDebug(t *testing.T) {
	g := startGateway(t, nil)
	get(t, g.adminURL+server.ReadyzPath)
	for _, line := range strings.Split(g.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "admin request" {
			if m["level"] != "DEBUG" || m["http.route"] != "/readyz" {
				t.Errorf("admin request logged as %v", m)
			}
			return
		}
	}
	t.Error("no admin request log line")
}
