package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/requestid"

	"github.com/eeo-gateway/eeo-gateway/internal/httpx"
)

// AuthStyle is how the client authenticates to EEO's token endpoint. It is
// configured, never probed: a failed probe would count against the client.
type AuthStyle int

const (
	// AuthStyleBasic sends the client ID and secret in an HTTP Basic
	// Authorization header, each form-url-encoded first (RFC 6749 §2.3.1).
	AuthStyleBasic AuthStyle = iota
	// AuthStyleForm sends client_id and client_secret in the request body.
	AuthStyleForm
)

// DefaultMaxResponseBytes caps a token response: a real one is well under
// a kilobyte, and the cap keeps a misbehaving endpoint from costing memory.
const DefaultMaxResponseBytes = 64 << 10

// ClientCredentials fetches tokens with the OAuth 2.0 client-credentials
// grant (RFC 6749 §4.4), which is how EEO's Get Access Token API issues them.
// It is safe for concurrent use and implements Fetcher.
type ClientCredentials struct {
	// TokenURL is EEO's token endpoint.
	TokenURL string
	// ClientID and ClientSecret are what EEO generated when the stock plan
	// administrator granted access.
	ClientID     string
	ClientSecret Secret
	// SecretSource, if set, supplies the secret instead of ClientSecret and
	// is asked on every request, so a rotated secret takes effect at once.
	SecretSource SecretSource
	// Scopes, if any, are sent space-separated as "scope".
	Scopes []string
	// AuthStyle selects Basic (the default) or form-body authentication.
	AuthStyle AuthStyle
	// HTTPClient sends the request; nil means http.DefaultClient. The
	// request's context bounds the whole exchange.
	HTTPClient *http.Client
	// MaxResponseBytes caps the response body; 0 means
	// DefaultMaxResponseBytes. A larger body is a KindMalformed error.
	MaxResponseBytes int64
}

// tokenResponse is RFC 6749 §5.1's success body. expires_in is a number in
// the RFC, but some servers send a string, so it is decoded leniently.
type tokenResponse struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	Scope       string          `json:"scope"`
}

// errorResponse is RFC 6749 §5.2's error body. error_description is read
// nowhere: servers may echo the request in it.
type errorResponse struct {
	Error string `json:"error"`
}

// FetchToken requests a new access token.
func (c *ClientCredentials) FetchToken(ctx context.Context) (Grant, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(c.Scopes) > 0 {
		form.Set("scope", strings.Join(c.Scopes, " "))
	}
	secret := c.ClientSecret
	if c.SecretSource != nil {
		secret = c.SecretSource.Secret()
	}
	if c.AuthStyle == AuthStyleForm {
		form.Set("client_id", c.ClientID)
		form.Set("client_secret", secret.Reveal())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		// The URL is validated at start-up; don't echo it, it may carry a secret.
		return Grant{}, &TokenError{Kind: KindRejected, Err: errors.New("invalid token URL")}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// A client-credentials grant is safe to repeat (at worst EEO issues a
	// second token), and this marks it so to net/http: its Transport then
	// sends it again on a fresh connection when a pooled keep-alive one
	// turns out dead (EEO or a proxy closed it while idle), instead of
	// failing the fetch with EOF. A nil value is never sent on the wire;
	// the body is replayable because NewRequest set GetBody for it.
	req.Header["Idempotency-Key"] = nil
	// The id of the call whose fetch this is (the first caller's, when
	// several share it), so EEO's logs can be matched with the gateway's.
	if id := requestid.From(ctx); id != "" {
		req.Header.Set(requestid.Header, id)
	}
	if c.AuthStyle != AuthStyleForm {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(secret.Reveal()))
	}

	client := c.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Grant{}, transportError(ctx, err)
	}
	defer resp.Body.Close()

	limit := c.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return Grant{}, transportError(ctx, err)
	}
	if int64(len(body)) > limit {
		return Grant{}, &TokenError{Kind: KindMalformed, StatusCode: resp.StatusCode,
			Err: fmt.Errorf("response body exceeds %d bytes", limit)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Grant{}, statusError(resp, body)
	}
	return parseGrant(resp.StatusCode, body)
}

// transportError classifies a failure to get a complete response. net/http
// errors quote the URL, which may carry a secret in its query, so only the
// innermost cause is kept.
func transportError(ctx context.Context, err error) *TokenError {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil ||
		(errors.As(err, &netErr) && netErr.Timeout()):
		return &TokenError{Kind: KindTimeout, Err: context.DeadlineExceeded}
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return &TokenError{Kind: KindUnavailable, Err: err}
}

// statusError classifies a non-2xx answer.
func statusError(resp *http.Response, body []byte) *TokenError {
	e := &TokenError{StatusCode: resp.StatusCode}
	var parsed errorResponse
	if json.Unmarshal(body, &parsed) == nil && httpx.IsErrorCode(parsed.Error) {
		e.OAuthError = parsed.Error
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case resp.StatusCode >= 500:
		e.Kind = KindUnavailable
		e.RetryAfter = httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case e.OAuthError == "invalid_client" || resp.StatusCode == http.StatusUnauthorized:
		e.Kind = KindInvalidClient
	default:
		e.Kind = KindRejected
	}
	return e
}

// parseGrant decodes a 2xx token response.
func parseGrant(status int, body []byte) (Grant, error) {
	malformed := func(err error) (Grant, error) {
		return Grant{}, &TokenError{Kind: KindMalformed, StatusCode: status, Err: err}
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		// json's messages quote at most a byte of input, never the token.
		return malformed(fmt.Errorf("decoding token response: %w", err))
	}
	if tr.AccessToken == "" {
		return malformed(errors.New("token response has no access_token"))
	}
	if tr.TokenType == "" {
		tr.TokenType = "Bearer"
	} else if !strings.EqualFold(tr.TokenType, "bearer") {
		return malformed(errors.New("unsupported token_type"))
	}
	expiresIn, err := parseExpiresIn(tr.ExpiresIn)
	if err != nil {
		return malformed(err)
	}
	return Grant{AccessToken: NewSecret(tr.AccessToken), TokenType: "Bearer", ExpiresIn: expiresIn, Scope: tr.Scope}, nil
}

// parseExpiresIn accepts a JSON number or numeric string of seconds; absent,
// null, zero and negative values mean "not reported".
func parseExpiresIn(raw json.RawMessage) (time.Duration, error) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if s == "" || s == "null" {
		return 0, nil
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
		// The value is not quoted: a broken server may put anything there.
		return 0, errors.New("expires_in is not a number")
	}
	if secs <= 0 {
		return 0, nil
	}
	const maxSecs = 10 * 365 * 24 * 3600 // beyond this it is nonsense, and would overflow a Duration
	return time.Duration(min(secs, maxSecs) * float64(time.Second)), nil
}
