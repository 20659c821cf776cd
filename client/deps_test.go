package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientPullsNoServerPackages: a service importing the client gets the
// stubs, gRPC and x/oauth2 — not grpc-gateway, and none of the gateway's
// server-side packages (server, auth, eeo, config, the sandbox…).
func TestClientPullsNoServerPackages(t *testing.T) {
	const pkg = "github.com/eeo-gateway/eeo-gateway/client"
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		ours := strings.HasPrefix(dep, "github.com/eeo-gateway/eeo-gateway/")
		if strings.Contains(dep, "grpc-gateway") || ours && dep != pkg && !strings.HasPrefix(dep, "github.com/eeo-gateway/eeo-gateway/gen/eeo/") {
			t.Errorf("the client pulls in %s", dep)
		}
	}
}
