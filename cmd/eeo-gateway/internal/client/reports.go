package client

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	gwclient "github.com/eeo-gateway/eeo-gateway/client"
	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/spf13/cobra"
)

func newReportCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Run EEO reports and download them with their checksum verified"}
	cmd.AddCommand(
		newReportTypesCmd(o),
		newReportRunCmd(o),
		newReportDownloadCmd(o),
		newReportGetCmd(o),
		newReportListCmd(o),
		newReportCancelCmd(o),
		newReportWatchCmd(o),
	)
	return cmd
}

func newReportTypesCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "types ACCOUNT",
		Short: "The reports EEO can run, with their parameters and formats",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				resp, err := c.imports.ListReportTypes(ctx, &eeov1.ListReportTypesRequest{Account: args[0]})
				if err != nil {
					return o.callError("listing report types", err)
				}
				if o.json() {
					return o.printJSON(resp)
				}
				t := o.newTable("TYPE", "FORMATS", "PARAMETERS (* required)", "DESCRIPTION")
				for _, rt := range resp.GetReportTypes() {
					var formats, params []string
					for _, f := range rt.GetFormats() {
						formats = append(formats, strings.ToLower(reportFormatText(f)))
					}
					for _, p := range rt.GetParameters() {
						s := p.GetName() + ":" + strings.ToLower(strings.TrimPrefix(p.GetValueType().String(), "PARAMETER_TYPE_"))
						if p.GetRequired() {
							s += "*"
						}
						params = append(params, s)
					}
					t.row(rt.GetName(), strings.Join(formats, ","), orDash(strings.Join(params, " ")), rt.GetDescription())
				}
				return t.flush()
			})
		},
	}
}

// runRequest is what `report run` asks for.
type runRequest struct {
	params    []string
	format    string
	requestID string
	out       string
}

func newReportRunCmd(o *options) *cobra.Command {
	var r runRequest
	cmd := &cobra.Command{
		Use:   "run ACCOUNT TYPE [--param NAME=VALUE]... [-o FILE]",
		Short: "Create a report, wait for it, download it and verify its SHA-256",
		Long: `Create a report, wait for EEO to produce it, download it with a progress bar
and verify its size and SHA-256. The file is written next to FILE under a
temporary name and renamed only once verified, so FILE is never a damaged
report; on a mismatch the command exits 6. -o - writes to stdout.`,
		Example: `  eeo-gateway client report run demo grants --param as_of=2026-01-31 -o grants.csv`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			params, err := parseParams(r.params)
			if err != nil {
				return err
			}
			format, err := parseEnum("format", r.format, reportFormatPrefix, eeov1.ReportFormat_value)
			if err != nil {
				return err
			}
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				resp, err := c.imports.CreateReport(ctx, &eeov1.CreateReportRequest{
					Account: args[0], ReportType: args[1], Parameters: params,
					Format: eeov1.ReportFormat(format), RequestId: r.requestID,
				})
				if err != nil {
					return o.callError("creating the report", err)
				}
				rep := resp.GetReport()
				if !gwclient.ReportDone(rep.GetState()) {
					if rep, err = o.watchReport(ctx, c, rep.GetAccount(), rep.GetReportId(), o.progressOut(), false); err != nil {
						return err
					}
				}
				if rep.GetState() != eeov1.ReportState_REPORT_STATE_SUCCEEDED {
					return exitcode.With(exitcode.Upstream, fmt.Errorf("report %s ended %s", rep.GetReportId(), reportStateText(rep.GetState())))
				}
				return o.downloadAndReport(ctx, c, rep, r.out)
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&r.params, "param", nil, "report parameter `NAME=VALUE` (repeatable; see 'report types')")
	f.StringVar(&r.format, "format", "", "csv, xlsx or pdf (default: the gateway's, CSV)")
	f.StringVar(&r.requestID, "request-id", "", "idempotency `key`: a retry with the same key returns the original report")
	f.StringVarP(&r.out, "out", "o", "", "write the report to `FILE` (default: the report's file name; - for stdout)")
	return cmd
}

func newReportDownloadCmd(o *options) *cobra.Command {
	var out string
	cmd := o.idCmd("download ACCOUNT REPORT_ID [-o FILE]", "Download a finished report and verify its size and SHA-256", func(ctx context.Context, c clients, account, id string) error {
		r, err := o.getReport(ctx, c, account, id)
		if err != nil {
			return err
		}
		return o.downloadAndReport(ctx, c, r, out)
	})
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the report to `FILE` (default: the report's file name; - for stdout)")
	return cmd
}

func newReportGetCmd(o *options) *cobra.Command {
	return o.idCmd("get ACCOUNT REPORT_ID", "A report's state, size and checksum", func(ctx context.Context, c clients, account, id string) error {
		r, err := o.getReport(ctx, c, account, id)
		if err != nil {
			return err
		}
		return o.printReport(r)
	})
}

func newReportListCmd(o *options) *cobra.Command {
	var state, reportType string
	var limit int
	cmd := &cobra.Command{
		Use:   "list ACCOUNT",
		Short: "The account's reports, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := parseEnum("state", state, reportStatePrefix, eeov1.ReportState_value)
			if err != nil {
				return err
			}
			if limit <= 0 {
				return exitcode.Usagef("--limit must be positive")
			}
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				all := &eeov1.ListReportsResponse{}
				req := &eeov1.ListReportsRequest{Account: args[0], State: eeov1.ReportState(st), ReportType: reportType}
				for {
					resp, err := c.imports.ListReports(ctx, req)
					if err != nil {
						return o.callError("listing reports", err)
					}
					all.Reports = append(all.Reports, resp.GetReports()...)
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" || len(all.Reports) >= limit {
						break
					}
				}
				all.Reports = all.Reports[:min(limit, len(all.Reports))]
				if o.json() {
					return o.printJSON(all)
				}
				t := o.newTable("REPORT", "TYPE", "STATE", "FORMAT", "SIZE", "FILE", "CREATED")
				for _, r := range all.GetReports() {
					t.row(r.GetReportId(), r.GetReportType(), reportStateText(r.GetState()), reportFormatText(r.GetFormat()),
						humanBytes(r.GetSizeBytes()), orDash(r.GetFileName()), timeText(r.GetCreateTime()))
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only reports in this `state` (queued, running, succeeded, failed, cancelled)")
	cmd.Flags().StringVar(&reportType, "type", "", "only reports of this report `type`")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many reports")
	return cmd
}

func newReportCancelCmd(o *options) *cobra.Command {
	return o.idCmd("cancel ACCOUNT REPORT_ID", "Cancel a report that has not finished", func(ctx context.Context, c clients, account, id string) error {
		resp, err := c.imports.CancelReport(ctx, &eeov1.CancelReportRequest{Account: account, ReportId: id})
		if err != nil {
			return o.callError("cancelling the report", err)
		}
		return o.printReport(resp.GetReport())
	})
}

func newReportWatchCmd(o *options) *cobra.Command {
	return o.idCmd("watch ACCOUNT REPORT_ID", "Print each state change of a report until it ends", func(ctx context.Context, c clients, account, id string) error {
		_, err := o.watchReport(ctx, c, account, id, o.env.Stdout, o.json())
		return err
	})
}

// getReport fetches one report, the first step of report get and report
// download, with the same error either way.
func (o *options) getReport(ctx context.Context, c clients, account, id string) (*eeov1.Report, error) {
	resp, err := c.imports.GetReport(ctx, &eeov1.GetReportRequest{Account: account, ReportId: id})
	if err != nil {
		return nil, o.callError("getting the report", err)
	}
	return resp.GetReport(), nil
}

// printReport shows one report.
func (o *options) printReport(r *eeov1.Report) error {
	if o.json() {
		return o.printJSON(r)
	}
	var params []string
	for _, k := range slices.Sorted(maps.Keys(r.GetParameters())) {
		params = append(params, k+"="+r.GetParameters()[k])
	}
	size := ""
	if r.GetState() == eeov1.ReportState_REPORT_STATE_SUCCEEDED {
		size = fmt.Sprintf("%s (%d bytes)", humanBytes(r.GetSizeBytes()), r.GetSizeBytes())
	}
	return keyValues(o.env.Stdout,
		"account", r.GetAccount(),
		"report", r.GetReportId(),
		"type", r.GetReportType(),
		"parameters", strings.Join(params, " "),
		"format", reportFormatText(r.GetFormat()),
		"request id", r.GetRequestId(),
		"state", reportStateText(r.GetState()),
		"size", size,
		"sha256", r.GetSha256(),
		"file", r.GetFileName(),
		"created", timeText(r.GetCreateTime()),
		"updated", timeText(r.GetUpdateTime()),
	)
}

// parseParams reads --param NAME=VALUE flags.
func parseParams(flags []string) (map[string]string, error) {
	params := make(map[string]string, len(flags))
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, exitcode.Usagef("--param %q: want NAME=VALUE", f)
		}
		if _, dup := params[k]; dup {
			return nil, exitcode.Usagef("--param %s given twice", k)
		}
		params[k] = v
	}
	return params, nil
}
