package filebench_test

import (
	"net/http"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/benchstack"
	"github.com/eeo-gateway/eeo-gateway/internal/filebench"
)

// TestSmoke is `make bench-files` in miniature: a gateway process built from
// cmd/eeo-gateway, configured as an operator would (caller authentication
// on), in front of a sandbox process, moving a few MiB each way over gRPC
// and REST intact. It exists so the file benchmark cannot silently break.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the gateway")
	}
	dir := t.TempDir()
	bin, err := benchstack.Build(t.Context(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	stack, err := benchstack.Start(t.Context(), benchstack.Options{Binary: bin, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stack.Close(); err != nil {
			t.Errorf("gateway did not stop cleanly: %v", err)
		}
	}()

	const size = 3 << 20
	results, err := filebench.Run(t.Context(), filebench.Target{
		GRPCAddr: stack.GRPCAddr, RESTURL: stack.RESTURL, APIKey: stack.APIKey, Account: benchstack.Account,
	}, &filebench.Direct{BaseURL: stack.SandboxURL, ClientID: stack.ClientID, ClientSecret: stack.ClientSecret}, size)
	if err != nil {
		t.Fatalf("%v\ngateway log:\n%s", err, stack.GatewayLog())
	}
	want := []string{filebench.UploadDirect, filebench.UploadGRPC, filebench.UploadREST,
		filebench.DownloadDirect, filebench.DownloadGRPC, filebench.DownloadREST,
		filebench.DownloadGRPCGatewayHashes, filebench.DownloadRESTGatewayHashes}
	if len(results) != len(want) {
		t.Fatalf("%d transfers, want %d: %+v", len(results), len(want), results)
	}
	for i, r := range results {
		if r.Name != want[i] || r.Err != nil || r.Bytes < size*9/10 {
			t.Errorf("transfer %d: %s moved %d bytes, err %v; want %s moving about %d bytes intact", i, r.Name, r.Bytes, r.Err, want[i], size)
		}
	}
	if resp, err := http.Get(stack.AdminURL + "/metrics"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics on the admin listener: %v", err)
	} else {
		resp.Body.Close()
	}
	if rss, err := stack.GatewayPeakRSS(); err != nil || rss <= 0 {
		t.Errorf("gateway peak RSS = %d, %v", rss, err)
	}
}
