package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/spf13/cobra"
)

func newImportCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Upload data files into EEO and follow their processing"}
	cmd.AddCommand(
		newImportTypesCmd(o),
		newImportUploadCmd(o),
		newImportGetCmd(o),
		newImportListCmd(o),
		newImportErrorsCmd(o),
		newImportCancelCmd(o),
		newImportWatchCmd(o),
	)
	return cmd
}

func newImportTypesCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "types ACCOUNT",
		Short: "The import types EEO accepts, with their formats and columns",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				resp, err := c.imports.ListImportTypes(ctx, &eeov1.ListImportTypesRequest{Account: args[0]})
				if err != nil {
					return o.callError("listing import types", err)
				}
				if o.json() {
					return o.printJSON(resp)
				}
				t := o.newTable("TYPE", "FORMATS", "REQUIRED COLUMNS", "OPTIONAL COLUMNS", "DESCRIPTION")
				for _, it := range resp.GetImportTypes() {
					t.row(it.GetName(), strings.Join(it.GetFileFormats(), ","), strings.Join(it.GetRequiredColumns(), ","),
						orDash(strings.Join(it.GetOptionalColumns(), ",")), it.GetDescription())
				}
				return t.flush()
			})
		},
	}
}

func newImportGetCmd(o *options) *cobra.Command {
	return o.idCmd("get ACCOUNT IMPORT_ID", "An import's state and row counts", func(ctx context.Context, c clients, account, id string) error {
		resp, err := c.imports.GetImport(ctx, &eeov1.GetImportRequest{Account: account, ImportId: id})
		if err != nil {
			return o.callError("getting the import", err)
		}
		return o.printImport(resp.GetDataImport())
	})
}

func newImportListCmd(o *options) *cobra.Command {
	var state, importType string
	var limit int
	cmd := &cobra.Command{
		Use:   "list ACCOUNT",
		Short: "The account's imports, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := parseEnum("state", state, importStatePrefix, eeov1.ImportState_value)
			if err != nil {
				return err
			}
			if limit <= 0 {
				return exitcode.Usagef("--limit must be positive")
			}
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				all := &eeov1.ListImportsResponse{}
				req := &eeov1.ListImportsRequest{Account: args[0], State: eeov1.ImportState(st), ImportType: importType}
				for {
					resp, err := c.imports.ListImports(ctx, req)
					if err != nil {
						return o.callError("listing imports", err)
					}
					all.Imports = append(all.Imports, resp.GetImports()...)
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" || len(all.Imports) >= limit {
						break
					}
				}
				all.Imports = all.Imports[:min(limit, len(all.Imports))]
				if o.json() {
					return o.printJSON(all)
				}
				t := o.newTable("IMPORT", "TYPE", "STATE", "ROWS", "REJECTED", "SIZE", "FILE", "CREATED")
				for _, im := range all.GetImports() {
					t.row(im.GetImportId(), im.GetImportType(), importStateText(im.GetState()), strconv.FormatInt(im.GetRowCount(), 10),
						strconv.FormatInt(im.GetRejectedRowCount(), 10), humanBytes(im.GetSizeBytes()), im.GetFileName(), timeText(im.GetCreateTime()))
				}
				return t.flush()
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only imports in this `state` (queued, validating, processing, completed, failed, cancelled)")
	cmd.Flags().StringVar(&importType, "type", "", "only imports of this import `type`")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many imports")
	return cmd
}

func newImportErrorsCmd(o *options) *cobra.Command {
	return o.idCmd("errors ACCOUNT IMPORT_ID", "The rows of an import that failed validation", func(ctx context.Context, c clients, account, id string) error {
		resp, err := o.importErrors(ctx, c, account, id)
		if err != nil {
			return err
		}
		if o.json() {
			return o.printJSON(resp)
		}
		return o.printImportErrors(resp.GetErrors())
	})
}

func newImportCancelCmd(o *options) *cobra.Command {
	return o.idCmd("cancel ACCOUNT IMPORT_ID", "Cancel an import that has not finished", func(ctx context.Context, c clients, account, id string) error {
		resp, err := c.imports.CancelImport(ctx, &eeov1.CancelImportRequest{Account: account, ImportId: id})
		if err != nil {
			return o.callError("cancelling the import", err)
		}
		return o.printImport(resp.GetDataImport())
	})
}

func newImportWatchCmd(o *options) *cobra.Command {
	return o.idCmd("watch ACCOUNT IMPORT_ID", "Print each state change of an import until it ends", func(ctx context.Context, c clients, account, id string) error {
		_, err := o.watchImport(ctx, c, account, id, o.env.Stdout, o.json())
		return err
	})
}

// printImport shows one import.
func (o *options) printImport(im *eeov1.Import) error {
	if o.json() {
		return o.printJSON(im)
	}
	return keyValues(o.env.Stdout,
		"account", im.GetAccount(),
		"import", im.GetImportId(),
		"type", im.GetImportType(),
		"file", im.GetFileName(),
		"content type", im.GetContentType(),
		"request id", im.GetRequestId(),
		"state", importStateText(im.GetState()),
		"rows", fmt.Sprintf("%d total, %d accepted, %d rejected", im.GetRowCount(), im.GetAcceptedRowCount(), im.GetRejectedRowCount()),
		"size", fmt.Sprintf("%s (%d bytes)", humanBytes(im.GetSizeBytes()), im.GetSizeBytes()),
		"sha256", im.GetSha256(),
		"created", timeText(im.GetCreateTime()),
		"updated", timeText(im.GetUpdateTime()),
	)
}

// importErrors fetches every page of an import's row errors.
func (o *options) importErrors(ctx context.Context, c clients, account, id string) (*eeov1.ListImportErrorsResponse, error) {
	all := &eeov1.ListImportErrorsResponse{}
	req := &eeov1.ListImportErrorsRequest{Account: account, ImportId: id}
	for {
		resp, err := c.imports.ListImportErrors(ctx, req)
		if err != nil {
			return nil, o.callError("listing the import's row errors", err)
		}
		all.Errors = append(all.Errors, resp.GetErrors()...)
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return all, nil
		}
	}
}

// printImportErrors shows row errors as a table.
func (o *options) printImportErrors(errs []*eeov1.ImportRowError) error {
	if len(errs) == 0 {
		_, err := fmt.Fprintln(o.env.Stdout, "no row errors")
		return err
	}
	t := o.newTable("ROW", "COLUMN", "ERROR")
	for _, e := range errs {
		t.row(strconv.FormatInt(e.GetRow(), 10), orDash(e.GetColumn()), e.GetMessage())
	}
	return t.flush()
}
