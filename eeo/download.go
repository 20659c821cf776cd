package eeo

import (
	"context"
	"net/http"
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
	r := &request{op: op, method: http.MethodGet, url: c.endpoint(nil, "v1", "reports", seg, "content"), accept: "*/*",
		timing: timedDownload}
	resp, err := c.pipe.run(ctx, r)
	if err != nil {
		return nil, err
	}
	h := resp.Header
	return &Download{
		Body:          resp.Body,
		ContentType:   h.Get("Content-Type"),
		ContentLength: resp.ContentLength,
		FileName:      attachmentName(h.Get("Content-Disposition")),
		SHA256:        hexSHA256(h.Get("X-Content-SHA256")),
	}, nil
}
