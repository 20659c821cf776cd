package client

import (
	"fmt"
	"io"
	"net/http"
)

// maxDrain bounds how much of a 401 body Transport reads before retrying,
// so the connection can be reused without reading an arbitrarily large
// error page.
const maxDrain = 64 << 10

// Transport returns an http.RoundTripper for requests to EEO on behalf of
// account: it sets Authorization from the account's shared TokenSource and
// sends the request with base (http.DefaultTransport if nil). When EEO
// answers 401 Unauthorized, it reports that token's fingerprint to
// InvalidateToken (so the gateway drops it unless it already holds a newer
// one), takes a new token and sends the request once more. Only requests
// whose body can be sent again are retried: no body, or GetBody set (as
// http.NewRequest does for bytes, strings and bytes.Reader bodies); any
// other request gets the 401 as EEO sent it.
//
//	eeoHTTP := &http.Client{Transport: c.Transport("demo", nil)}
func (c *Client) Transport(account string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{src: c.source(account), base: base}
}

type transport struct {
	src  *tokenSource
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	tok, err := t.src.token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	// RoundTrippers must not modify the caller's request.
	first := req.Clone(ctx)
	first.Header.Set("Authorization", tok.Type()+" "+tok.AccessToken)
	resp, err := t.base.RoundTrip(first)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable {
		return resp, err
	}

	// A token EEO rejects (revoked, idled out early, rotated) is reported
	// by its fingerprint, so a newer token another caller already fetched
	// is kept.
	if err := t.src.invalidate(ctx, Fingerprint(tok)); err != nil {
		return resp, nil
	}
	fresh, err := t.src.token(ctx)
	if err != nil {
		return resp, nil
	}
	retry := req.Clone(ctx)
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = body
	}
	retry.Header.Set("Authorization", fresh.Type()+" "+fresh.AccessToken)
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	resp.Body.Close()
	resp, err = t.base.RoundTrip(retry)
	if err != nil {
		return nil, fmt.Errorf("client: retry with a new EEO token: %w", err)
	}
	return resp, nil
}

// closeBody closes a request body the transport will not send, as the
// RoundTripper contract requires.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
