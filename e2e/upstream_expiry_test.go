package e2e_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// TestTokenExpiresAtEEOMidSession proves the invalidate-and-retry path on
// every kind of call: EEO alone ages the cached token past its idle limit
// (the cache's clock does not move, so the cache still trusts it), and the
// next GetImport, ListImports, CreateReport and CreateImport (gRPC stream
// and REST) each succeed after exactly one 401 and one new token request.
// For uploads this proves the 100-continue path: EEO's 401 arrives before
// the body is sent, so the body is still whole for the retry, and exactly
// one import, of exactly the uploaded bytes, is created.
func TestTokenExpiresAtEEOMidSession(t *testing.T) {
	cacheClock, eeoClock := testkit.NewClock(), testkit.NewClock()
	s := newStack(t, stackOptions{Clock: cacheClock, SandboxClock: eeoClock})

	first, err := s.upload(t.Context(), &eeov1.ImportMetadata{ImportType: "participants", FileName: "first.csv"}, mixedParticipants, 64)
	if err != nil {
		t.Fatalf("first CreateImport: %v", err)
	}
	s.wantTokenRequests(t, 1)

	type call struct {
		name    string
		uploads []byte // the file, for uploads
		do      func(t *testing.T, file []byte) (importID string)
	}
	calls := []call{
		{name: "GetImport", do: func(t *testing.T, _ []byte) string {
			if got := s.getImport(t, first.GetImportId()); got.GetImportId() != first.GetImportId() {
				t.Fatalf("GetImport returned %s, want %s", got.GetImportId(), first.GetImportId())
			}
			return ""
		}},
		{name: "ListImports", do: func(t *testing.T, _ []byte) string {
			resp, err := s.files.ListImports(t.Context(), &eeov1.ListImportsRequest{Account: account})
			if err != nil {
				t.Fatalf("ListImports: %v", err)
			}
			if !slices.ContainsFunc(resp.GetImports(), func(i *eeov1.Import) bool { return i.GetImportId() == first.GetImportId() }) {
				t.Fatalf("ListImports lacks %s", first.GetImportId())
			}
			return ""
		}},
		{name: "CreateReport", do: func(t *testing.T, _ []byte) string {
			resp, err := s.files.CreateReport(t.Context(), &eeov1.CreateReportRequest{
				Account: account, ReportType: "participants", Parameters: map[string]string{"rows": "10"},
			})
			if err != nil || resp.GetReport().GetReportId() == "" {
				t.Fatalf("CreateReport: %v, %v", resp, err)
			}
			return ""
		}},
		{name: "CreateImport over gRPC", uploads: participantsFile(1<<20, "grpc"), do: func(t *testing.T, file []byte) string {
			imp, err := s.upload(t.Context(), &eeov1.ImportMetadata{
				ImportType: "participants", FileName: "big.csv", RequestId: "expiry-grpc",
			}, file, 64<<10)
			if err != nil {
				t.Fatalf("CreateImport: %v", err)
			}
			return imp.GetImportId()
		}},
		{name: "CreateImport over REST", uploads: participantsFile(1<<20, "rest"), do: func(t *testing.T, file []byte) string {
			code, _, body := s.restUpload(t, url.Values{
				"importType": {"participants"}, "fileName": {"big.csv"}, "expectedSha256": {sha256Hex(file)},
			}, file)
			var resp eeov1.CreateImportResponse
			decodeREST(t, "REST CreateImport", code, body, &resp)
			return resp.GetDataImport().GetImportId()
		}},
	}
	retried := func(t *testing.T) int {
		return s.countLogs(t, "eeo rejected the access token; retrying with a new one", map[string]string{"op": "create import"})
	}
	midUpload := func(t *testing.T) int {
		return s.countLogs(t, "eeo rejected the access token after the upload started", nil)
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			retriedBefore, midUploadBefore := retried(t), midUpload(t)
			before := s.sb.Stats()
			eeoClock.Advance(3599 * time.Second) // idle at EEO; the cache's clock stands still
			id := c.do(t, c.uploads)
			after := s.sb.Stats()
			if d := after.RejectedTokens - before.RejectedTokens; d != 1 {
				t.Fatalf("EEO rejected %d tokens during the call, want 1: the test's premise (an expired token) does not hold", d)
			}
			if d := after.TokenRequests - before.TokenRequests; d != 1 {
				t.Errorf("the call cost %d token requests, want exactly 1", d)
			}
			if c.uploads == nil {
				return
			}
			if d := after.ImportsCreated - before.ImportsCreated; d != 1 {
				t.Errorf("the upload created %d imports, want exactly 1", d)
			}
			if d := after.UploadsAborted - before.UploadsAborted; d != 0 {
				t.Errorf("EEO saw %d aborted uploads: the rejected attempt sent its body", d)
			}
			imp := s.getImport(t, id)
			if imp.GetSha256() != sha256Hex(c.uploads) || imp.GetSizeBytes() != int64(len(c.uploads)) {
				t.Errorf("EEO holds %d bytes with SHA-256 %s, want the whole file: %d bytes with %s",
					imp.GetSizeBytes(), imp.GetSha256(), len(c.uploads), sha256Hex(c.uploads))
			}
			if d := retried(t) - retriedBefore; d != 1 {
				t.Errorf("%d log lines of a retried upload, want 1", d)
			}
			if d := midUpload(t) - midUploadBefore; d != 0 {
				t.Errorf("%d log lines say the upload's body was sent before EEO's 401", d)
			}
		})
	}
	if n := s.sb.Stats().ImportsCreated; n != 3 {
		t.Errorf("sandbox created %d imports in all, want 3", n)
	}
}
