package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/server"
)

// TestRESTRoutingErrorsAreStatuses: requests the REST facade cannot route
// or decode get the same google.rpc.Status with an ErrorInfo as every other
// error, with the HTTP status that says what went wrong.
func TestRESTRoutingErrorsAreStatuses(t *testing.T) {
	s := newStack(t, stackOptions{})
	cases := []struct {
		name, method, path, body string
		wantCode                 int
		wantReason               string
	}{
		{"unknown path", http.MethodGet, "/v1/nowhere", "", http.StatusNotFound, server.ReasonRouteNotFound},
		{"wrong method", http.MethodDelete, "/v1/accounts/" + account + "/importTypes", "", http.StatusMethodNotAllowed, server.ReasonMethodNotAllowed},
		{"malformed JSON", http.MethodPost, "/v1/accounts/" + account + "/reports", `{"reportType":`, http.StatusBadRequest, server.ReasonMalformedRequest},
		{"JSON of the wrong shape", http.MethodPost, "/v1/accounts/" + account + "/reports", `{"reportType": 7}`, http.StatusBadRequest, server.ReasonMalformedRequest},
		{"pageSize=abc", http.MethodGet, "/v1/accounts/" + account + "/imports?pageSize=abc", "", http.StatusBadRequest, server.ReasonMalformedRequest},
		{"unknown enum in the query", http.MethodGet, "/v1/accounts/" + account + "/imports?state=SOMETIMES", "", http.StatusBadRequest, server.ReasonMalformedRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, header, body := s.restJSON(t, c.method, c.path, c.body)
			if code != c.wantCode {
				t.Errorf("HTTP %d, want %d; body %s", code, c.wantCode, body)
			}
			if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			if reason, _ := restStatus(t, body); reason != c.wantReason {
				t.Errorf("reason %q, want %q; body %s", reason, c.wantReason, body)
			}
		})
	}
}
