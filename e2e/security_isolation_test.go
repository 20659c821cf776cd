package e2e_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
)

// TestSecurityAccountIsolationOnASharedEEOClient is the cross-account
// attack: two accounts reach EEO through the same client (which config
// validation refuses, but a gateway cannot rely on EEO telling them apart
// anyway), and a caller allowed only on "other" asks, through "other", for
// the imports and reports created on "demo". Every read, cancel, watch and
// download is NOT_FOUND over gRPC and REST, the listings leave them out,
// nothing is cancelled at EEO, and ListAccounts shows the caller only its
// own account.
func TestSecurityAccountIsolationOnASharedEEOClient(t *testing.T) {
	cfg := &access.Config{}
	all := []access.Permission{access.PermImportsRead, access.PermImportsWrite, access.PermReportsRead, access.PermReportsWrite, access.PermAccountsList}
	victimKey := grant(cfg, "victim", []string{account}, all...)
	attackerKey := grant(cfg, "attacker", []string{otherAccount}, all...)
	s := newStack(t, stackOptions{Access: cfg, SecondAccount: true, SharedClient: true})
	victim, attacker := s.as(t, view{Bearer: victimKey}), s.as(t, view{Bearer: attackerKey})

	imp, err := victim.upload(t.Context(), &eeov1.ImportMetadata{Account: account, ImportType: "participants", FileName: "payroll.csv"}, mixedParticipants, 64)
	if err != nil {
		t.Fatalf("victim CreateImport: %v", err)
	}
	rep, err := victim.files.CreateReport(t.Context(), &eeov1.CreateReportRequest{Account: account, ReportType: "grants",
		Parameters: map[string]string{"as_of": "2026-01-31"}})
	if err != nil {
		t.Fatalf("victim CreateReport: %v", err)
	}
	impID, repID := imp.GetImportId(), rep.GetReport().GetReportId()

	ctx := t.Context()
	notFound := func(what string, err error, reason string) {
		t.Helper()
		if _, e := grpcRefusal(err, codes.NotFound, reason); e != nil {
			t.Errorf("attacker gRPC %s of the victim's object through %q: %v", what, otherAccount, e)
		}
	}
	_, err = attacker.files.GetImport(ctx, &eeov1.GetImportRequest{Account: otherAccount, ImportId: impID})
	notFound("GetImport", err, server.ReasonImportNotFound)
	_, err = attacker.files.ListImportErrors(ctx, &eeov1.ListImportErrorsRequest{Account: otherAccount, ImportId: impID})
	notFound("ListImportErrors", err, server.ReasonImportNotFound)
	_, err = attacker.files.CancelImport(ctx, &eeov1.CancelImportRequest{Account: otherAccount, ImportId: impID})
	notFound("CancelImport", err, server.ReasonImportNotFound)
	if w, err := attacker.files.WatchImport(ctx, &eeov1.WatchImportRequest{Account: otherAccount, ImportId: impID}); err == nil {
		_, err = w.Recv()
		notFound("WatchImport", err, server.ReasonImportNotFound)
	}
	_, err = attacker.files.GetReport(ctx, &eeov1.GetReportRequest{Account: otherAccount, ReportId: repID})
	notFound("GetReport", err, server.ReasonReportNotFound)
	_, err = attacker.files.CancelReport(ctx, &eeov1.CancelReportRequest{Account: otherAccount, ReportId: repID})
	notFound("CancelReport", err, server.ReasonReportNotFound)
	if w, err := attacker.files.WatchReport(ctx, &eeov1.WatchReportRequest{Account: otherAccount, ReportId: repID}); err == nil {
		_, err = w.Recv()
		notFound("WatchReport", err, server.ReasonReportNotFound)
	}
	if d, err := attacker.files.DownloadReport(ctx, &eeov1.DownloadReportRequest{Account: otherAccount, ReportId: repID}); err == nil {
		_, err = d.Recv()
		notFound("DownloadReport", err, server.ReasonReportNotFound)
	}

	base := "/v1/accounts/" + otherAccount
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, base + "/imports/" + impID},
		{http.MethodGet, base + "/imports/" + impID + "/errors"},
		{http.MethodPost, base + "/imports/" + impID + ":cancel"},
		{http.MethodGet, base + "/imports/" + impID + ":watch"},
		{http.MethodGet, base + "/reports/" + repID},
		{http.MethodPost, base + "/reports/" + repID + ":cancel"},
		{http.MethodGet, base + "/reports/" + repID + ":watch"},
		{http.MethodGet, base + "/reports/" + repID + ":download"},
	} {
		code, _, body := attacker.rest(t, r.method, r.path)
		reason, _, err := restRefusal(body)
		if code != http.StatusNotFound || err != nil || (reason != server.ReasonImportNotFound && reason != server.ReasonReportNotFound) {
			t.Errorf("attacker REST %s %s: HTTP %d reason %q (%v), want 404 *_NOT_FOUND", r.method, r.path, code, reason, err)
		}
	}

	imps, err := attacker.files.ListImports(ctx, &eeov1.ListImportsRequest{Account: otherAccount})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range imps.GetImports() {
		if i.GetImportId() == impID {
			t.Errorf("attacker ListImports(%s) lists the victim's import", otherAccount)
		}
	}
	reps, err := attacker.files.ListReports(ctx, &eeov1.ListReportsRequest{Account: otherAccount})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps.GetReports() {
		if r.GetReportId() == repID {
			t.Errorf("attacker ListReports(%s) lists the victim's report", otherAccount)
		}
	}

	// The victim still sees its objects, not cancelled.
	got, err := victim.files.GetImport(ctx, &eeov1.GetImportRequest{Account: account, ImportId: impID})
	if err != nil || got.GetDataImport().GetState() == eeov1.ImportState_IMPORT_STATE_CANCELLED {
		t.Errorf("victim GetImport after the attack: %v, %v", got.GetDataImport().GetState(), err)
	}
	gotRep, err := victim.files.GetReport(ctx, &eeov1.GetReportRequest{Account: account, ReportId: repID})
	if err != nil || gotRep.GetReport().GetState() == eeov1.ReportState_REPORT_STATE_CANCELLED {
		t.Errorf("victim GetReport after the attack: %v, %v", gotRep.GetReport().GetState(), err)
	}

	// ListAccounts shows the attacker its own account only, not the
	// victim's token state, fingerprint or last error. The accounts are
	// filtered before paging: a page of one holds the attacker's account,
	// which sorts after the victim's, and ends the list, where a page
	// trimmed after paging would be empty with a next_page_token.
	for _, size := range []int32{0, 1} {
		accts, err := attacker.tokens.ListAccounts(ctx, &eeov1.ListAccountsRequest{PageSize: size})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range accts.GetAccounts() {
			names = append(names, a.GetName())
		}
		if !slices.Equal(names, []string{otherAccount}) || accts.GetNextPageToken() != "" {
			t.Errorf("attacker ListAccounts page_size %d: %v next %q, want [%s] and the end", size, names, accts.GetNextPageToken(), otherAccount)
		}
		code, _, body := attacker.rest(t, http.MethodGet, fmt.Sprintf("/v1/accounts?pageSize=%d", size))
		var viaREST eeov1.ListAccountsResponse
		decodeREST(t, "attacker REST ListAccounts", code, body, &viaREST)
		if n := len(viaREST.GetAccounts()); n != 1 || viaREST.GetAccounts()[0].GetName() != otherAccount || viaREST.GetNextPageToken() != "" {
			t.Errorf("attacker REST ListAccounts pageSize %d: %v next %q, want only %s and the end", size, viaREST.GetAccounts(), viaREST.GetNextPageToken(), otherAccount)
		}
	}
}
