package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

func TestTokenBasicAuth(t *testing.T) {
	_, ts := start(t, sandbox.Options{})
	res := send(t, ts, tokenReq(t, ts, grant, &sandbox.Client{ID: testID, Secret: testSecret}))
	if res.status != http.StatusOK {
		t.Fatalf("status %d, body %s", res.status, res.body)
	}
	for k, want := range map[string]string{
		"Content-Type":  "application/json",
		"Cache-Control": "no-store",
		"Pragma":        "no-cache",
	} {
		if got := res.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	tok, _ := res.field(t, "access_token").(string)
	// 32 random bytes are 43 characters of unpadded base64url.
	if !strings.HasPrefix(tok, "eeosbx_") || len(tok) != len("eeosbx_")+43 {
		t.Errorf("access_token %q: want eeosbx_ + 43 chars", tok)
	}
	if got := res.field(t, "token_type"); got != "Bearer" {
		t.Errorf("token_type = %v, want Bearer", got)
	}
	if got := res.field(t, "expires_in"); got != 3599.0 {
		t.Errorf("expires_in = %v, want 3599", got)
	}
	if got := res.field(t, "scope"); got != nil {
		t.Errorf("scope = %v, want absent when not requested", got)
	}
}

func TestTokenFormAuthAndScope(t *testing.T) {
	_, ts := start(t, sandbox.Options{})
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {testID},
		"client_secret": {testSecret},
		"scope":         {"imports reports"},
	}
	res := send(t, ts, tokenReq(t, ts, form, nil))
	if res.status != http.StatusOK {
		t.Fatalf("status %d, body %s", res.status, res.body)
	}
	if got := res.field(t, "scope"); got != "imports reports" {
		t.Errorf("scope = %v, want it echoed", got)
	}
}

func TestTokensAreUnique(t *testing.T) {
	_, ts := start(t, sandbox.Options{})
	if a, b := issue(t, ts), issue(t, ts); a == b {
		t.Fatalf("two issuances returned the same token")
	}
}

func TestTokenErrors(t *testing.T) {
	good := &sandbox.Client{ID: testID, Secret: testSecret}
	withCreds := func(id, secret string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	}
	tests := []struct {
		name      string
		req       func(*testing.T, *httptest.Server) *http.Request
		status    int
		code      string
		challenge string // expected WWW-Authenticate
	}{
		{"basic wrong secret", func(t *testing.T, ts *httptest.Server) *http.Request {
			return tokenReq(t, ts, grant, &sandbox.Client{ID: testID, Secret: "wrong"})
		}, 401, "invalid_client", `Basic realm="eeo-sandbox"`},
		{"basic secret not url-encoded", func(t *testing.T, ts *httptest.Server) *http.Request {
			req := tokenReq(t, ts, grant, nil)
			req.SetBasicAuth(testID, testSecret) // '+' decodes to a space
			return req
		}, 401, "invalid_client", `Basic realm="eeo-sandbox"`},
		{"basic unknown client", func(t *testing.T, ts *httptest.Server) *http.Request {
			return tokenReq(t, ts, grant, &sandbox.Client{ID: "nobody", Secret: testSecret})
		}, 401, "invalid_client", `Basic realm="eeo-sandbox"`},
		{"basic malformed", func(t *testing.T, ts *httptest.Server) *http.Request {
			req := tokenReq(t, ts, grant, nil)
			req.Header.Set("Authorization", "Basic !!!")
			return req
		}, 401, "invalid_client", `Basic realm="eeo-sandbox"`},
		{"form wrong secret", func(t *testing.T, ts *httptest.Server) *http.Request {
			return tokenReq(t, ts, withCreds(testID, "wrong"), nil)
		}, 401, "invalid_client", ""},
		{"form unknown client", func(t *testing.T, ts *httptest.Server) *http.Request {
			return tokenReq(t, ts, withCreds("nobody", testSecret), nil)
		}, 401, "invalid_client", ""},
		{"missing credentials", func(t *testing.T, ts *httptest.Server) *http.Request {
			return tokenReq(t, ts, grant, nil)
		}, 401, "invalid_client", ""},
		{"basic and form secret", func(t *testing.T, ts *httptest.Server) *http.Request {
			return tokenReq(t, ts, withCreds(testID, testSecret), good)
		}, 400, "invalid_request", ""},
		{"wrong grant type", func(t *testing.T, ts *httptest.Server) *http.Request {
			return tokenReq(t, ts, url.Values{"grant_type": {"password"}}, good)
		}, 400, "unsupported_grant_type", ""},
		{"missing grant type", func(t *testing.T, ts *httptest.Server) *http.Request {
			return tokenReq(t, ts, url.Values{}, good)
		}, 400, "invalid_request", ""},
		{"repeated grant type", func(t *testing.T, ts *httptest.Server) *http.Request {
			return tokenReq(t, ts, url.Values{"grant_type": {"client_credentials", "client_credentials"}}, good)
		}, 400, "invalid_request", ""},
		{"json body", func(t *testing.T, ts *httptest.Server) *http.Request {
			req := tokenReq(t, ts, grant, good)
			req.Header.Set("Content-Type", "application/json")
			return req
		}, 400, "invalid_request", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, ts := start(t, sandbox.Options{})
			res := send(t, ts, tt.req(t, ts))
			if res.status != tt.status || res.field(t, "error") != tt.code {
				t.Errorf("got %d %s, want %d %s", res.status, res.body, tt.status, tt.code)
			}
			if got := res.header.Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if got := res.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store on errors too", got)
			}
			if st := sb.Stats(); st.TokenRequests != 1 || st.TokensIssued != 0 {
				t.Errorf("stats = %+v, want 1 request and no token", st)
			}
		})
	}
}

func TestTokenMethodNotAllowed(t *testing.T) {
	sb, ts := start(t, sandbox.Options{})
	res := get(t, ts, "/oauth2/token")
	if res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET = %d Allow %q, want 405 Allow POST", res.status, res.header.Get("Allow"))
	}
	if got := sb.Stats().TokenRequests; got != 1 {
		t.Errorf("TokenRequests = %d, want 1", got)
	}
}

func TestExpiresIn(t *testing.T) {
	tests := []struct {
		expiresIn time.Duration
		want      any // JSON number as float64, or nil when absent
	}{
		{0, 3599.0},
		{90*time.Second + 900*time.Millisecond, 90.0}, // truncated, never over-reported
		{-1, nil},
	}
	for _, tt := range tests {
		_, ts := start(t, sandbox.Options{ExpiresIn: tt.expiresIn})
		res := send(t, ts, tokenReq(t, ts, grant, &sandbox.Client{ID: testID, Secret: testSecret}))
		if got := res.field(t, "expires_in"); got != tt.want {
			t.Errorf("ExpiresIn %v: expires_in = %v, want %v", tt.expiresIn, got, tt.want)
		}
	}
}
