package server

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminConfig is what the admin listener serves. The admin listener is
// plaintext and never carries the API: it is for probes, scrapers and
// operators, and belongs on a port that only they can reach.
type AdminConfig struct {
	// Gatherer is what /metrics exposes, typically the registry the
	// server's Config.Metrics registers into. Nil answers /metrics with 404.
	Gatherer prometheus.Gatherer
	// Pprof serves Go's profiler under /debug/pprof/.
	Pprof bool
}

// Admin paths.
const (
	LivezPath   = "/livez"
	ReadyzPath  = "/readyz"
	MetricsPath = "/metrics"
	PprofPath   = "/debug/pprof/"
)

// adminHandler serves the admin listener:
//
//   - /livez is 200 while the process runs: a failing liveness probe gets a
//     process restarted, which fixes nothing that EEO or the network broke.
//   - /readyz is 200 while the server serves and is not draining; from the
//     first moment of a graceful shutdown (before the API listeners close)
//     it is 503, so load balancers and Kubernetes stop routing here first.
//     It deliberately does not wait for EEO: an EEO outage would then take
//     every replica out of rotation at once, and callers would get
//     connection errors instead of the gateway's UNAVAILABLE with a
//     RetryInfo and cached tokens that are still valid.
//   - /metrics is the Prometheus exposition of Config.Admin.Gatherer.
//   - /debug/pprof/ only with Config.Admin.Pprof.
//
// Every request is logged at DEBUG: probes and scrapes arrive every few
// seconds and would drown the INFO log.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LivezPath, func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET "+ReadyzPath, func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case s.draining.Err() != nil:
			writeText(w, http.StatusServiceUnavailable, "draining\n")
		case !s.serving.Load():
			writeText(w, http.StatusServiceUnavailable, "starting\n")
		default:
			writeText(w, http.StatusOK, "ok\n")
		}
	})
	if g := s.cfg.Admin.Gatherer; g != nil {
		mux.Handle("GET "+MetricsPath, promhttp.HandlerFor(g, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
			// A scrape that cannot gather a metric still returns the rest.
			ErrorHandling: promhttp.ContinueOnError,
			// OpenMetrics, when the scraper asks for it, carries the
			// exemplars that link gRPC latencies to traces.
			EnableOpenMetrics: true,
		}))
	}
	if s.cfg.Admin.Pprof {
		mux.HandleFunc(PprofPath, pprof.Index)
		mux.HandleFunc(PprofPath+"cmdline", pprof.Cmdline)
		mux.HandleFunc(PprofPath+"profile", pprof.Profile)
		mux.HandleFunc(PprofPath+"symbol", pprof.Symbol)
		mux.HandleFunc(PprofPath+"trace", pprof.Trace)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		mux.ServeHTTP(rw, r)
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "admin request",
			slog.String("http.method", r.Method), slog.String("http.route", adminRoute(r)),
			slog.Int("http.status", rw.status()), slog.String("peer.address", r.RemoteAddr),
			slog.Duration("duration", time.Since(start)))
	})
}

// adminRoute is the matched admin route, never the raw path a client sent.
func adminRoute(r *http.Request) string {
	if r.Pattern == "" {
		return routeUnmatched
	}
	if _, path, ok := strings.Cut(r.Pattern, " "); ok {
		return path
	}
	return r.Pattern
}

func newAdminServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write([]byte(body))
}
