package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/prometheus/client_golang/prometheus"
)

// Upstream holds the metrics of calls to EEO: the EEO client's (through
// eeo.Observer) and the token endpoint's (through TokenTransport).
type Upstream struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	breaker     *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	slotWait    *prometheus.HistogramVec
	rejections  *prometheus.CounterVec
	bytes       *prometheus.CounterVec
}

// Breaker states as the eeo_gateway_upstream_breaker_state gauge shows them.
const (
	breakerClosed   = 0
	breakerHalfOpen = 1
	breakerOpen     = 2
)

// OperationToken is the operation label of token requests.
const OperationToken = "token"

// NewUpstream registers the upstream metrics with reg, with every
// account's breaker closed and byte counters at zero.
func NewUpstream(reg prometheus.Registerer, accounts []string) (*Upstream, error) {
	u := &Upstream{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_upstream_requests_total",
			Help: "HTTP requests to EEO by account, operation (token, create_import, download_report, …) and status class (2xx, 4xx, 5xx; error when no answer came).",
		}, []string{"account", "operation", "status_class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eeo_gateway_upstream_request_duration_seconds",
			Help:    "Time of one HTTP request to EEO until its answer (for streams: until the stream is set up), by account and operation.",
			Buckets: prometheus.DefBuckets,
		}, []string{"account", "operation"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_upstream_retries_total",
			Help: "Retries of idempotent EEO calls after a failed attempt, by account and operation.",
		}, []string{"account", "operation"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "eeo_gateway_upstream_breaker_state",
			Help: "The account's circuit breaker toward EEO: 0 closed, 1 half-open, 2 open (calls fail fast).",
		}, []string{"account"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_upstream_breaker_transitions_total",
			Help: "Circuit breaker state changes by account and the state entered (closed, half-open, open).",
		}, []string{"account", "to"}),
		slotWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eeo_gateway_upstream_concurrency_wait_seconds",
			Help:    "Time EEO calls waited for one of the account's concurrency slots.",
			Buckets: []float64{0.001, 0.01, 0.1, 0.5, 1, 5, 30},
		}, []string{"account"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_upstream_concurrency_rejections_total",
			Help: "EEO calls refused because no concurrency slot freed up within the caller's deadline (EEO_CONCURRENCY_LIMITED).",
		}, []string{"account"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_upstream_bytes_total",
			Help: "File bytes moved to or from EEO, by account and direction (upload, download).",
		}, []string{"account", "direction"}),
	}
	for _, c := range []prometheus.Collector{u.requests, u.duration, u.retries, u.breaker, u.transitions, u.slotWait, u.rejections, u.bytes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, a := range accounts {
		u.breaker.WithLabelValues(a).Set(breakerClosed)
		u.bytes.WithLabelValues(a, "upload")
		u.bytes.WithLabelValues(a, "download")
		u.rejections.WithLabelValues(a)
	}
	return u, nil
}

// operation turns an eeo operation name ("create import") into a label
// value ("create_import"). The names are the eeo package's constants.
func operation(op string) string { return strings.ReplaceAll(op, " ", "_") }

func statusClass(status int) string {
	if status <= 0 {
		return "error"
	}
	return strconv.Itoa(status/100) + "xx"
}

func (u *Upstream) observeRequest(account, op string, status int, took time.Duration) {
	u.requests.WithLabelValues(account, op, statusClass(status)).Inc()
	u.duration.WithLabelValues(account, op).Observe(took.Seconds())
}

// Observer returns the eeo.Observer of account's EEO client.
func (u *Upstream) Observer(account string) eeo.Observer {
	return &upstreamObserver{u: u, account: account}
}

type upstreamObserver struct {
	u       *Upstream
	account string
}

func (o *upstreamObserver) SlotWaited(_ context.Context, _ string, waited time.Duration, err error) {
	o.u.slotWait.WithLabelValues(o.account).Observe(waited.Seconds())
	var ee *eeo.Error
	if errors.As(err, &ee) && ee.Code == eeo.CodeConcurrencyLimited {
		o.u.rejections.WithLabelValues(o.account).Inc()
	}
}

func (o *upstreamObserver) AttemptStarted(ctx context.Context, _ string, _ int) context.Context {
	return ctx
}

func (o *upstreamObserver) AttemptEnded(_ context.Context, op string, _ int, status int, _ error, took time.Duration) {
	o.u.observeRequest(o.account, operation(op), status, took)
}

func (o *upstreamObserver) Retrying(_ context.Context, op string, _ int, _ time.Duration, _ error) {
	o.u.retries.WithLabelValues(o.account, operation(op)).Inc()
}

func (o *upstreamObserver) BreakerChanged(account, _, to string) {
	v := breakerClosed
	switch to {
	case "open":
		v = breakerOpen
	case "half-open":
		v = breakerHalfOpen
	}
	o.u.breaker.WithLabelValues(o.account).Set(float64(v))
	o.u.transitions.WithLabelValues(o.account, to).Inc()
}

func (o *upstreamObserver) Streamed(_ context.Context, op string, n int64) {
	direction := "download"
	if op == "create import" {
		direction = "upload"
	}
	o.u.bytes.WithLabelValues(o.account, direction).Add(float64(n))
}

// TokenTransport counts account's token requests (operation "token")
// through next.
func (u *Upstream) TokenTransport(next http.RoundTripper, account string) http.RoundTripper {
	return tokenTransport{next: next, u: u, account: account}
}

type tokenTransport struct {
	next    http.RoundTripper
	u       *Upstream
	account string
}

func (t tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.u.observeRequest(t.account, OperationToken, status, time.Since(start))
	return resp, err
}
