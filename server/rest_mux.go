package server

import (
	"net/http"
	"path"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/internal/docsui"
)

// newRESTMux routes the REST facade's requests: the OpenAPI document and
// the docs page on it, and everything else to grpc-gateway (gw), which
// answers paths it has no route for in the API's error format.
//
// The API's own paths (/v1/…) skip net/http's ServeMux: it would hand
// them to gw through its catch-all anyway, after matching them against
// its patterns (five allocations per request). A path the ServeMux would
// redirect instead — not in canonical form, say /v1//accounts — still goes
// through it, so it still is redirected.
func newRESTMux(gw http.Handler) http.Handler {
	mux := restServeMux(gw)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPIRequest(r) {
			gw.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// restServeMux is the facade's net/http routes, and gw for everything else.
func restServeMux(gw http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.Handle("GET /docs/", docsui.Handler("/docs/"))
	mux.Handle("GET /docs", http.RedirectHandler("/docs/", http.StatusMovedPermanently))
	mux.Handle("/", gw)
	return mux
}

// apiPrefix starts every path of the API's routes; no pattern of the
// ServeMux in newRESTMux but its catch-all matches a path under it.
const apiPrefix = "/v1/"

// isAPIRequest says whether r is for a path under apiPrefix that the
// ServeMux in newRESTMux would serve as it is: what that mux does to find
// a handler (net/http's ServeMux.findHandler) with its patterns, where only
// the catch-all matches such a path — the method is not CONNECT (which it
// routes differently) and the escaped path is canonical (else it
// redirects to the cleaned one).
func isAPIRequest(r *http.Request) bool {
	if r.Method == http.MethodConnect {
		return false
	}
	p := r.URL.EscapedPath()
	return strings.HasPrefix(p, apiPrefix) && cleanPath(p) == p
}

// cleanPath is net/http's: the canonical path for p, eliminating . and ..
// elements and repeated slashes but keeping a trailing slash. path.Clean
// allocates nothing for a path that is canonical already.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	// path.Clean removes trailing slash except for root;
	// put the trailing slash back if necessary.
	if p[len(p)-1] == '/' && np != "/" {
		// Fast path for common case of p being the string we want:
		if len(p) == len(np)+1 && strings.HasPrefix(p, np) {
			np = p
		} else {
			np += "/"
		}
	}
	return np
}
