package e2e_test

import (
	"errors"
	"io"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
)

// TestImportWithRowErrorsOverGRPCAndREST proves the import path end to end
// for each way in — a gRPC client stream in several chunks, a raw REST body
// and a REST multipart part — with expected_sha256 checked: EEO receives the
// exact bytes (same SHA-256 and size), validates them (3 rows accepted, 2
// rejected, each error naming its row and column) and the import moves
// QUEUED → VALIDATING → PROCESSING → COMPLETED as EEO's clock advances,
// which WatchImport reports state by state before ending.
func TestImportWithRowErrorsOverGRPCAndREST(t *testing.T) {
	clock := testkit.NewClock()
	const step = time.Minute
	s := newStack(t, stackOptions{Clock: clock, Sandbox: sandbox.Options{StepDuration: step}})
	sum := sha256Hex(mixedParticipants)

	viaGRPC, err := s.upload(t.Context(), &eeov1.ImportMetadata{
		ImportType: "participants", FileName: "grpc.csv", RequestId: "import-grpc", ExpectedSha256: sum,
	}, mixedParticipants, 37)
	if err != nil {
		t.Fatalf("gRPC CreateImport: %v", err)
	}

	code, _, body := s.restUpload(t, url.Values{
		"importType": {"participants"}, "fileName": {"raw.csv"}, "requestId": {"import-raw"}, "expectedSha256": {sum},
	}, mixedParticipants)
	var raw eeov1.CreateImportResponse
	decodeREST(t, "REST raw CreateImport", code, body, &raw)

	code, _, body = s.restMultipartUpload(t, url.Values{
		"importType": {"participants"}, "requestId": {"import-multipart"}, "expectedSha256": {sum},
	}, "multipart.csv", mixedParticipants)
	var multi eeov1.CreateImportResponse
	decodeREST(t, "REST multipart CreateImport", code, body, &multi)

	created := []struct {
		how, fileName, requestID string
		imp                      *eeov1.Import
	}{
		{"gRPC", "grpc.csv", "import-grpc", viaGRPC},
		{"REST raw", "raw.csv", "import-raw", raw.GetDataImport()},
		{"REST multipart", "multipart.csv", "import-multipart", multi.GetDataImport()},
	}
	var ids []string
	for _, c := range created {
		imp := c.imp
		if imp.GetImportId() == "" || slices.Contains(ids, imp.GetImportId()) {
			t.Fatalf("%s: import id %q is empty or repeated (%v)", c.how, imp.GetImportId(), ids)
		}
		ids = append(ids, imp.GetImportId())
		if imp.GetState() != eeov1.ImportState_IMPORT_STATE_QUEUED {
			t.Errorf("%s: new import is %v, want QUEUED", c.how, imp.GetState())
		}
		if imp.GetSha256() != sum || imp.GetSizeBytes() != int64(len(mixedParticipants)) {
			t.Errorf("%s: EEO holds %d bytes with SHA-256 %s, want %d bytes with %s",
				c.how, imp.GetSizeBytes(), imp.GetSha256(), len(mixedParticipants), sum)
		}
		if imp.GetAccount() != account || imp.GetImportType() != "participants" || imp.GetFileName() != c.fileName ||
			imp.GetRequestId() != c.requestID || imp.GetContentType() != "text/csv" {
			t.Errorf("%s: import %v does not carry the upload's metadata", c.how, imp)
		}
		// Validation results are reported only from PROCESSING on.
		if imp.GetRowCount() != 0 {
			t.Errorf("%s: QUEUED import already reports %d rows", c.how, imp.GetRowCount())
		}
	}
	if n := s.sb.Stats().ImportsCreated; n != 3 {
		t.Fatalf("sandbox created %d imports, want 3", n)
	}

	// Watch the gRPC import through its lifecycle, one step of EEO's clock
	// at a time. The three imports share the clock, so all age together.
	watch, err := s.files.WatchImport(t.Context(), &eeov1.WatchImportRequest{Account: account, ImportId: viaGRPC.GetImportId()})
	if err != nil {
		t.Fatalf("WatchImport: %v", err)
	}
	first, err := watch.Recv()
	if err != nil || first.GetDataImport().GetState() != eeov1.ImportState_IMPORT_STATE_QUEUED {
		t.Fatalf("WatchImport first message: %v, %v; want QUEUED", first.GetDataImport().GetState(), err)
	}
	for _, want := range []eeov1.ImportState{
		eeov1.ImportState_IMPORT_STATE_VALIDATING,
		eeov1.ImportState_IMPORT_STATE_PROCESSING,
		eeov1.ImportState_IMPORT_STATE_COMPLETED,
	} {
		clock.Advance(step)
		got, err := watch.Recv()
		if err != nil {
			t.Fatalf("WatchImport waiting for %v: %v", want, err)
		}
		if got.GetDataImport().GetState() != want {
			t.Fatalf("WatchImport sent %v after one more step, want %v", got.GetDataImport().GetState(), want)
		}
		if got.GetDataImport().GetImportId() != viaGRPC.GetImportId() {
			t.Fatalf("WatchImport sent import %s, want %s", got.GetDataImport().GetImportId(), viaGRPC.GetImportId())
		}
	}
	if msg, err := watch.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("WatchImport after COMPLETED: %v, %v; want the stream to end", msg, err)
	}

	for _, c := range created {
		id := c.imp.GetImportId()
		imp := s.getImport(t, id)
		if imp.GetState() != eeov1.ImportState_IMPORT_STATE_COMPLETED || imp.GetRowCount() != 5 ||
			imp.GetAcceptedRowCount() != 3 || imp.GetRejectedRowCount() != 2 || imp.GetSha256() != sum {
			t.Errorf("%s: after 3 steps GetImport = %v; want COMPLETED, rows 5/3/2, sha256 %s", c.how, imp, sum)
		}

		resp, err := s.files.ListImportErrors(t.Context(), &eeov1.ListImportErrorsRequest{Account: account, ImportId: id})
		if err != nil {
			t.Fatalf("%s: ListImportErrors: %v", c.how, err)
		}
		checkRowErrors(t, c.how+" gRPC ListImportErrors", resp)

		code, _, body := s.rest(t, "GET", importsPath+"/"+id+"/errors")
		var viaREST eeov1.ListImportErrorsResponse
		decodeREST(t, c.how+" REST ListImportErrors", code, body, &viaREST)
		checkRowErrors(t, c.how+" REST ListImportErrors", &viaREST)
	}

	list, err := s.files.ListImports(t.Context(), &eeov1.ListImportsRequest{Account: account, State: eeov1.ImportState_IMPORT_STATE_COMPLETED})
	if err != nil {
		t.Fatalf("ListImports: %v", err)
	}
	var listed []string
	for _, imp := range list.GetImports() {
		listed = append(listed, imp.GetImportId())
	}
	slices.Reverse(listed) // newest first
	if !slices.Equal(listed, ids) {
		t.Errorf("ListImports(COMPLETED) = %v (oldest first), want %v", listed, ids)
	}
}

// checkRowErrors fails the test unless resp lists exactly
// mixedParticipantsErrors, each with a message.
func checkRowErrors(t *testing.T, what string, resp *eeov1.ListImportErrorsResponse) {
	t.Helper()
	errs := resp.GetErrors()
	if len(errs) != len(mixedParticipantsErrors) || resp.GetNextPageToken() != "" {
		t.Fatalf("%s: %d errors (next page %q), want exactly %d: %v", what, len(errs), resp.GetNextPageToken(), len(mixedParticipantsErrors), errs)
	}
	for i, want := range mixedParticipantsErrors {
		if errs[i].GetRow() != want.row || errs[i].GetColumn() != want.column || errs[i].GetMessage() == "" {
			t.Errorf("%s: error %d = %v, want row %d column %s with a message", what, i, errs[i], want.row, want.column)
		}
	}
}
