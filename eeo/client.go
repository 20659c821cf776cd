package eeo

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// TokenSource is the token cache as the client needs it; *auth.Cache
// implements it.
type TokenSource interface {
	// Token returns a bearer token for the account. Each call counts as a
	// use of the token, which is what EEO's idle rule wants: the request
	// about to be sent is one.
	Token(ctx context.Context, account string) (auth.Token, error)
	// Invalidate drops the cached token only if it is still accessToken, so
	// a late 401 cannot discard a token another call has just fetched.
	Invalidate(account string, accessToken auth.Secret) (bool, error)
}

// DefaultMaxJSONBytes is the default cap on a JSON response body. EEO's
// largest answers are list pages of at most 1000 objects, well under this.
const DefaultMaxJSONBytes = 8 << 20

// DefaultDialTimeout is the connect, and TLS handshake, timeout a transport
// for EEO should have: a blackholed EEO then fails within seconds rather
// than the operating system's minutes. The client dials nothing itself;
// Options.HTTPClient's transport does, configured by the caller.
const DefaultDialTimeout = 5 * time.Second

// maxErrorBytes caps how much of an error body is read: only its "error" and
// "field" members are used, and the cap keeps a misbehaving upstream from
// costing memory.
const maxErrorBytes = 64 << 10

// userAgent identifies the gateway in EEO's logs.
const userAgent = "eeo-gateway"

// Options tune a Client. Zero values take the defaults.
type Options struct {
	// HTTPClient sends requests; nil means http.DefaultClient. Uploads ask
	// for "100-continue" so that EEO can refuse a token before the body is
	// sent; that only helps if the transport waits for the answer, i.e. has
	// a non-zero ExpectContinueTimeout (http.DefaultTransport waits 1s). A
	// *http.Transport with a zero ExpectContinueTimeout sends the body at
	// once, so a 401 on an upload then usually ends as
	// "token_rejected_mid_upload" instead of being retried. The client does
	// not change the caller's transport; New logs a warning instead.
	HTTPClient *http.Client
	// Logger receives one debug line per request and a line per rejected
	// token; nil discards. It never sees a token, a secret or a body.
	Logger *slog.Logger
	// MaxJSONBytes caps any JSON response body; 0 means
	// DefaultMaxJSONBytes. A larger body is an *Error with Code
	// "malformed_response".
	MaxJSONBytes int64

	// Retry says which failures of idempotent calls are retried, how often
	// and with what pauses; see RetryPolicy. The zero value retries.
	Retry RetryPolicy
	// Breaker configures the circuit breaker that fails calls fast while
	// EEO keeps failing; see BreakerPolicy. The zero value enables it.
	Breaker BreakerPolicy
	// MaxConcurrent bounds the Client's (so the account's) requests in
	// flight toward EEO; 0 means DefaultMaxConcurrent (16). A call beyond it
	// waits for a slot as long as its context allows, then fails with an
	// *Error with Code "concurrency_limited" wrapping the context's error.
	// A slot is held for the whole call: retries and pauses included, a
	// JSON answer until it is read, an upload until it is answered, and a
	// download until its Body is closed.
	MaxConcurrent int
	// OperationTimeout bounds a non-streaming call from the moment it holds
	// a concurrency slot, retries and pauses included, and a download until
	// its response headers arrive; 0 means DefaultOperationTimeout (30s). A
	// caller's earlier deadline wins. Running out is an *Error whose
	// Timeout reports true and which errors.Is context.DeadlineExceeded.
	//
	// Dial, TLS handshake and response header timeouts of single requests
	// belong to HTTPClient's transport, which the caller configures.
	OperationTimeout time.Duration
	// StreamIdleTimeout fails an upload or a download once no byte has moved
	// either way for this long; 0 means DefaultStreamIdleTimeout (2m).
	// Transfers get no overall deadline, since large files may take many
	// minutes; only the caller's context bounds them. A stall is an *Error
	// whose Timeout reports true (for a download, from Body's Read).
	StreamIdleTimeout time.Duration
	// Now is the clock of the retry budget (RetryPolicy.MaxElapsed) and of
	// Retry-After dates; nil means time.Now. The breaker and the timeouts
	// use the time package's clock.
	Now func() time.Time
	// Sleep waits between attempts; it must return ctx.Err() promptly once
	// ctx ends. nil means a timer. Tests replace it to record the pauses.
	Sleep func(ctx context.Context, d time.Duration) error
	// Observer is told of every call's slot wait, attempts, retries and
	// streamed bytes, and of the breaker's changes, for metrics and
	// tracing; nil means none.
	Observer Observer
}

// Client calls EEO's import and report endpoints for one account. It is safe
// for concurrent use.
type Client struct {
	account string
	base    *url.URL
	maxJSON int64
	pipe    *pipeline // every call's road to EEO
}

// New returns a client for the account's objects at baseURL, an absolute
// http or https URL (a path prefix is kept: "https://h/eeo" sends
// "https://h/eeo/v1/imports").
func New(account, baseURL string, tokens TokenSource, opts Options) (*Client, error) {
	if account == "" {
		return nil, errors.New("eeo: account name is required")
	}
	if tokens == nil {
		return nil, errors.New("eeo: a token source is required")
	}
	base, err := url.Parse(baseURL)
	// The URL is not quoted in these errors: it comes from configuration and
	// could carry credentials.
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, errors.New("eeo: base URL must be an absolute http or https URL")
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, errors.New("eeo: base URL must not carry user info, a query or a fragment")
	}
	if base.Path == "" {
		base.Path, base.RawPath = "/", ""
	}
	c := &Client{
		account: account,
		base:    base,
		maxJSON: opts.MaxJSONBytes,
		pipe:    newPipeline(account, tokens, opts),
	}
	if c.maxJSON <= 0 {
		c.maxJSON = DefaultMaxJSONBytes
	}
	if !waitsForContinue(c.pipe.http) {
		c.pipe.log.Warn("HTTP transport has no ExpectContinueTimeout; uploads will not wait for 100 Continue, so a rejected token fails them instead of being retried",
			"account", account)
	}
	return c, nil
}

// waitsForContinue reports whether hc is known not to wait for a
// "100 Continue". Transports other than *http.Transport are given the
// benefit of the doubt: there is no way to ask them.
func waitsForContinue(hc *http.Client) bool {
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	return !ok || t.ExpectContinueTimeout > 0
}

// Account returns the configured account the client acts for.
func (c *Client) Account() string { return c.account }

// endpoint returns the URL for the given path segments under the base URL.
// Segments must already be path-escaped (see pathID); query may be nil.
func (c *Client) endpoint(query url.Values, segments ...string) *url.URL {
	u := c.base.JoinPath(segments...)
	u.RawQuery = query.Encode()
	return u
}

// pathID escapes an object id for use as one path segment. JoinPath cleans
// dot segments, so "." and ".." would silently address a different object;
// they, and the empty id, are refused.
func pathID(op, id string) (string, error) {
	switch id {
	case "", ".", "..":
		return "", &ArgumentError{Op: op, Field: "id", Reason: "must be a non-empty object id"}
	}
	return url.PathEscape(id), nil
}
