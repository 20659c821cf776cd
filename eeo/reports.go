package eeo

import (
	"context"
	"fmt"
	"net/http"
)

// ListReportTypes returns the reports EEO can run (GET /v1/report-types).
func (c *Client) ListReportTypes(ctx context.Context) ([]ReportType, error) {
	out, err := getJSON[struct {
		ReportTypes []ReportType `json:"report_types"`
	}](ctx, c, "list report types", nil, "v1", "report-types")
	return out.ReportTypes, err
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
	if err := c.doJSON(ctx, r, &rep, func() error { return needID(reportID(rep)) }); err != nil {
		return Report{}, err
	}
	return rep, nil
}

// GetReport returns one report (GET /v1/reports/{id}).
func (c *Client) GetReport(ctx context.Context, id string) (Report, error) {
	return objectCall(ctx, c, "get report", http.MethodGet, "reports", id, reportID)
}

// CancelReport cancels a report that has not finished
// (POST /v1/reports/{id}/cancel) and returns it. A finished one is an
// *Error with Code "not_cancellable".
func (c *Client) CancelReport(ctx context.Context, id string) (Report, error) {
	return objectCall(ctx, c, "cancel report", http.MethodPost, "reports", id, reportID, "cancel")
}

// ListReports returns one page of the account's reports, newest first
// (GET /v1/reports). q.Type filters by report type.
func (c *Client) ListReports(ctx context.Context, q ListQuery) (ReportPage, error) {
	return listCall(ctx, c, "list reports", "reports", listValues(q, "report_type"), func(p ReportPage) []Report { return p.Reports }, reportID)
}
