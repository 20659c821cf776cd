package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/docsui/docsuitest"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
	"google.golang.org/protobuf/encoding/protojson"
)

// Swagger UI's ids of the operations the test uses.
const (
	docsGetToken     = "TokenService-TokenService_GetToken"
	docsCreateImport = "ImportReportService-ImportReportService_CreateImport"
)

// TestDocsPageGetsATokenInABrowser opens /docs in headless Chromium against
// a gateway with one API key allowed everything, as `serve --dev` has, and
// does what a new user does: find the TokenService and ImportReportService
// operations, "Authorize" with the key (pasted without "Bearer "), "Try it
// out" on GetToken, then upload a file through the hand-described upload
// route. The page must get the cached token and create the import, load
// nothing from outside the gateway, and run under its
// Content-Security-Policy without a violation. (cmd/eeo-gateway's
// TestServeDevDocsPageInABrowser does the token part against serve --dev.)
func TestDocsPageGetsATokenInABrowser(t *testing.T) {
	cfg := &access.Config{}
	key := grant(cfg, "dev", []string{access.AllAccounts}, permission.All()...)
	s := newStack(t, stackOptions{Access: cfg})

	page := docsuitest.Open(t, s.restURL, docsGetToken, docsCreateImport)
	page.Authorize(key)
	status, body := page.TryItOut(docsGetToken, map[string]string{"account": account}, "")
	if status != "200" {
		t.Fatalf("GetToken through the docs page: status %q", status) // the body may hold a token
	}
	var got eeov1.GetTokenResponse
	if err := protojson.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("response body (%d bytes) is not a GetTokenResponse: %v", len(body), err)
	}
	want := s.as(t, view{Bearer: key}).mustToken(t)
	if got.GetToken().GetAccessToken() != want.GetAccessToken() || want.GetAccessToken() == "" {
		t.Errorf("the page got token %s, gRPC %s: not the cached token", got.GetToken().GetFingerprint(), want.GetFingerprint())
	}

	// The upload route, described by hand in proto/openapi, works from the
	// page too: a multipart file part plus query parameters.
	csv := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(csv, []byte(participantsHeader+"P001,Ada,Lovelace,ada@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	status, body = page.TryItOut(docsCreateImport, map[string]string{"account": account, "importType": "participants"}, csv)
	var created eeov1.CreateImportResponse
	if status != "200" || protojson.Unmarshal([]byte(body), &created) != nil || created.GetDataImport().GetFileName() != "people.csv" {
		t.Fatalf("upload through the docs page: status %q, body %s", status, body)
	}

	var sawDoc, sawToken, sawUpload bool
	for _, u := range page.Close() {
		sawDoc = sawDoc || strings.HasSuffix(u, "/openapi.json")
		sawToken = sawToken || strings.HasSuffix(u, "/v1/accounts/"+account+"/token")
		sawUpload = sawUpload || strings.Contains(u, "/v1/accounts/"+account+"/imports?")
	}
	if !sawDoc || !sawToken || !sawUpload {
		t.Errorf("requests seen: openapi.json %v, token %v, upload %v; want all", sawDoc, sawToken, sawUpload)
	}
}
