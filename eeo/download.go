package eeo

import (
	"context"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DownloadReport opens a SUCCEEDED report's content
// (GET /v1/reports/{id}/content). The returned Body is the live response
// body, streamed as the caller reads it; the caller must close it, and ctx
// must stay live until then. A report that has not succeeded is an *Error
// with Code "report_not_ready".
//
// Until the response headers arrive the call is retried and timed like any
// GET (see RetryPolicy and Options.OperationTimeout); the body is never
// retried. It has no overall deadline: a Read fails with a timeout *Error
// once no byte has arrived for Options.StreamIdleTimeout. The call holds a
// concurrency slot until Body is closed.
func (c *Client) DownloadReport(ctx context.Context, id string) (*Download, error) {
	const op = "download report"
	seg, err := pathID(op, id)
	if err != nil {
		return nil, err
	}
	// Accept anything: the content is whatever format the report was made
	// in, and only error answers are JSON.
	r := &request{op: op, method: http.MethodGet, url: c.endpoint(nil, "v1", "reports", seg, "content"), accept: "*/*"}
	if err := c.checkBreaker(op); err != nil {
		return nil, err
	}
	release, err := c.acquire(ctx, op)
	if err != nil {
		return nil, err
	}
	// The response body lives on the request's context, so the operation
	// timeout cannot be a context deadline: a watchdog enforces it until the
	// headers are in, then watches the body for stalls.
	wd := newWatchdog(ctx)
	until := time.Now().Add(c.guard.opTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
		until = dl
	}
	wd.deadline(c.guard.opTimeout, operationTimeout(c.guard.opTimeout))
	var x *exchange
	err = c.attempts(wd.ctx, ctx, r, until, func(ctx context.Context) error {
		var err error
		x, err = c.do(ctx, r)
		return err
	})
	if err != nil {
		wd.stop()
		release()
		return nil, err
	}
	wd.idle(c.guard.idle, idleTimeout(c.guard.idle))
	// The request had no body, so nothing needs finishing but the response
	// body, which now belongs to the caller.
	h := x.resp.Header
	return &Download{
		Body:          &downloadBody{op: op, body: x.resp.Body, wd: wd, release: release},
		ContentType:   h.Get("Content-Type"),
		ContentLength: x.resp.ContentLength,
		FileName:      attachmentName(h.Get("Content-Disposition")),
		SHA256:        hexSHA256(h.Get("X-Content-SHA256")),
	}, nil
}

// downloadBody is a download's response body: it reports progress to the
// watchdog, turns a stall into a timeout *Error, and gives back the
// concurrency slot when closed.
type downloadBody struct {
	op      string
	body    io.ReadCloser
	wd      *watchdog
	release func()
	once    sync.Once
}

// Read implements io.Reader.
func (b *downloadBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.wd.kick()
	}
	if err != nil && err != io.EOF {
		if te := ownTimeout(b.wd.ctx); te != nil {
			err = &Error{Op: b.op, Err: te}
		}
	}
	return n, err
}

// Close implements io.Closer.
func (b *downloadBody) Close() error {
	err := b.body.Close()
	b.once.Do(func() {
		b.wd.stop()
		b.release()
	})
	return err
}

// attachmentName returns the file name a Content-Disposition suggests,
// reduced to its last path element so that it cannot name a directory, or
// "" when there is none or it is unusable.
func attachmentName(disposition string) string {
	if disposition == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(disposition)
	if err != nil {
		return ""
	}
	name := params["filename"] // ParseMediaType has already decoded filename*
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "." || name == ".." || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return ""
	}
	return name
}

// hexSHA256 returns v in lower case if it is a hex SHA-256, else "".
func hexSHA256(v string) string {
	if b, err := hex.DecodeString(v); err != nil || len(b) != 32 {
		return ""
	}
	return strings.ToLower(v)
}
