package eeo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/httpx"
)

// Error codes an *Error can carry. The first group is EEO's own (see the
// contract's error table); the last five are the client's.
const (
	CodeInvalidRequest         = "invalid_request"
	CodeInvalidImportType      = "invalid_import_type"
	CodeInvalidReportType      = "invalid_report_type"
	CodeInvalidParameter       = "invalid_parameter"
	CodeUnsupportedFormat      = "unsupported_format"
	CodeEmptyFile              = "empty_file"
	CodeNotFound               = "not_found"
	CodeIdempotencyKeyReused   = "idempotency_key_reused"
	CodeIdempotencyKeyInUse    = "idempotency_key_in_use"
	CodeNotCancellable         = "not_cancellable"
	CodeReportNotReady         = "report_not_ready"
	CodeFileTooLarge           = "file_too_large"
	CodeChecksumMismatch       = "checksum_mismatch"
	CodeRateLimited            = "rate_limited"
	CodeMalformedResponse      = "malformed_response"        // a 2xx whose body is not what the contract says
	CodeTokenRejected          = "token_rejected"            // EEO refused a freshly fetched token too
	CodeTokenRejectedMidUpload = "token_rejected_mid_upload" // 401 after upload bytes were sent; EEO created nothing
	CodeCircuitOpen            = "circuit_open"              // the breaker refused the call without sending it; see RetryAfter
	CodeConcurrencyLimited     = "concurrency_limited"       // the context ended while waiting for a concurrency slot; Err is its error
)

// Error is a failed EEO call. Its message names the operation, the HTTP
// status and EEO's error code — never a token, a secret or EEO's
// error_description or body, which may echo what was sent.
type Error struct {
	// Op names the call, e.g. "create import".
	Op string
	// StatusCode is EEO's HTTP status; 0 when no complete response arrived
	// (then Err says why).
	StatusCode int
	// Code is EEO's error code if it was well-formed ([a-z_]{1,64}), or one
	// of CodeMalformedResponse, CodeTokenRejected,
	// CodeTokenRejectedMidUpload, CodeCircuitOpen and
	// CodeConcurrencyLimited.
	Code string
	// Field is the request field EEO blamed, if well-formed
	// ([A-Za-z0-9_.]{1,64}).
	Field string
	// RetryAfter is EEO's Retry-After (seconds or an HTTP date), if sent;
	// for CodeCircuitOpen, the time until the breaker lets a call through.
	RetryAfter time.Duration
	// Err is the transport or decoding cause, if any. A *url.Error is
	// unwrapped so the URL is not repeated.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	msg := "eeo: " + e.Op + " failed"
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(": HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Field != "" {
		msg += " field " + e.Field
	}
	if e.RetryAfter > 0 {
		msg += "; retry after " + e.RetryAfter.String()
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the call failed because a deadline passed or the
// transport timed out.
func (e *Error) Timeout() bool {
	if e.Err == nil {
		return false
	}
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// Temporary reports whether the same call, unchanged, may succeed if made
// again later: after a transport failure or timeout (not the caller's
// cancellation), 408, 429, 500, 502, 503, 504, an open circuit, a full
// concurrency limit, a token refused mid-upload, or an Idempotency-Key still
// in use. The client has already retried what it could (see RetryPolicy);
// RetryAfter, when set, says how long to wait.
func (e *Error) Temporary() bool {
	switch e.Code {
	case CodeCircuitOpen, CodeConcurrencyLimited, CodeTokenRejectedMidUpload, CodeIdempotencyKeyInUse, CodeRateLimited:
		return true
	case CodeTokenRejected, CodeMalformedResponse:
		return false
	}
	switch e.StatusCode {
	case 0:
		return e.Err != nil && !errors.Is(e.Err, context.Canceled)
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// BodyError is a failure of the caller's upload body: reading Upload.Body
// failed, or it did not hold Upload.Size bytes. The request was aborted, so
// EEO saw a short body and created nothing.
type BodyError struct {
	// Err is what the body's reader returned, or the size mismatch.
	Err error
}

// Error implements error.
func (e *BodyError) Error() string { return "eeo: reading the upload body: " + e.Err.Error() }

// Unwrap returns the reader's error.
func (e *BodyError) Unwrap() error { return e.Err }

// ArgumentError is an argument the client refused before calling EEO,
// because no well-formed request could carry it (an id that is empty or a
// dot segment, a header value with control characters).
type ArgumentError struct {
	// Op names the call, e.g. "get import".
	Op string
	// Field names the argument.
	Field string
	// Reason says what is wrong with it, without quoting it.
	Reason string
}

// Error implements error.
func (e *ArgumentError) Error() string {
	return "eeo: " + e.Op + ": invalid " + e.Field + ": " + e.Reason
}

// errorBody is the contract's error document. error_description is never
// read: EEO may echo the request in it.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

// failure turns a non-2xx, non-401 answer into an error and finishes the
// exchange. A failure of the caller's upload body wins: EEO's answer then
// only reports the short body it saw.
func failure(op string, x *exchange, now time.Time) error {
	// A read error only means less of the body to parse; the status and
	// headers already say what happened.
	body, _ := io.ReadAll(io.LimitReader(x.resp.Body, maxErrorBytes))
	if _, sourceErr := x.finish(); sourceErr != nil {
		return &BodyError{Err: sourceErr}
	}
	return statusError(op, x.resp, body, now)
}

// clientCodes are the codes this package sets itself.
var clientCodes = map[string]bool{
	CodeMalformedResponse: true, CodeTokenRejected: true, CodeTokenRejectedMidUpload: true,
	CodeCircuitOpen: true, CodeConcurrencyLimited: true,
}

// statusError builds the *Error for a non-2xx answer. The body is parsed
// leniently: members of the wrong type are ignored, and a code or field
// outside its alphabet is dropped rather than repeated.
func statusError(op string, resp *http.Response, body []byte, now time.Time) *Error {
	e := &Error{Op: op, StatusCode: resp.StatusCode, RetryAfter: httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), now)}
	var doc errorBody
	_ = json.Unmarshal(body, &doc) // decodes what it can even when it fails
	// The client's own codes describe what the client saw; EEO sending one
	// of them must not pass for that (a 4xx "circuit_open" is not ours).
	if httpx.IsErrorCode(doc.Error) && !clientCodes[doc.Error] {
		e.Code = doc.Error
	}
	if httpx.IsFieldName(doc.Field) {
		e.Field = doc.Field
	}
	return e
}

// malformed is the *Error for a 2xx answer that is not what the contract
// says.
func malformed(op string, status int, err error) *Error {
	return &Error{Op: op, StatusCode: status, Code: CodeMalformedResponse, Err: err}
}

// transportError is the *Error for a request that got no complete response.
// net/http quotes the URL in its errors; the URL is in Op's terms already, so
// only the cause is kept. If ctx ended, that is made visible to errors.Is
// even when the transport reported something else first; if the client's
// own operation or idle timeout ended it, that timeout is the cause (and
// the call was not cancelled, whatever the transport says).
func transportError(ctx context.Context, op string, err error) *Error {
	if te := ownTimeout(ctx); te != nil {
		return &Error{Op: op, Err: te}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		err = fmt.Errorf("%w: %w", ctxErr, err)
	}
	return &Error{Op: op, Err: err}
}
