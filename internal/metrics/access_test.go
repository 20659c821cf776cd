package metrics_test

import (
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Successful authentications are counted per way, every one of them (the
// cached series included), and a way nobody used has no series.
func TestAccessCountsAuthentications(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a, err := metrics.NewAccess(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		a.Authenticated(access.ViaAPIKey, access.AuthOK)
	}
	a.Authenticated(access.ViaJWT, access.AuthOK)
	a.Authenticated(access.AuthViaNone, access.AuthMissingCredentials)
	a.Authenticated(access.AuthViaBearer, access.AuthInvalidCredentials)
	a.Authenticated(access.AuthViaBearer, access.AuthInvalidCredentials)
	want := `
# HELP eeo_gateway_access_authentications_total Caller authentications by method (api_key, jwt, mtls, unauthenticated; bearer or none when failed) and outcome (ok, missing_credentials, invalid_credentials, rate_limited).
# TYPE eeo_gateway_access_authentications_total counter
eeo_gateway_access_authentications_total{method="api_key",outcome="ok"} 3
eeo_gateway_access_authentications_total{method="bearer",outcome="invalid_credentials"} 2
eeo_gateway_access_authentications_total{method="jwt",outcome="ok"} 1
eeo_gateway_access_authentications_total{method="none",outcome="missing_credentials"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "eeo_gateway_access_authentications_total"); err != nil {
		t.Error(err)
	}
}

// BenchmarkAccessAuthenticated is what counting an authenticated call
// costs: every guarded call pays it.
func BenchmarkAccessAuthenticated(b *testing.B) {
	a, err := metrics.NewAccess(prometheus.NewRegistry(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a.Authenticated(access.ViaAPIKey, access.AuthOK)
		}
	})
}
