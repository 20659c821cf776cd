package main

import (
	"net/http"
	"testing"
)

// log.access_sampling reaches the access log: a caller's repeated
// GetTokens are written past the first lines of a second only as counts,
// each written line names its caller, and by shutdown the lines account
// for every call.
func TestAccessLogSamplingFromTheConfigFile(t *testing.T) {
	s := startProdStack(t, prodStackOptions{extraYAML: "log:\n  access_sampling:\n    initial: 2\n    thereafter: 1000\n"})
	const calls = 30
	for range calls {
		if code, _, body := s.rest(t, http.MethodGet, "/v1/accounts/acme/token", nil, nil); code != http.StatusOK {
			t.Fatalf("GetToken: %d %s", code, body)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	written, accounted := 0, 0
	for _, l := range s.logLines("") {
		if l["grpc.method"] != "GetToken" || (l["msg"] != "finished call" && l["msg"] != "suppressed calls") {
			continue
		}
		if l["caller"] != "apikey:ops" {
			t.Errorf("line without its caller: %v", l)
		}
		if l["msg"] == "finished call" {
			written++
			accounted++
		}
		if n, ok := l["suppressed"].(float64); ok {
			accounted += int(n)
		}
	}
	if written >= calls || accounted != calls {
		t.Errorf("%d GetTokens: %d lines written accounting for %d calls; want fewer lines, accounting for all", calls, written, accounted)
	}
}
