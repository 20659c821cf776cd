package metrics

import (
	"github.com/eeo-gateway/eeo-gateway/internal/version"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a registry with the Go runtime and process
// collectors and eeo_gateway_build_info for the given build.
func NewRegistry(build version.Info) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		BuildInfo(build),
	)
	return reg
}

// BuildInfo is the eeo_gateway_build_info gauge: always 1, its labels name
// the running build, so a dashboard can show which version each replica
// runs and a query can join on it.
func BuildInfo(build version.Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "eeo_gateway_build_info",
		Help: "Always 1; the labels name the running build's version, commit and Go version.",
		ConstLabels: prometheus.Labels{
			"version":    build.Version,
			"commit":     build.Commit,
			"go_version": build.GoVersion,
		},
	})
	g.Set(1)
	return g
}
