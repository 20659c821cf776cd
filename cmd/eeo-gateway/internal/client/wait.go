package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	gwclient "github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// watchImport follows an import until it ends, writing each state change to
// w (as JSON lines if jsonLines), and returns its last state.
func (o *options) watchImport(ctx context.Context, c clients, account, id string, w io.Writer, jsonLines bool) (*eeov1.Import, error) {
	stream, err := c.imports.WatchImport(ctx, &eeov1.WatchImportRequest{Account: account, ImportId: id})
	if err != nil {
		return nil, o.callError("watching the import", err)
	}
	var last *eeov1.Import
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) && last != nil {
			return last, nil
		}
		if err != nil {
			return last, o.callError("watching the import", err)
		}
		last = resp.GetDataImport()
		if jsonLines {
			err = o.printJSONLine(w, last)
		} else {
			_, err = fmt.Fprintf(w, "import %s: %s (%d rows, %d rejected)\n", last.GetImportId(), importStateText(last.GetState()), last.GetRowCount(), last.GetRejectedRowCount())
		}
		if err != nil {
			return last, err
		}
		if gwclient.ImportDone(last.GetState()) {
			return last, nil
		}
	}
}

// watchReport follows a report until it ends, like watchImport.
func (o *options) watchReport(ctx context.Context, c clients, account, id string, w io.Writer, jsonLines bool) (*eeov1.Report, error) {
	stream, err := c.imports.WatchReport(ctx, &eeov1.WatchReportRequest{Account: account, ReportId: id})
	if err != nil {
		return nil, o.callError("watching the report", err)
	}
	var last *eeov1.Report
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) && last != nil {
			return last, nil
		}
		if err != nil {
			return last, o.callError("watching the report", err)
		}
		last = resp.GetReport()
		if jsonLines {
			err = o.printJSONLine(w, last)
		} else {
			_, err = fmt.Fprintf(w, "report %s: %s\n", last.GetReportId(), reportStateText(last.GetState()))
		}
		if err != nil {
			return last, err
		}
		if gwclient.ReportDone(last.GetState()) {
			return last, nil
		}
	}
}
