package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/paging"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc/codes"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// Upstream is EEO's import and report API for one account; *eeo.Client
// implements it.
type Upstream interface {
	ListImportTypes(ctx context.Context) ([]eeo.ImportType, error)
	CreateImport(ctx context.Context, u eeo.Upload) (eeo.Import, error)
	GetImport(ctx context.Context, id string) (eeo.Import, error)
	ListImports(ctx context.Context, q eeo.ListQuery) (eeo.ImportPage, error)
	ListImportErrors(ctx context.Context, id string, q eeo.ListQuery) (eeo.ImportErrorPage, error)
	CancelImport(ctx context.Context, id string) (eeo.Import, error)
	ListReportTypes(ctx context.Context) ([]eeo.ReportType, error)
	CreateReport(ctx context.Context, r eeo.ReportRequest) (eeo.Report, error)
	GetReport(ctx context.Context, id string) (eeo.Report, error)
	ListReports(ctx context.Context, q eeo.ListQuery) (eeo.ReportPage, error)
	CancelReport(ctx context.Context, id string) (eeo.Report, error)
	DownloadReport(ctx context.Context, id string) (*eeo.Download, error)
}

// importReportService implements eeov1.ImportReportServiceServer by
// forwarding to each account's Upstream. Streams pass through with bounded
// memory; request ids are enforced here as well as sent upstream, so
// idempotency holds whatever EEO does with the key.
type importReportService struct {
	eeov1.UnimplementedImportReportServiceServer
	upstreams      map[string]Upstream
	requests       *requests
	owners         *objectOwners
	maxUploadBytes int64
	watchInterval  time.Duration
	draining       context.Context // done when the server starts shutting down
	now            func() time.Time
	sinks          *downloadSinks // REST downloads' responses (see restSink)
	chunks         *chunkPools    // upload and download buffers, shared with the codec
}

// upstream returns the account's upstream, or NOT_FOUND.
func (s *importReportService) upstream(account string) (Upstream, error) {
	if err := requireAccount(account); err != nil {
		return nil, err
	}
	up, ok := s.upstreams[account]
	if !ok {
		return nil, rpcerr.New(codes.NotFound, ReasonAccountNotFound, fmt.Sprintf("unknown account %q", account), map[string]string{"account": account})
	}
	return up, nil
}

func (s *importReportService) ListImportTypes(ctx context.Context, req *eeov1.ListImportTypesRequest) (*eeov1.ListImportTypesResponse, error) {
	up, err := s.upstream(req.GetAccount())
	if err != nil {
		return nil, err
	}
	types, err := up.ListImportTypes(ctx)
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, "")
	}
	types = slices.SortedFunc(slices.Values(types), func(a, b eeo.ImportType) int { return strings.Compare(a.Name, b.Name) })
	page, next, err := paging.Page(types, req.GetPageSize(), req.GetPageToken(), "ListImportTypes\x00"+req.GetAccount())
	if err != nil {
		return nil, err
	}
	resp := &eeov1.ListImportTypesResponse{NextPageToken: next}
	for _, t := range page {
		resp.ImportTypes = append(resp.ImportTypes, importTypeProto(t))
	}
	return resp, nil
}

func (s *importReportService) GetImport(ctx context.Context, req *eeov1.GetImportRequest) (*eeov1.GetImportResponse, error) {
	up, err := s.objectUpstream(req.GetAccount(), kindImport, req.GetImportId())
	if err != nil {
		return nil, err
	}
	imp, err := up.GetImport(ctx, req.GetImportId())
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, ReasonImportNotFound)
	}
	return &eeov1.GetImportResponse{DataImport: importProto(req.GetAccount(), imp)}, nil
}

func (s *importReportService) ListImports(ctx context.Context, req *eeov1.ListImportsRequest) (*eeov1.ListImportsResponse, error) {
	up, err := s.upstream(req.GetAccount())
	if err != nil {
		return nil, err
	}
	q, err := listQuery(req.GetPageSize(), req.GetPageToken(), importStateName(req.GetState()), req.GetImportType())
	if err != nil {
		return nil, err
	}
	page, err := up.ListImports(ctx, q)
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, "")
	}
	resp := &eeov1.ListImportsResponse{NextPageToken: page.NextPageToken}
	for _, imp := range page.Imports {
		if s.owners.foreign(kindImport, imp.ID, req.GetAccount()) {
			continue
		}
		resp.Imports = append(resp.Imports, importProto(req.GetAccount(), imp))
	}
	return resp, nil
}

func (s *importReportService) ListImportErrors(ctx context.Context, req *eeov1.ListImportErrorsRequest) (*eeov1.ListImportErrorsResponse, error) {
	up, err := s.objectUpstream(req.GetAccount(), kindImport, req.GetImportId())
	if err != nil {
		return nil, err
	}
	q, err := listQuery(req.GetPageSize(), req.GetPageToken(), "", "")
	if err != nil {
		return nil, err
	}
	page, err := up.ListImportErrors(ctx, req.GetImportId(), q)
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, ReasonImportNotFound)
	}
	resp := &eeov1.ListImportErrorsResponse{NextPageToken: page.NextPageToken}
	for _, e := range page.Errors {
		resp.Errors = append(resp.Errors, &eeov1.ImportRowError{Row: e.Row, Column: e.Column, Message: e.Message})
	}
	return resp, nil
}

func (s *importReportService) CancelImport(ctx context.Context, req *eeov1.CancelImportRequest) (*eeov1.CancelImportResponse, error) {
	up, err := s.objectUpstream(req.GetAccount(), kindImport, req.GetImportId())
	if err != nil {
		return nil, err
	}
	imp, err := up.CancelImport(ctx, req.GetImportId())
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, ReasonImportNotFound)
	}
	return &eeov1.CancelImportResponse{DataImport: importProto(req.GetAccount(), imp)}, nil
}

func (s *importReportService) ListReportTypes(ctx context.Context, req *eeov1.ListReportTypesRequest) (*eeov1.ListReportTypesResponse, error) {
	up, err := s.upstream(req.GetAccount())
	if err != nil {
		return nil, err
	}
	types, err := up.ListReportTypes(ctx)
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, "")
	}
	types = slices.SortedFunc(slices.Values(types), func(a, b eeo.ReportType) int { return strings.Compare(a.Name, b.Name) })
	page, next, err := paging.Page(types, req.GetPageSize(), req.GetPageToken(), "ListReportTypes\x00"+req.GetAccount())
	if err != nil {
		return nil, err
	}
	resp := &eeov1.ListReportTypesResponse{NextPageToken: next}
	for _, t := range page {
		resp.ReportTypes = append(resp.ReportTypes, reportTypeProto(t))
	}
	return resp, nil
}

func (s *importReportService) GetReport(ctx context.Context, req *eeov1.GetReportRequest) (*eeov1.GetReportResponse, error) {
	up, err := s.objectUpstream(req.GetAccount(), kindReport, req.GetReportId())
	if err != nil {
		return nil, err
	}
	rep, err := up.GetReport(ctx, req.GetReportId())
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, ReasonReportNotFound)
	}
	return &eeov1.GetReportResponse{Report: reportProto(req.GetAccount(), rep)}, nil
}

func (s *importReportService) ListReports(ctx context.Context, req *eeov1.ListReportsRequest) (*eeov1.ListReportsResponse, error) {
	up, err := s.upstream(req.GetAccount())
	if err != nil {
		return nil, err
	}
	q, err := listQuery(req.GetPageSize(), req.GetPageToken(), reportStateName(req.GetState()), req.GetReportType())
	if err != nil {
		return nil, err
	}
	page, err := up.ListReports(ctx, q)
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, "")
	}
	resp := &eeov1.ListReportsResponse{NextPageToken: page.NextPageToken}
	for _, r := range page.Reports {
		if s.owners.foreign(kindReport, r.ID, req.GetAccount()) {
			continue
		}
		resp.Reports = append(resp.Reports, reportProto(req.GetAccount(), r))
	}
	return resp, nil
}

func (s *importReportService) CancelReport(ctx context.Context, req *eeov1.CancelReportRequest) (*eeov1.CancelReportResponse, error) {
	up, err := s.objectUpstream(req.GetAccount(), kindReport, req.GetReportId())
	if err != nil {
		return nil, err
	}
	rep, err := up.CancelReport(ctx, req.GetReportId())
	if err != nil {
		return nil, s.upstreamStatus(ctx, err, ReasonReportNotFound)
	}
	return &eeov1.CancelReportResponse{Report: reportProto(req.GetAccount(), rep)}, nil
}

// objectUpstream checks an account and an object id together: the id must
// be well formed and not recorded as another account's object.
func (s *importReportService) objectUpstream(account string, kind objectKind, id string) (Upstream, error) {
	up, err := s.upstream(account)
	if err != nil {
		return nil, err
	}
	field := "import_id"
	if kind == kindReport {
		field = "report_id"
	}
	if err := checkID(field, id); err != nil {
		return nil, err
	}
	if err := s.owners.check(kind, id, account); err != nil {
		return nil, err
	}
	return up, nil
}
