package e2e_test

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
)

// TestReportDownloadOverGRPCAndREST proves the report path end to end: a
// report is not downloadable until EEO says SUCCEEDED (FAILED_PRECONDITION /
// HTTP 400, REPORT_NOT_READY, nothing fetched from EEO), and then gRPC and
// REST deliver the same bytes, whose SHA-256 and length are the report's,
// with the headers a browser or curl needs.
func TestReportDownloadOverGRPCAndREST(t *testing.T) {
	clock := testkit.NewClock()
	const step = time.Minute
	s := newStack(t, stackOptions{Clock: clock, Sandbox: sandbox.Options{StepDuration: step}})

	created, err := s.files.CreateReport(t.Context(), &eeov1.CreateReportRequest{
		Account: account, ReportType: "grants", Parameters: map[string]string{"as_of": "2031-02-28", "rows": "50000"},
	})
	if err != nil {
		t.Fatalf("CreateReport: %v", err)
	}
	rep := created.GetReport()
	id := rep.GetReportId()
	if id == "" || rep.GetState() != eeov1.ReportState_REPORT_STATE_QUEUED || rep.GetFormat() != eeov1.ReportFormat_REPORT_FORMAT_CSV {
		t.Fatalf("CreateReport = %v; want a QUEUED CSV report with an id", rep)
	}
	downloadPath := "/v1/accounts/" + account + "/reports/" + id + ":download"

	// Too early, in both non-terminal states.
	for _, state := range []eeov1.ReportState{eeov1.ReportState_REPORT_STATE_QUEUED, eeov1.ReportState_REPORT_STATE_RUNNING} {
		if got := s.getReport(t, id).GetState(); got != state {
			t.Fatalf("report is %v, want %v", got, state)
		}
		_, _, _, err := s.downloadGRPC(t.Context(), id)
		testkit.WantStatus(t, err, codes.FailedPrecondition, server.ReasonReportNotReady)
		code, _, body := s.rest(t, http.MethodGet, downloadPath)
		wantREST(t, "REST download while "+state.String(), code, body, http.StatusBadRequest, server.ReasonReportNotReady)
		clock.Advance(step)
	}
	if n := s.sb.Stats().Downloads; n != 0 {
		t.Errorf("sandbox served %d downloads of a report that was not ready", n)
	}

	rep = s.getReport(t, id)
	if rep.GetState() != eeov1.ReportState_REPORT_STATE_SUCCEEDED || rep.GetSizeBytes() < 50000*63 || len(rep.GetSha256()) != 64 {
		t.Fatalf("after 2 steps GetReport = %v; want SUCCEEDED with 50000 rows' size and a SHA-256", rep)
	}
	if rep.GetFileName() != "grants-2031-02-28.csv" {
		t.Errorf("report file name %q, want grants-2031-02-28.csv", rep.GetFileName())
	}

	viaGRPC, contentType, md, err := s.downloadGRPC(t.Context(), id)
	if err != nil {
		t.Fatalf("gRPC DownloadReport: %v", err)
	}
	if int64(len(viaGRPC)) != rep.GetSizeBytes() || sha256Hex(viaGRPC) != rep.GetSha256() {
		t.Errorf("gRPC download: %d bytes with SHA-256 %s, want %d bytes with %s", len(viaGRPC), sha256Hex(viaGRPC), rep.GetSizeBytes(), rep.GetSha256())
	}
	if contentType != "text/csv" {
		t.Errorf("gRPC download content type %q, want text/csv", contentType)
	}
	if got := md.Get("x-content-sha256"); !slices.Equal(got, []string{rep.GetSha256()}) {
		t.Errorf("gRPC x-content-sha256 = %v, want %s", got, rep.GetSha256())
	}
	if got := md.Get("x-content-length"); !slices.Equal(got, []string{strconv.FormatInt(rep.GetSizeBytes(), 10)}) {
		t.Errorf("gRPC x-content-length = %v, want %d", got, rep.GetSizeBytes())
	}
	if cd := md.Get("content-disposition"); len(cd) != 1 || attachmentName(cd[0]) != rep.GetFileName() {
		t.Errorf("gRPC content-disposition = %v, want an attachment named %s", cd, rep.GetFileName())
	}

	code, hdr, viaREST := s.rest(t, http.MethodGet, downloadPath)
	if code != http.StatusOK {
		t.Fatalf("REST download: HTTP %d, body %.200s", code, viaREST)
	}
	if !bytes.Equal(viaREST, viaGRPC) {
		t.Errorf("REST and gRPC downloads differ (%d and %d bytes)", len(viaREST), len(viaGRPC))
	}
	if sha256Hex(viaREST) != rep.GetSha256() || hdr.Get("X-Content-SHA256") != rep.GetSha256() {
		t.Errorf("REST download SHA-256 %s, X-Content-SHA256 %q; want both %s", sha256Hex(viaREST), hdr.Get("X-Content-SHA256"), rep.GetSha256())
	}
	if cl := hdr.Get("Content-Length"); cl != strconv.FormatInt(rep.GetSizeBytes(), 10) {
		t.Errorf("REST Content-Length %q, want %d", cl, rep.GetSizeBytes())
	}
	if ct, _, _ := mime.ParseMediaType(hdr.Get("Content-Type")); ct != "text/csv" {
		t.Errorf("REST Content-Type %q, want text/csv", hdr.Get("Content-Type"))
	}
	if cd := hdr.Get("Content-Disposition"); attachmentName(cd) != rep.GetFileName() {
		t.Errorf("REST Content-Disposition %q, want an attachment named %s", cd, rep.GetFileName())
	}
	if n := s.sb.Stats().Downloads; n != 2 {
		t.Errorf("sandbox served %d downloads, want 2", n)
	}
}

// attachmentName returns the file name of an attachment Content-Disposition,
// or "" if it is not one.
func attachmentName(cd string) string {
	disp, params, err := mime.ParseMediaType(cd)
	if err != nil || disp != "attachment" {
		return ""
	}
	return params["filename"]
}

// TestInvalidRequestsCreateNothing proves bad requests reach callers as
// INVALID_ARGUMENT / NOT_FOUND with stable reasons and field violations in
// the API's own terms, over gRPC and REST, and that nothing is created:
// EEO's refusals (bad report parameter, unknown import type, unknown ids)
// and the gateway's own (a file not matching expected_sha256).
func TestInvalidRequestsCreateNothing(t *testing.T) {
	s := newStack(t, stackOptions{})

	t.Run("report parameter of the wrong type", func(t *testing.T) {
		_, err := s.files.CreateReport(t.Context(), &eeov1.CreateReportRequest{
			Account: account, ReportType: "grants", Parameters: map[string]string{"as_of": "2031-02-28", "rows": "lots"},
		})
		testkit.WantStatus(t, err, codes.InvalidArgument, server.ReasonInvalidParameter)
		if f := testkit.FieldViolations(err); !slices.Equal(f, []string{"parameters[rows]"}) {
			t.Errorf("gRPC field violations %v, want [parameters[rows]]", f)
		}
		code, _, body := s.restJSON(t, http.MethodPost, "/v1/accounts/"+account+"/reports",
			`{"reportType":"grants","parameters":{"as_of":"2031-02-28","rows":"lots"}}`)
		if f := wantREST(t, "REST CreateReport rows=lots", code, body, http.StatusBadRequest, server.ReasonInvalidParameter); !slices.Equal(f, []string{"parameters[rows]"}) {
			t.Errorf("REST field violations %v, want [parameters[rows]]", f)
		}
		if n := s.sb.Stats().ReportsCreated; n != 0 {
			t.Errorf("sandbox created %d reports", n)
		}
	})

	t.Run("unknown import type", func(t *testing.T) {
		data := participantsFile(64<<10, "x")
		_, err := s.upload(t.Context(), &eeov1.ImportMetadata{ImportType: "payroll", FileName: "p.csv"}, data, 8<<10)
		testkit.WantStatus(t, err, codes.InvalidArgument, server.ReasonInvalidImportType)
		if f := testkit.FieldViolations(err); !slices.Equal(f, []string{"import_type"}) {
			t.Errorf("gRPC field violations %v, want [import_type]", f)
		}
		code, _, body := s.restUpload(t, url.Values{"importType": {"payroll"}, "fileName": {"p.csv"}}, data)
		if f := wantREST(t, "REST CreateImport payroll", code, body, http.StatusBadRequest, server.ReasonInvalidImportType); !slices.Equal(f, []string{"import_type"}) {
			t.Errorf("REST field violations %v, want [import_type]", f)
		}
		st := s.sb.Stats()
		if st.ImportsCreated != 0 {
			t.Errorf("sandbox created %d imports", st.ImportsCreated)
		}
		// EEO refuses the type before reading the body (100-continue), so
		// no upload even started there.
		if st.UploadsAborted != 0 {
			t.Errorf("sandbox counted %d aborted uploads; the refused body was sent", st.UploadsAborted)
		}
	})

	t.Run("file not matching expected_sha256", func(t *testing.T) {
		data := participantsFile(128<<10, "sum")
		wrong := sha256Hex(data[:len(data)-1])
		_, err := s.upload(t.Context(), &eeov1.ImportMetadata{ImportType: "participants", FileName: "p.csv", ExpectedSha256: wrong}, data, 16<<10)
		testkit.WantStatus(t, err, codes.InvalidArgument, server.ReasonChecksumMismatch)
		if f := testkit.FieldViolations(err); !slices.Equal(f, []string{"expected_sha256"}) {
			t.Errorf("gRPC field violations %v, want [expected_sha256]", f)
		}
		code, _, body := s.restUpload(t, url.Values{"importType": {"participants"}, "fileName": {"p.csv"}, "expectedSha256": {wrong}}, data)
		wantREST(t, "REST CreateImport", code, body, http.StatusBadRequest, server.ReasonChecksumMismatch)
		if n := s.sb.Stats().ImportsCreated; n != 0 {
			t.Errorf("sandbox created %d imports", n)
		}
	})

	t.Run("unknown ids", func(t *testing.T) {
		const missing = "imp_000000000000000000000000"
		_, err := s.files.GetImport(t.Context(), &eeov1.GetImportRequest{Account: account, ImportId: missing})
		testkit.WantStatus(t, err, codes.NotFound, server.ReasonImportNotFound)
		_, err = s.files.ListImportErrors(t.Context(), &eeov1.ListImportErrorsRequest{Account: account, ImportId: missing})
		testkit.WantStatus(t, err, codes.NotFound, server.ReasonImportNotFound)
		code, _, body := s.rest(t, http.MethodGet, importsPath+"/"+missing)
		wantREST(t, "REST GetImport", code, body, http.StatusNotFound, server.ReasonImportNotFound)

		_, _, _, err = s.downloadGRPC(t.Context(), "rpt_000000000000000000000000")
		testkit.WantStatus(t, err, codes.NotFound, server.ReasonReportNotFound)
		code, _, body = s.rest(t, http.MethodGet, "/v1/accounts/"+account+"/reports/rpt_000000000000000000000000:download")
		wantREST(t, "REST DownloadReport", code, body, http.StatusNotFound, server.ReasonReportNotFound)
	})
}
