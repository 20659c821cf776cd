package eeo

import (
	"context"
	"encoding/hex"
	"mime"
	"net/http"
	"strings"
)

// DownloadReport opens a SUCCEEDED report's content
// (GET /v1/reports/{id}/content). The returned Body is the live response
// body, streamed as the caller reads it; the caller must close it, and ctx
// must stay live until then. A report that has not succeeded is an *Error
// with Code "report_not_ready".
func (c *Client) DownloadReport(ctx context.Context, id string) (*Download, error) {
	const op = "download report"
	seg, err := pathID(op, id)
	if err != nil {
		return nil, err
	}
	// Accept anything: the content is whatever format the report was made
	// in, and only error answers are JSON.
	r := &request{op: op, method: http.MethodGet, url: c.endpoint(nil, "v1", "reports", seg, "content"), accept: "*/*"}
	x, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	// The request had no body, so nothing needs finishing but the response
	// body, which now belongs to the caller.
	h := x.resp.Header
	return &Download{
		Body:          x.resp.Body,
		ContentType:   h.Get("Content-Type"),
		ContentLength: x.resp.ContentLength,
		FileName:      attachmentName(h.Get("Content-Disposition")),
		SHA256:        hexSHA256(h.Get("X-Content-SHA256")),
	}, nil
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
