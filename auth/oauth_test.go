package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

const (
	testClientID = "client/id+1"
	testSecret   = "s3cr3t:&=+/%value"
	testToken    = "at-very-secret-token"
)

// tokenServer answers every token request with handler after checking the
// request is a client-credentials grant.
func tokenServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("request %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			t.Errorf("form %v, err %v", r.PostForm, err)
		}
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func jsonReply(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func fetcher(url string) *auth.ClientCredentials {
	return &auth.ClientCredentials{TokenURL: url, ClientID: testClientID, ClientSecret: auth.NewSecret(testSecret)}
}

func TestClientCredentialsBasicAuth(t *testing.T) {
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			t.Fatal("no Basic authorization")
		}
		// RFC 6749 §2.3.1: each part is form-url-encoded before Basic.
		if id != url.QueryEscape(testClientID) || secret != url.QueryEscape(testSecret) {
			t.Errorf("Basic credentials %q:%q not form-url-encoded", id, secret)
		}
		if r.PostForm.Has("client_secret") {
			t.Error("secret also sent in the body")
		}
		if got := r.PostForm.Get("scope"); got != "imports reports" {
			t.Errorf("scope = %q", got)
		}
		jsonReply(200, `{"access_token":"`+testToken+`","token_type":"bearer","expires_in":3599,"scope":"imports"}`)(w, r)
	})
	f := fetcher(srv.URL)
	f.Scopes = []string{"imports", "reports"}
	g, err := f.FetchToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if g.AccessToken.Reveal() != testToken || g.TokenType != "Bearer" || g.ExpiresIn != 3599*time.Second || g.Scope != "imports" {
		t.Fatalf("grant = %+v", g)
	}
}

func TestClientCredentialsFormAuth(t *testing.T) {
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			t.Error("Basic authorization sent with form style")
		}
		if r.PostForm.Get("client_id") != testClientID || r.PostForm.Get("client_secret") != testSecret {
			t.Errorf("form credentials = %v", r.PostForm)
		}
		jsonReply(200, `{"access_token":"`+testToken+`","token_type":"Bearer","expires_in":"120"}`)(w, r)
	})
	f := fetcher(srv.URL)
	f.AuthStyle = auth.AuthStyleForm
	g, err := f.FetchToken(t.Context())
	if err != nil || g.ExpiresIn != 2*time.Minute {
		t.Fatalf("grant = %+v, err = %v; want expires_in given as a string honoured", g, err)
	}
}

func TestClientCredentialsOptionalFields(t *testing.T) {
	srv := tokenServer(t, jsonReply(200, `{"access_token":"`+testToken+`"}`))
	g, err := fetcher(srv.URL).FetchToken(t.Context())
	if err != nil || g.TokenType != "Bearer" || g.ExpiresIn != 0 {
		t.Fatalf("grant = %+v, err = %v; want Bearer with no expiry reported", g, err)
	}
}

func TestClientCredentialsErrorsAreTypedAndClean(t *testing.T) {
	huge := `{"access_token":"` + strings.Repeat("x", auth.DefaultMaxResponseBytes) + `"}`
	for _, tc := range []struct {
		name       string
		handler    func(http.ResponseWriter, *http.Request)
		kind       auth.ErrorKind
		status     int
		oauth      string
		retryAfter time.Duration
	}{
		{"invalid_client", jsonReply(401, `{"error":"invalid_client","error_description":"bad secret `+testSecret+`"}`), auth.KindInvalidClient, 401, "invalid_client", 0},
		{"400 invalid_client", jsonReply(400, `{"error":"invalid_client"}`), auth.KindInvalidClient, 400, "invalid_client", 0},
		{"invalid_grant", jsonReply(400, `{"error":"invalid_grant"}`), auth.KindRejected, 400, "invalid_grant", 0},
		{"403 html", jsonReply(403, `<html>forbidden</html>`), auth.KindRejected, 403, "", 0},
		{"odd error code not repeated", jsonReply(400, `{"error":"`+testSecret+`"}`), auth.KindRejected, 400, "", 0},
		{"500", jsonReply(500, `oops `+testToken), auth.KindUnavailable, 500, "", 0},
		{"503 retry-after", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			jsonReply(503, `{}`)(w, r)
		}, auth.KindUnavailable, 503, "", 7 * time.Second},
		{"429", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3")
			jsonReply(429, `{}`)(w, r)
		}, auth.KindRateLimited, 429, "", 3 * time.Second},
		{"malformed json", jsonReply(200, `{"access_token": "`+testToken), auth.KindMalformed, 200, "", 0},
		{"no access_token", jsonReply(200, `{"token_type":"Bearer"}`), auth.KindMalformed, 200, "", 0},
		{"wrong token type", jsonReply(200, `{"access_token":"`+testToken+`","token_type":"mac"}`), auth.KindMalformed, 200, "", 0},
		{"bad expires_in", jsonReply(200, `{"access_token":"`+testToken+`","expires_in":"soon"}`), auth.KindMalformed, 200, "", 0},
		{"oversized body", jsonReply(200, huge), auth.KindMalformed, 200, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tokenServer(t, tc.handler)
			_, err := fetcher(srv.URL).FetchToken(t.Context())
			var te *auth.TokenError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want *TokenError", err)
			}
			if te.Kind != tc.kind || te.StatusCode != tc.status || te.OAuthError != tc.oauth || te.RetryAfter != tc.retryAfter {
				t.Fatalf("error = %+v, want kind %v status %d oauth %q retry-after %v", te, tc.kind, tc.status, tc.oauth, tc.retryAfter)
			}
			assertNoCredentials(t, err.Error())
			assertNoCredentials(t, fmt.Sprintf("%+v %#v", err, err))
		})
	}
}

func TestClientCredentialsTransportErrors(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + lis.Addr().String() + "/token?key=" + testSecret
	lis.Close()
	_, err = fetcher(closedURL).FetchToken(t.Context())
	var te *auth.TokenError
	if !errors.As(err, &te) || te.Kind != auth.KindUnavailable {
		t.Fatalf("connection refused: %v, want KindUnavailable", err)
	}
	assertNoCredentials(t, err.Error())

	srv := tokenServer(t, func(http.ResponseWriter, *http.Request) { t.Error("request sent after the deadline") })
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = fetcher(srv.URL).FetchToken(ctx)
	if !errors.As(err, &te) || te.Kind != auth.KindTimeout {
		t.Fatalf("expired deadline: %v, want KindTimeout", err)
	}
}

func assertNoCredentials(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, url.QueryEscape(testSecret), testToken} {
		if strings.Contains(s, secret) {
			t.Fatalf("%q leaks a credential", s)
		}
	}
}

func TestSecretRedacts(t *testing.T) {
	s := auth.NewSecret(testSecret)
	type holder struct{ S auth.Secret }
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %d %x %p %t %e %b %o %c %U", s, s, s, s, s, s, s, s, s, s, s, s, s, s),
		fmt.Sprintf("%+v %#v", holder{s}, holder{s}),
	} {
		if strings.Contains(out, testSecret) || !strings.Contains(out, "[REDACTED]") {
			t.Errorf("formatted secret = %q", out)
		}
	}
	if b, _ := s.MarshalText(); string(b) != "[REDACTED]" {
		t.Errorf("MarshalText = %q", b)
	}
	if s.Reveal() != testSecret || s.IsZero() || !(auth.Secret{}).IsZero() || !auth.NewSecret("").IsZero() {
		t.Error("Reveal/IsZero")
	}
}

func TestTokenErrorKinds(t *testing.T) {
	for k, temporary := range map[auth.ErrorKind]bool{
		auth.KindUnavailable: true, auth.KindTimeout: true, auth.KindRateLimited: true, auth.KindMalformed: true,
		auth.KindInvalidClient: false, auth.KindRejected: false,
	} {
		if k.Temporary() != temporary || k.String() == "unknown" {
			t.Errorf("%v: Temporary = %v", k, k.Temporary())
		}
	}
}
