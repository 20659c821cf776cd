package auth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// fuzzSecret is the configured client secret. It is sent on every request
// (Basic or form) and sits in the token URL's query, so any path that quotes
// the request or the URL would show it.
const fuzzSecret = "fz-Cl1ent/Secret+Value=Q9"

// fuzzStatuses are the token endpoint's answers the fuzzer picks from.
var fuzzStatuses = []int{200, 201, 204, 302, 400, 401, 403, 404, 429, 500, 502, 503}

// fuzzTokenVocabulary is text an error message may carry that does not come
// from the body: a token that happens to be a substring of it is not a leak.
var fuzzTokenVocabulary = strings.Join([]string{
	"eeo token request failed: unavailable timeout rate_limited malformed_response invalid_client rejected unknown",
	"decoding token response: token response has no access_token unsupported token_type is not a number response body exceeds bytes",
	"json: cannot unmarshal string number object array bool into Go struct field tokenResponse.access_token tokenResponse.token_type",
	"tokenResponse.expires_in tokenResponse.scope of type string json.RawMessage auth.tokenResponse Go value",
	"invalid character looking for beginning of value after object key after object key:value pair after array element in string literal",
	"in literal true false null expecting 'e' unexpected end of JSON input in numeric literal after top-level value in string escape code",
	"fuzz: connection reset by peer fuzz: body cut off",
	"context deadline exceeded",
}, "\n")

// fuzzOAuthCode is the alphabet an OAuth error code must have to be repeated.
var fuzzOAuthCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// fuzzRoundTripper answers every request in memory.
type fuzzRoundTripper struct {
	t          *testing.T
	status     int
	body       []byte
	retryAfter string
	failSend   bool // the request never gets an answer
	cutBody    bool // the body breaks off after its bytes
	form       bool // credentials go in the form, not Basic
}

func (rt *fuzzRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	// The request is the client-credentials grant, authenticated as configured.
	raw, _ := io.ReadAll(req.Body)
	req.Body.Close()
	form, err := url.ParseQuery(string(raw))
	if err != nil || form.Get("grant_type") != "client_credentials" {
		rt.t.Errorf("request body %q is not a client-credentials grant", raw)
	}
	if rt.form {
		if form.Get("client_secret") != fuzzSecret {
			rt.t.Errorf("form auth: client_secret %q not sent", form.Get("client_secret"))
		}
	} else if _, secret, ok := req.BasicAuth(); !ok || secret != url.QueryEscape(fuzzSecret) {
		rt.t.Errorf("basic auth: secret not sent form-url-encoded (%v)", ok)
	}
	if rt.failSend {
		return nil, errors.New("fuzz: connection reset by peer")
	}
	var body io.Reader = bytes.NewReader(rt.body)
	if rt.cutBody {
		body = io.MultiReader(body, fuzzErrReader{})
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if rt.retryAfter != "" {
		h.Set("Retry-After", rt.retryAfter)
	}
	return &http.Response{
		StatusCode: rt.status, Status: fmt.Sprintf("%d %s", rt.status, http.StatusText(rt.status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(body), ContentLength: -1, Request: req,
	}, nil
}

type fuzzErrReader struct{}

func (fuzzErrReader) Read([]byte) (int, error) { return 0, errors.New("fuzz: body cut off") }

// FuzzTokenResponse feeds FetchToken arbitrary token-endpoint answers.
//
// Properties: it never panics; a success came from a 2xx and carries the
// body's access_token, token type "Bearer" and an ExpiresIn in [0, 10 years];
// a failure is a *auth.TokenError of a known kind consistent with the status,
// and its message carries neither the client secret nor the body's
// access_token (beyond the two fields the parser documents echoing, 32
// bytes of token_type and expires_in).
func FuzzTokenResponse(f *testing.F) {
	for _, s := range []struct {
		status uint8 // index into fuzzStatuses
		body   string
		retry  string
		mode   uint8
	}{
		{0, `{"access_token":"at-SEED-TOKEN-0001","token_type":"Bearer","expires_in":3599,"scope":"imports"}`, "", 0},
		{0, `{"access_token":"at-SEED-TOKEN-0002","token_type":"bearer","expires_in":"120"}`, "", 1},
		{0, `{"access_token":"at-SEED-TOKEN-0003"}`, "", 0},
		{0, `{"token_type":"Bearer","expires_in":3600}`, "", 0},
		{0, `{"access_token":"at-SEED-TOKEN-0004","expires_in":"soon"}`, "", 0},
		{0, `{"access_token":"at-SEED-TOKEN-0005","expires_in":1e308}`, "", 0},
		{0, `{"access_token":"at-SEED-TOKEN-0006","expires_in":-99999999999999999999}`, "", 0},
		{0, `{"access_token":"at-SEED-TOKEN-0007","expires_in":"Infinity"}`, "", 0},
		{0, `{"access_token":"at-SEED-TOKEN-0008","token_type":"mac"}`, "", 0},
		{0, `{"access_token":12345678901234567890}`, "", 0},
		{0, `{"access_token":"at-SEED-TOKEN-0009","scope":["a"]}`, "", 0},
		{0, `{"access_token": "at-SEED-TOKEN-0010`, "", 0},
		{0, "\xff\xfe{\"access_token\":\"at-\xc3\x28-SEED\"}", "", 0},
		{0, `{"access_token":"at-SEED-TOKEN-0011"}`, "", 2}, // body cut off
		{2, ``, "", 0},
		{5, `{"error":"invalid_client","error_description":"bad secret ` + fuzzSecret + ` at-SEED-TOKEN-0012"}`, "", 0},
		{4, `{"error":"invalid_client"}`, "", 1},
		{4, `{"error":"invalid_grant","access_token":"at-SEED-TOKEN-0013"}`, "", 0},
		{4, `{"error":"` + fuzzSecret + `"}`, "", 0},
		{6, `<html>forbidden</html>`, "", 0},
		{8, `{}`, "3", 0},
		{11, `oops at-SEED-TOKEN-0014`, "Wed, 21 Oct 2099 07:28:00 GMT", 0},
		{9, `{"error":"server_error"}`, "-5", 4}, // transport failure
		{0, `{"access_token":"at-SEED-TOKEN-0015","padding":"` + strings.Repeat("x", 2048) + `"}`, "", 8},
	} {
		f.Add(s.status, []byte(s.body), s.retry, s.mode)
	}

	f.Fuzz(func(t *testing.T, statusSel uint8, body []byte, retryAfter string, mode uint8) {
		status := fuzzStatuses[int(statusSel)%len(fuzzStatuses)]
		rt := &fuzzRoundTripper{t: t, status: status, body: body, retryAfter: retryAfter,
			form: mode&1 != 0, cutBody: mode&2 != 0, failSend: mode&4 != 0}
		cc := &auth.ClientCredentials{
			TokenURL:     "https://eeo.example/oauth2/token?key=" + url.QueryEscape(fuzzSecret),
			ClientID:     "fuzz-client",
			ClientSecret: auth.NewSecret(fuzzSecret),
			Scopes:       []string{"imports", "reports"},
			HTTPClient:   &http.Client{Transport: rt},
		}
		if rt.form {
			cc.AuthStyle = auth.AuthStyleForm
		}
		if mode&8 != 0 {
			cc.MaxResponseBytes = 1024
		}
		limit := int64(auth.DefaultMaxResponseBytes)
		if cc.MaxResponseBytes > 0 {
			limit = cc.MaxResponseBytes
		}

		g, err := cc.FetchToken(t.Context())

		// What an independent decoder makes of the body.
		var doc struct {
			AccessToken any             `json:"access_token"`
			TokenType   any             `json:"token_type"`
			ExpiresIn   json.RawMessage `json:"expires_in"`
		}
		decoded := json.Unmarshal(body, &doc) == nil
		bodyToken, _ := doc.AccessToken.(string)
		tokenType, _ := doc.TokenType.(string)

		if err == nil {
			switch {
			case status < 200 || status > 299 || rt.failSend || rt.cutBody:
				t.Fatalf("HTTP %d (fail=%v cut=%v) gave a grant", status, rt.failSend, rt.cutBody)
			case g.AccessToken.IsZero():
				t.Fatal("grant without an access token")
			case !decoded || g.AccessToken.Reveal() != bodyToken:
				t.Fatalf("grant token %q is not the body's access_token %q", g.AccessToken.Reveal(), bodyToken)
			case g.TokenType != "Bearer":
				t.Fatalf("TokenType = %q, want Bearer", g.TokenType)
			case g.ExpiresIn < 0 || g.ExpiresIn > 10*365*24*time.Hour:
				t.Fatalf("ExpiresIn = %v (expires_in %s), want within [0, 10y]", g.ExpiresIn, doc.ExpiresIn)
			case int64(len(body)) > limit:
				t.Fatalf("a %d-byte body passed the %d-byte cap", len(body), limit)
			}
			return
		}

		var te *auth.TokenError
		if !errors.As(err, &te) {
			t.Fatalf("error %T %v is not a *auth.TokenError", err, err)
		}
		if te.Kind.String() == "unknown" {
			t.Fatalf("unknown kind %d: %v", te.Kind, err)
		}
		if te.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %v", te.RetryAfter)
		}
		if te.OAuthError != "" && !fuzzOAuthCode.MatchString(te.OAuthError) {
			t.Fatalf("OAuthError %q outside the code alphabet", te.OAuthError)
		}
		switch {
		case rt.failSend:
			if te.Kind != auth.KindUnavailable || te.StatusCode != 0 {
				t.Fatalf("transport failure: kind %v status %d", te.Kind, te.StatusCode)
			}
		case rt.cutBody && int64(len(body)) <= limit:
			if te.Kind != auth.KindUnavailable {
				t.Fatalf("body cut off: kind %v", te.Kind)
			}
		case te.StatusCode != status:
			t.Fatalf("StatusCode %d, EEO answered %d", te.StatusCode, status)
		case int64(len(body)) > limit:
			if te.Kind != auth.KindMalformed {
				t.Fatalf("oversized body: kind %v", te.Kind)
			}
		case status >= 200 && status <= 299:
			if te.Kind != auth.KindMalformed {
				t.Fatalf("2xx failure of kind %v, want malformed_response", te.Kind)
			}
		case status == 429:
			if te.Kind != auth.KindRateLimited {
				t.Fatalf("429: kind %v", te.Kind)
			}
		case status >= 500:
			if te.Kind != auth.KindUnavailable {
				t.Fatalf("%d: kind %v", status, te.Kind)
			}
		case status == 401:
			if te.Kind != auth.KindInvalidClient {
				t.Fatalf("401: kind %v", te.Kind)
			}
		default:
			if te.Kind != auth.KindInvalidClient && te.Kind != auth.KindRejected {
				t.Fatalf("%d: kind %v", status, te.Kind)
			}
		}

		// token_type and expires_in are echoed (32 bytes at most) by design;
		// anything else in the message is the client's own text.
		echoed := tokenType + "\x00" + string(doc.ExpiresIn)
		for _, msg := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			for _, secret := range []string{fuzzSecret, url.QueryEscape(fuzzSecret)} {
				if strings.Contains(msg, secret) && !strings.Contains(echoed, secret) {
					t.Fatalf("error leaks the client secret: %q", msg)
				}
			}
			if len(bodyToken) >= 12 && strings.Contains(msg, bodyToken) &&
				!strings.Contains(echoed, bodyToken) && !strings.Contains(fuzzTokenVocabulary, bodyToken) {
				t.Fatalf("error leaks the access token %q: %q", bodyToken, msg)
			}
		}
	})
}
