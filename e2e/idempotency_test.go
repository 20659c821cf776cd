package e2e_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
)

// TestCreateImportRequestIDIsIdempotent proves request_id makes uploads
// idempotent: two concurrent uploads of one file with one request_id create
// exactly one import at EEO and both callers get it (the later one waits
// for the first), later retries over gRPC and REST get the same
// import back without creating another, and reusing the id for a different
// file or name is ALREADY_EXISTS / REQUEST_ID_REUSED.
func TestCreateImportRequestIDIsIdempotent(t *testing.T) {
	s := newStack(t, stackOptions{})
	const requestID = "import-request-1"
	file := participantsFile(256<<10, "idem")
	md := &eeov1.ImportMetadata{ImportType: "participants", FileName: "idem.csv", RequestId: requestID}

	// Both streams send their metadata and first chunk, and only then the
	// rest, so neither can have finished before the other has started.
	const chunk = 32 << 10
	type result struct {
		imp *eeov1.Import
		err error
	}
	results := make([]result, 2)
	var started sync.WaitGroup
	started.Add(len(results))
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i].imp, results[i].err = s.uploadInTwoParts(t, md, file, chunk, func() { started.Done(); <-release })
		})
	}
	started.Wait()
	close(release)
	wg.Wait()

	var id string
	for i, r := range results {
		t.Logf("concurrent upload %d: import %q, %v", i, r.imp.GetImportId(), r.err)
		if r.err == nil {
			if id != "" && r.imp.GetImportId() != id {
				t.Fatalf("concurrent uploads created two imports: %s and %s", id, r.imp.GetImportId())
			}
			id = r.imp.GetImportId()
			continue
		}
		t.Errorf("concurrent upload %d: %v; want the import", i, r.err)
	}
	if id == "" {
		t.Fatalf("neither concurrent upload succeeded: %v; %v", results[0].err, results[1].err)
	}
	wantImportsCreated := func(what string) {
		t.Helper()
		if n := s.sb.Stats().ImportsCreated; n != 1 {
			t.Fatalf("%s: sandbox created %d imports, want 1", what, n)
		}
	}
	wantImportsCreated("after the concurrent uploads")

	// Retries once the first has finished: the original import, whether the
	// gateway must hash the file to tell (no expected_sha256) or not.
	imp, err := s.upload(t.Context(), md, file, chunk)
	if err != nil || imp.GetImportId() != id {
		t.Fatalf("gRPC retry: %v, %v; want import %s", imp.GetImportId(), err, id)
	}
	withSum := &eeov1.ImportMetadata{ImportType: "participants", FileName: "idem.csv", RequestId: requestID, ExpectedSha256: sha256Hex(file)}
	if imp, err = s.upload(t.Context(), withSum, file, chunk); err != nil || imp.GetImportId() != id {
		t.Fatalf("gRPC retry with expected_sha256: %v, %v; want import %s", imp.GetImportId(), err, id)
	}
	code, _, body := s.restUpload(t, url.Values{"importType": {"participants"}, "fileName": {"idem.csv"}, "requestId": {requestID}}, file)
	var viaREST eeov1.CreateImportResponse
	decodeREST(t, "REST retry", code, body, &viaREST)
	if viaREST.GetDataImport().GetImportId() != id {
		t.Fatalf("REST retry returned import %s, want %s", viaREST.GetDataImport().GetImportId(), id)
	}
	wantImportsCreated("after the retries")

	other := participantsFile(256<<10, "other")
	for _, c := range []struct {
		name string
		md   *eeov1.ImportMetadata
		file []byte
	}{
		{"different file", md, other},
		{"different file with expected_sha256", &eeov1.ImportMetadata{ImportType: "participants", FileName: "idem.csv", RequestId: requestID, ExpectedSha256: sha256Hex(other)}, other},
		{"different file name", &eeov1.ImportMetadata{ImportType: "participants", FileName: "renamed.csv", RequestId: requestID}, file},
	} {
		_, err := s.upload(t.Context(), c.md, c.file, chunk)
		testkit.WantStatus(t, err, codes.AlreadyExists, server.ReasonRequestIDReused)
	}
	code, _, body = s.restUpload(t, url.Values{"importType": {"participants"}, "fileName": {"idem.csv"}, "requestId": {requestID}}, other)
	wantREST(t, "REST reused requestId", code, body, http.StatusConflict, server.ReasonRequestIDReused)
	wantImportsCreated("after reusing the request id")

	list, err := s.files.ListImports(t.Context(), &eeov1.ListImportsRequest{Account: account})
	if err != nil {
		t.Fatalf("ListImports: %v", err)
	}
	if len(list.GetImports()) != 1 || list.GetImports()[0].GetImportId() != id {
		t.Errorf("ListImports = %v, want only %s", list.GetImports(), id)
	}
}

// uploadInTwoParts is upload with a pause: it sends the metadata and the
// first chunk, calls between, then sends the rest.
func (s *stack) uploadInTwoParts(t *testing.T, md *eeov1.ImportMetadata, data []byte, chunkSize int, between func()) (*eeov1.Import, error) {
	stream, err := s.files.CreateImport(t.Context())
	if err != nil {
		between()
		return nil, err
	}
	md = &eeov1.ImportMetadata{Account: account, ImportType: md.GetImportType(), FileName: md.GetFileName(),
		RequestId: md.GetRequestId(), ExpectedSha256: md.GetExpectedSha256()}
	sendErr := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}})
	for off := 0; off < len(data); off += chunkSize {
		if sendErr == nil {
			sendErr = stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: data[off:min(off+chunkSize, len(data))]}})
		}
		if off == 0 {
			between()
		}
	}
	resp, err := stream.CloseAndRecv()
	return resp.GetDataImport(), err
}

// TestCreateReportRequestIDIsIdempotent proves the same for reports: a
// retry with the same request_id and request returns the original report
// (over gRPC and REST) and creates nothing, a different request with that
// id is ALREADY_EXISTS / REQUEST_ID_REUSED, and a new id creates anew.
func TestCreateReportRequestIDIsIdempotent(t *testing.T) {
	s := newStack(t, stackOptions{})
	req := &eeov1.CreateReportRequest{
		Account: account, ReportType: "grants", RequestId: "report-request-1",
		Parameters: map[string]string{"as_of": "2031-01-31", "rows": "10"},
	}
	create := func() (*eeov1.Report, error) {
		resp, err := s.files.CreateReport(t.Context(), req)
		return resp.GetReport(), err
	}
	wantReportsCreated := func(what string, want int64) {
		t.Helper()
		if n := s.sb.Stats().ReportsCreated; n != want {
			t.Fatalf("%s: sandbox created %d reports, want %d", what, n, want)
		}
	}

	first, err := create()
	if err != nil {
		t.Fatalf("CreateReport: %v", err)
	}
	id := first.GetReportId()
	if id == "" || first.GetRequestId() != req.GetRequestId() {
		t.Fatalf("CreateReport = %v; want an id and request_id %s", first, req.GetRequestId())
	}
	wantReportsCreated("after CreateReport", 1)

	again, err := create()
	if err != nil || again.GetReportId() != id {
		t.Fatalf("gRPC retry: %v, %v; want report %s", again.GetReportId(), err, id)
	}
	code, _, body := s.restJSON(t, http.MethodPost, "/v1/accounts/"+account+"/reports",
		`{"reportType":"grants","requestId":"report-request-1","parameters":{"rows":"10","as_of":"2031-01-31"}}`)
	var viaREST eeov1.CreateReportResponse
	decodeREST(t, "REST retry", code, body, &viaREST)
	if viaREST.GetReport().GetReportId() != id {
		t.Fatalf("REST retry returned report %s, want %s", viaREST.GetReport().GetReportId(), id)
	}
	wantReportsCreated("after the retries", 1)

	req.Parameters["rows"] = "11"
	_, err = create()
	testkit.WantStatus(t, err, codes.AlreadyExists, server.ReasonRequestIDReused)
	code, _, body = s.restJSON(t, http.MethodPost, "/v1/accounts/"+account+"/reports",
		`{"reportType":"participants","requestId":"report-request-1"}`)
	wantREST(t, "REST reused requestId with another type", code, body, http.StatusConflict, server.ReasonRequestIDReused)
	wantReportsCreated("after reusing the request id", 1)

	req.RequestId = "report-request-2"
	fresh, err := create()
	if err != nil || fresh.GetReportId() == "" || fresh.GetReportId() == id {
		t.Fatalf("CreateReport with a new request_id: %v, %v; want a new report", fresh.GetReportId(), err)
	}
	wantReportsCreated("after a new request id", 2)
}
