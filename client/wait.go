package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// WaitImport follows an import with WatchImport until it is COMPLETED,
// FAILED or CANCELLED, and returns it in that state. Bound the wait with
// ctx.
func (c *Client) WaitImport(ctx context.Context, account, importID string) (*eeov1.Import, error) {
	stream, err := c.files.WatchImport(ctx, &eeov1.WatchImportRequest{Account: account, ImportId: importID})
	if err != nil {
		return nil, fmt.Errorf("client: WatchImport: %w", err)
	}
	var last *eeov1.Import
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) && last != nil && ImportDone(last.GetState()) {
			return last, nil
		}
		if err != nil {
			return last, fmt.Errorf("client: WatchImport: %w", err)
		}
		last = msg.GetDataImport()
	}
}

// WaitReport follows a report with WatchReport until it is SUCCEEDED,
// FAILED or CANCELLED, and returns it in that state. Bound the wait with
// ctx.
func (c *Client) WaitReport(ctx context.Context, account, reportID string) (*eeov1.Report, error) {
	stream, err := c.files.WatchReport(ctx, &eeov1.WatchReportRequest{Account: account, ReportId: reportID})
	if err != nil {
		return nil, fmt.Errorf("client: WatchReport: %w", err)
	}
	var last *eeov1.Report
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) && last != nil && ReportDone(last.GetState()) {
			return last, nil
		}
		if err != nil {
			return last, fmt.Errorf("client: WatchReport: %w", err)
		}
		last = msg.GetReport()
	}
}

// ImportDone reports whether an import in state s will change no more
// (COMPLETED, FAILED or CANCELLED): what WaitImport waits for, and what a
// caller polling GetImport instead should stop at.
func ImportDone(s eeov1.ImportState) bool {
	switch s {
	case eeov1.ImportState_IMPORT_STATE_COMPLETED, eeov1.ImportState_IMPORT_STATE_FAILED, eeov1.ImportState_IMPORT_STATE_CANCELLED:
		return true
	}
	return false
}

// ReportDone reports whether a report in state s will change no more
// (SUCCEEDED, FAILED or CANCELLED): what WaitReport waits for.
func ReportDone(s eeov1.ReportState) bool {
	switch s {
	case eeov1.ReportState_REPORT_STATE_SUCCEEDED, eeov1.ReportState_REPORT_STATE_FAILED, eeov1.ReportState_REPORT_STATE_CANCELLED:
		return true
	}
	return false
}
