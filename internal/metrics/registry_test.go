package metrics_test

import (
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/metrics"
	"github.com/eeo-gateway/eeo-gateway/internal/version"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBuildInfo(t *testing.T) {
	reg := metrics.NewRegistry(version.Info{Version: "v1.2.3", Commit: "abc123", GoVersion: "go1.26.0"})
	want := `
# HELP eeo_gateway_build_info Always 1; the labels name the running build's version, commit and Go version.
# TYPE eeo_gateway_build_info gauge
eeo_gateway_build_info{commit="abc123",go_version="go1.26.0",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "eeo_gateway_build_info"); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
