package eeo

import (
	"context"
	"mime"
	"net/http"
	"net/url"
)

// CreateImport streams u.Body to EEO as a new import
// (POST /v1/imports?import_type=&file_name=) and returns the import, in
// state QUEUED. With a RequestID already used for the same file EEO returns
// the original import instead.
//
// The body is never buffered, so it can be sent only once. The request asks
// for "100-continue", letting EEO refuse a stale token before any byte is
// read; only then is the upload retried with a fresh token. A 401 after
// bytes were read is an *Error with Code "token_rejected_mid_upload": EEO
// creates nothing for a request it refused, and the caller must send the
// file again. If reading u.Body fails the request is aborted, so EEO sees a
// short body and creates nothing, and the error is a *BodyError wrapping the
// reader's.
//
// No other failure is retried, since the body cannot be sent again. The
// upload holds a concurrency slot until it is answered, and has no overall
// deadline: it fails with a timeout *Error once no byte has moved for
// Options.StreamIdleTimeout (a stalled u.Body counts as no movement).
func (c *Client) CreateImport(ctx context.Context, u Upload) (Import, error) {
	const op = "create import"
	if u.Body == nil {
		return Import{}, &ArgumentError{Op: op, Field: "body", Reason: "is required"}
	}
	contentType := u.ContentType
	if contentType == "" {
		contentType = "text/csv"
	}
	if _, _, err := mime.ParseMediaType(contentType); err != nil || !isHeaderToken(contentType, 255) {
		return Import{}, &ArgumentError{Op: op, Field: "content_type", Reason: "must be a media type"}
	}
	header := http.Header{"Content-Type": {contentType}, "Expect": {"100-continue"}}
	if u.RequestID != "" {
		if !isHeaderToken(u.RequestID, 255) {
			return Import{}, &ArgumentError{Op: op, Field: "request_id", Reason: "must be at most 255 printable ASCII characters"}
		}
		header.Set("Idempotency-Key", u.RequestID)
	}
	if u.ExpectedSHA256 != "" {
		sum := hexSHA256(u.ExpectedSHA256)
		if sum == "" {
			return Import{}, &ArgumentError{Op: op, Field: "expected_sha256", Reason: "must be 64 hex digits"}
		}
		header.Set("X-Content-SHA256", sum) // the contract's form is lower case
	}
	query := url.Values{}
	if u.ImportType != "" {
		query.Set("import_type", u.ImportType)
	}
	if u.FileName != "" {
		query.Set("file_name", u.FileName)
	}

	// Never retried after a failure (the stream is spent), and with no
	// overall deadline: only the idle timeout and ctx bound the transfer.
	r := &request{op: op, method: http.MethodPost, url: c.endpoint(query, "v1", "imports"), header: header, timing: timedUpload,
		body: func(req *http.Request) *uploadBody {
			b := &uploadBody{src: u.Body, size: u.Size}
			req.Body = b
			// -1 makes the transport send chunked. (0 would too, for a
			// POST, but say what is meant.)
			req.ContentLength = -1
			if u.Size > 0 {
				req.ContentLength = u.Size
			}
			// Go's HTTP/1 transport sends the body after a final answer to
			// "100-continue" unless the connection is closing, so that it
			// can reuse the connection — and it starts before the answer
			// reaches us, so a refused upload would almost always have been
			// read. Closing the connection after every upload keeps a
			// refused body unread, which is what allows the retry. (Over
			// HTTP/2 it retires the shared connection once idle.) Uploads
			// are rare and large, so a new connection each is cheap.
			req.Close = true
			return b
		}}
	var imp Import
	if err := c.doJSON(ctx, r, &imp, func() error { return needID(importID(imp)) }); err != nil {
		return Import{}, err
	}
	return imp, nil
}
