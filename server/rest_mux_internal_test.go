package server

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every request isAPIRequest sends straight to grpc-gateway is one the
// facade's ServeMux would have handed to grpc-gateway unchanged through its
// catch-all: no redirect, no other route, the same URL.
func FuzzAPIRequestsAreWhatTheServeMuxPassesOn(f *testing.F) {
	for _, target := range []string{
		"/v1/accounts/demo/token", "/v1/accounts", "/v1/accounts/demo/token/", "/v1/accounts/demo/token:refresh",
		"/v1/accounts/demo/reports/r-1:download", "/v1/accounts/d%C3%A9mo/token", "/v1/a%2Fb/token", "/v1/a%252F/b",
		"/v1//accounts", "/v1/./accounts", "/v1/../openapi.json", "/v1/a/..", "/v1/a/.", "/v1/", "/v1", "/V1/accounts",
		"/openapi.json", "/docs", "/docs/", "/", "/v1/accounts?pageSize=2", "/v1/%zz", "*", "http://other/v1/accounts",
	} {
		for _, method := range []string{"GET", "POST", "DELETE", "CONNECT", "HEAD"} {
			f.Add(method, target)
		}
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: gw.example\r\n\r\n")))
		if err != nil || !isAPIRequest(r) {
			return
		}
		want := r.URL.String()
		var got []string
		gw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = append(got, r.URL.String())
			w.WriteHeader(http.StatusTeapot)
		})
		rec := httptest.NewRecorder()
		restServeMux(gw).ServeHTTP(rec, r)
		if rec.Code != http.StatusTeapot || len(got) != 1 || got[0] != want {
			t.Fatalf("%s %s: the ServeMux answered %d (Location %q), grpc-gateway saw %q; want it passed on as %q",
				method, target, rec.Code, rec.Header().Get("Location"), got, want)
		}
	})
}

// The API's own requests do take the short cut (BenchmarkGetTokenRESTServer
// counts what it saves); what the ServeMux would redirect does not.
func TestAPIRequestsSkipTheServeMux(t *testing.T) {
	for target, want := range map[string]bool{
		"/v1/accounts/demo/token": true, "/v1/accounts/demo/reports/r-1:download": true, "/v1/accounts?pageSize=2": true,
		"/v1//accounts": false, "/v1/../openapi.json": false, "/openapi.json": false, "/docs/": false,
	} {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		if got := isAPIRequest(r); got != want {
			t.Errorf("isAPIRequest(GET %s) = %v, want %v", target, got, want)
		}
	}
	if isAPIRequest(httptest.NewRequest(http.MethodConnect, "/v1/accounts", nil)) {
		t.Error("a CONNECT request, which the ServeMux routes its own way, took the short cut")
	}
}
