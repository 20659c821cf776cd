package metrics

import (
	"sync/atomic"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/prometheus/client_golang/prometheus"
)

// otherCaller labels callers that are not named in the configuration: a
// JWT subject or certificate identity could be anything, and must not
// create series.
const otherCaller = "other"

// Access counts the access guard's decisions. It implements
// access.Observer.
type Access struct {
	known           map[string]bool
	authentications *prometheus.CounterVec
	denials         *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
	transferLimited *prometheus.CounterVec
	// authOK caches the counter of each successful way to authenticate
	// (okVias' order), found on first use: every authenticated call counts
	// one, and looking a series up by its labels (hashing both, a locked
	// map read) cost more than the increment. Filled lazily so a way no
	// caller has used yet still has no series.
	authOK [len(okVias)]atomic.Pointer[prometheus.Counter]
}

// okVias are the access.Via values whose successful authentications
// Authenticated counts without a label lookup.
var okVias = [...]string{access.ViaAPIKey, access.ViaJWT, access.ViaMTLS, access.ViaUnauthenticated}

// NewAccess registers the access metrics with reg. knownCallers are the
// caller identities the configuration names (its policies); any other
// caller is labelled "other".
func NewAccess(reg prometheus.Registerer, knownCallers []string) (*Access, error) {
	a := &Access{
		known: map[string]bool{},
		authentications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_access_authentications_total",
			Help: "Caller authentications by method (api_key, jwt, mtls, unauthenticated; bearer or none when failed) and outcome (ok, missing_credentials, invalid_credentials, rate_limited).",
		}, []string{"method", "outcome"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_access_denials_total",
			Help: "Calls refused for lack of permission, by configured caller (other for any identity the configuration does not name) and permission.",
		}, []string{"caller", "permission"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_access_rate_limited_total",
			Help: "Calls refused by the caller's rate limit, by configured caller (other for any identity the configuration does not name).",
		}, []string{"caller"}),
		transferLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eeo_gateway_access_transfer_limited_total",
			Help: "Streams (uploads, downloads, watches) refused because the caller already had its share open, by configured caller (other for any identity the configuration does not name).",
		}, []string{"caller"}),
	}
	for _, c := range knownCallers {
		a.known[c] = true
	}
	for _, c := range []prometheus.Collector{a.authentications, a.denials, a.rateLimited, a.transferLimited} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *Access) caller(name string) string {
	if a.known[name] {
		return name
	}
	return otherCaller
}

// Authenticated implements access.Observer.
func (a *Access) Authenticated(via, outcome string) {
	if outcome == access.AuthOK {
		for i, v := range okVias {
			if v == via {
				if c := a.authOK[i].Load(); c != nil {
					(*c).Inc()
					return
				}
				c := a.authentications.WithLabelValues(via, outcome)
				a.authOK[i].Store(&c)
				c.Inc()
				return
			}
		}
	}
	a.authentications.WithLabelValues(via, outcome).Inc()
}

// Denied implements access.Observer.
func (a *Access) Denied(caller string, perm access.Permission) {
	a.denials.WithLabelValues(a.caller(caller), string(perm)).Inc()
}

// RateLimited implements access.Observer.
func (a *Access) RateLimited(caller string) {
	a.rateLimited.WithLabelValues(a.caller(caller)).Inc()
}

// TransferLimited implements access.Observer.
func (a *Access) TransferLimited(caller string) {
	a.transferLimited.WithLabelValues(a.caller(caller)).Inc()
}
