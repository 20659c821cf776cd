package eeo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
)

// request describes one logical EEO call, independent of the attempts made
// to send it.
type request struct {
	op     string // names the call in errors and logs, e.g. "get import"
	method string
	url    *url.URL
	accept string      // Accept header; empty means application/json
	header http.Header // extra headers, copied into every attempt
	// body, if set, attaches the request body for one attempt to req. It
	// returns the attempt's body when that reads a one-shot stream, so that
	// roundTrip can tell whether the stream may be sent again; nil
	// otherwise.
	body func(req *http.Request) *uploadBody
	// idempotent marks a call other than a GET that may be sent again after
	// a failure (see RetryPolicy); GETs always may.
	idempotent bool
	// timing says how the call is bounded in time.
	timing timing
	// answer, if set, reads a 2xx answer within the attempt, so that an
	// answer cut off is retried like any transport failure. Without it the
	// answer is streamed to the caller (see pipeline.run).
	answer func(ctx context.Context, resp *http.Response) error
}

// retryable reports whether the call may be sent again after a failure.
func (r *request) retryable() bool { return r.method == http.MethodGet || r.idempotent }

// exchange is a response to one attempt, with the attempt's one-shot body if
// it had one.
type exchange struct {
	resp *http.Response
	body *uploadBody
}

// finish closes the response body and ends the attempt, so the transport can
// read no more of a one-shot request body. It reports whether that body was
// left untouched (so it may be sent again) and what its source failed with.
// It must be called only once the response body has been read: a late read
// refused by the ended attempt makes the transport drop the connection.
func (x *exchange) finish() (untouched bool, sourceErr error) {
	x.resp.Body.Close()
	if x.body == nil {
		return true, nil
	}
	return x.body.end()
}

// attempt makes one attempt of r: the request (see roundTrip) and, if r
// reads its answer, the reading. progress, if set, is told of the bytes an
// upload moves.
func (p *pipeline) attempt(ctx context.Context, r *request, progress func(int)) (*exchange, error) {
	x, err := p.roundTrip(ctx, r, progress)
	if err != nil || r.answer == nil {
		return x, err
	}
	if progress != nil {
		progress(0) // the answer has begun
	}
	// Finish only after the body is read: see exchange.finish.
	defer x.finish()
	return x, r.answer(ctx, x.resp)
}

// roundTrip sends r with a token and returns the exchange for a 2xx answer,
// which the caller must finish. Any other outcome is an error: an *Error, a
// *BodyError, or a TokenSource failure wrapped with %w. A 401 is sent once
// more with a fresh token, unless a one-shot body was already read.
func (p *pipeline) roundTrip(ctx context.Context, r *request, progress func(int)) (*exchange, error) {
	for try := 1; ; try++ {
		tok, err := p.tokens.Token(ctx, p.account)
		if err != nil {
			return nil, fmt.Errorf("eeo: %s: %w", r.op, err)
		}
		start := time.Now()
		x, err := p.send(ctx, r, tok, progress)
		if err != nil {
			p.log.DebugContext(ctx, "eeo request failed", "op", r.op, "attempt", try, "duration", time.Since(start), "error", err)
			return nil, err
		}
		status := x.resp.StatusCode
		p.log.DebugContext(ctx, "eeo request", "op", r.op, "attempt", try, "status", status, "duration", time.Since(start))
		switch {
		case status >= 200 && status <= 299:
			return x, nil
		case status != http.StatusUnauthorized:
			return nil, failure(r.op, x, p.now())
		}

		// Drain a little so a keep-alive connection can be reused; the
		// body's content is of no interest, a 401 always means "new token".
		io.Copy(io.Discard, io.LimitReader(x.resp.Body, maxErrorBytes))
		untouched, sourceErr := x.finish()
		// A token EEO refused is dead whatever the cache thinks; drop it so
		// the next call fetches a new one even when this one gives up.
		if _, err := p.tokens.Invalidate(p.account, tok.AccessToken); err != nil {
			return nil, fmt.Errorf("eeo: %s: %w", r.op, err)
		}
		switch {
		case sourceErr != nil:
			return nil, &BodyError{Err: sourceErr}
		case try > 1:
			p.log.WarnContext(ctx, "eeo rejected a fresh access token", "account", p.account, "op", r.op, "fingerprint", tok.Fingerprint)
			return nil, &Error{Op: r.op, StatusCode: status, Code: CodeTokenRejected}
		case !untouched:
			p.log.WarnContext(ctx, "eeo rejected the access token after the upload started", "account", p.account, "op", r.op, "fingerprint", tok.Fingerprint)
			return nil, &Error{Op: r.op, StatusCode: status, Code: CodeTokenRejectedMidUpload}
		}
		p.log.InfoContext(ctx, "eeo rejected the access token; retrying with a new one", "account", p.account, "op", r.op, "fingerprint", tok.Fingerprint)
	}
}

// send makes one HTTP request of r with tok.
func (p *pipeline) send(ctx context.Context, r *request, tok auth.Token, progress func(int)) (*exchange, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), nil)
	if err != nil {
		return nil, &Error{Op: r.op, Err: err}
	}
	for k, v := range r.header {
		req.Header[k] = slices.Clone(v) // each attempt's request is the transport's to keep
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken.Reveal())
	if id := requestid.From(ctx); id != "" {
		req.Header.Set(requestid.Header, id)
	}
	var body *uploadBody
	if r.body != nil {
		body = r.body(req)
		if body != nil {
			// Before the transport can read it.
			body.progress = progress
			body.done = ctx.Done()
		}
	}

	resp, err := p.http.Do(req)
	if err != nil {
		if body != nil {
			// The transport is done with this attempt, but its writer may
			// still hold the body; ending it stops any late read.
			if _, sourceErr := body.end(); sourceErr != nil {
				return nil, &BodyError{Err: sourceErr}
			}
		}
		return nil, transportError(ctx, r.op, err)
	}
	return &exchange{resp: resp, body: body}, nil
}
