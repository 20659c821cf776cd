package eeo

import (
	"context"
	"fmt"
	"net/http"
)

// ListReportTypes returns the reports EEO can run (GET /v1/report-types).
func (c *Client) ListReportTypes(ctx context.Context) ([]ReportType, error) {
	var out struct {
		ReportTypes []ReportType `json:"report_types"`
	}
	r := &request{op: "list report types", method: http.MethodGet, url: c.endpoint(nil, "v1", "report-types")}
	if err := c.doJSON(ctx, r, &out, nil); err != nil {
		return nil, err
	}
	return out.ReportTypes, nil
}

// reportBody is CreateReport's request body. RequestID travels as the
// Idempotency-Key header instead.
type reportBody struct {
	ReportType string            `json:"report_type"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Format     string            `json:"format,omitempty"`
}

// CreateReport asks EEO to run a report (POST /v1/reports). With a
// RequestID already used for the same request EEO returns the original
// report; for a different one, an *Error with Code "idempotency_key_reused".
// Only a request with a RequestID is retried after a failure (see
// RetryPolicy).
func (c *Client) CreateReport(ctx context.Context, rr ReportRequest) (Report, error) {
	const op = "create report"
	body, err := jsonBody(reportBody{ReportType: rr.ReportType, Parameters: rr.Parameters, Format: rr.Format})
	if err != nil {
		return Report{}, fmt.Errorf("eeo: %s: encoding the request: %w", op, err)
	}
	r := &request{op: op, method: http.MethodPost, url: c.endpoint(nil, "v1", "reports"), body: body}
	if rr.RequestID != "" {
		if !isHeaderToken(rr.RequestID, 255) {
			return Report{}, &ArgumentError{Op: op, Field: "request_id", Reason: "must be at most 255 printable ASCII characters"}
		}
		r.header = http.Header{"Idempotency-Key": {rr.RequestID}}
		// EEO answers a repeat with the original report, so a failed
		// attempt may be retried; without a key a retry could run the
		// report twice.
		r.idempotent = true
	}
	var rep Report
	if err := c.doJSON(ctx, r, &rep, func() error { return needID("report", rep.ID) }); err != nil {
		return Report{}, err
	}
	return rep, nil
}

// GetReport returns one report (GET /v1/reports/{id}).
func (c *Client) GetReport(ctx context.Context, id string) (Report, error) {
	return c.reportCall(ctx, "get report", http.MethodGet, id)
}

// CancelReport cancels a report that has not finished
// (POST /v1/reports/{id}/cancel) and returns it. A finished one is an
// *Error with Code "not_cancellable".
func (c *Client) CancelReport(ctx context.Context, id string) (Report, error) {
	return c.reportCall(ctx, "cancel report", http.MethodPost, id, "cancel")
}

// reportCall is a call on one report that answers with it.
func (c *Client) reportCall(ctx context.Context, op, method, id string, suffix ...string) (Report, error) {
	seg, err := pathID(op, id)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	// GETs are idempotent, and so is cancelling (see importCall).
	r := &request{op: op, method: method, idempotent: true, url: c.endpoint(nil, append([]string{"v1", "reports", seg}, suffix...)...)}
	if err := c.doJSON(ctx, r, &rep, func() error { return needID("report", rep.ID) }); err != nil {
		return Report{}, err
	}
	return rep, nil
}

// ListReports returns one page of the account's reports, newest first
// (GET /v1/reports). q.Type filters by report type.
func (c *Client) ListReports(ctx context.Context, q ListQuery) (ReportPage, error) {
	var page ReportPage
	r := &request{op: "list reports", method: http.MethodGet, url: c.endpoint(listValues(q, "report_type"), "v1", "reports")}
	err := c.doJSON(ctx, r, &page, func() error {
		for _, rep := range page.Reports {
			if err := needID("report", rep.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ReportPage{}, err
	}
	return page, nil
}
