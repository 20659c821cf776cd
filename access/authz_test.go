package access_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/grpc/codes"
)

// authzEnv has three callers: reporter (reports only, any account),
// payroll (tokens and imports on account A only) and nobody (no policy).
func authzEnv(t *testing.T) (e *env, reporter, payroll, nobody context.Context) {
	t.Helper()
	rKey, r := apiKey(t, "reporter")
	pKey, p := apiKey(t, "payroll")
	nKey, n := apiKey(t, "nobody")
	e = newEnv(t, access.Config{
		APIKeys: []access.APIKey{r, p, n},
		Policies: []access.Policy{
			{Caller: keyID("reporter"), Accounts: []string{"*"}, Permissions: []access.Permission{access.PermReportsRead, access.PermReportsWrite}},
			{Caller: keyID("payroll"), Accounts: []string{"A"}, Permissions: []access.Permission{access.PermTokenGet, access.PermImportsWrite, access.PermImportsRead, access.PermAccountsList}},
		},
	})
	ctx := testCtx(t)
	return e, bearer(ctx, rKey), bearer(ctx, pKey), bearer(ctx, nKey)
}

// wantDenied checks a CALLER_PERMISSION_DENIED error and its metadata.
func wantDenied(t *testing.T, err error, caller string, perm access.Permission, account string) {
	t.Helper()
	st := testkit.WantStatus(t, err, codes.PermissionDenied, access.ReasonPermissionDenied)
	md := testkit.ErrorInfo(t, st.Err()).GetMetadata()
	if md["caller"] != caller || md["permission"] != string(perm) || md["account"] != account {
		t.Fatalf("ErrorInfo metadata %v, want caller=%s permission=%s account=%s", md, caller, perm, account)
	}
}

func TestPermissionDenied(t *testing.T) {
	e, reporter, payroll, nobody := authzEnv(t)

	// A caller allowed only reports asks for a token.
	_, err := e.tc.GetToken(reporter, &eeov1.GetTokenRequest{Account: "A"})
	wantDenied(t, err, keyID("reporter"), access.PermTokenGet, "A")
	// …but may use reports on any account.
	if _, err := e.fc.GetReport(reporter, &eeov1.GetReportRequest{Account: "Z", ReportId: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fc.CreateReport(reporter, &eeov1.CreateReportRequest{Account: "Z", ReportType: "grants"}); err != nil {
		t.Fatal(err)
	}

	// A caller allowed account A asks for account B.
	if _, err := e.tc.GetToken(payroll, &eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.tc.GetToken(payroll, &eeov1.GetTokenRequest{Account: "B"})
	wantDenied(t, err, keyID("payroll"), access.PermTokenGet, "B")
	_, err = e.tc.GetToken(payroll, &eeov1.GetTokenRequest{Account: ""})
	wantDenied(t, err, keyID("payroll"), access.PermTokenGet, "")
	_, err = e.fc.GetImport(payroll, &eeov1.GetImportRequest{Account: "B", ImportId: "i"})
	wantDenied(t, err, keyID("payroll"), access.PermImportsRead, "B")
	// Permissions not granted are denied even on an allowed account.
	_, err = e.tc.RefreshToken(payroll, &eeov1.RefreshTokenRequest{Account: "A"})
	wantDenied(t, err, keyID("payroll"), access.PermTokenRefresh, "A")
	_, err = e.tc.InvalidateToken(payroll, &eeov1.InvalidateTokenRequest{Account: "A"})
	wantDenied(t, err, keyID("payroll"), access.PermTokenInvalidate, "A")

	// ListAccounts names no account.
	if _, err := e.tc.ListAccounts(payroll, &eeov1.ListAccountsRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.tc.ListAccounts(reporter, &eeov1.ListAccountsRequest{})
	wantDenied(t, err, keyID("reporter"), access.PermAccountsList, "")

	// A caller without a policy may do nothing.
	_, err = e.tc.ListAccounts(nobody, &eeov1.ListAccountsRequest{})
	wantDenied(t, err, keyID("nobody"), access.PermAccountsList, "")
	_, err = e.fc.ListReports(nobody, &eeov1.ListReportsRequest{Account: "A"})
	wantDenied(t, err, keyID("nobody"), access.PermReportsRead, "A")

	// Handlers ran only for the allowed calls.
	if got := e.tokens.count(); got != 2 {
		t.Fatalf("token handlers ran %d times, want 2", got)
	}
	if got := e.files.count(); got != 2 {
		t.Fatalf("file handlers ran %d times, want 2", got)
	}
}

// upload runs a CreateImport stream: metadata for account, then chunks.
func upload(ctx context.Context, c eeov1.ImportReportServiceClient, account string, chunks int) (*eeov1.CreateImportResponse, error) {
	stream, err := c.CreateImport(ctx)
	if err != nil {
		return nil, err
	}
	send := func(m *eeov1.CreateImportRequest) error {
		if err := stream.Send(m); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	}
	if err := send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: &eeov1.ImportMetadata{
		Account: account, ImportType: "participants", FileName: "people.csv", RequestId: "upload-1",
	}}}); err != nil {
		return nil, err
	}
	for range chunks {
		// io.EOF from Send means the server has already answered;
		// CloseAndRecv says how.
		if err := send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: []byte("1,Ada,Lovelace\n")}}); err != nil {
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}

func TestCreateImportAuthorizedOnFirstMessage(t *testing.T) {
	e, reporter, payroll, _ := authzEnv(t)

	// Forbidden account: refused before the handler sees anything.
	_, err := upload(payroll, e.fc, "B", 5)
	wantDenied(t, err, keyID("payroll"), access.PermImportsWrite, "B")
	if e.files.count() != 0 || e.files.chunks.Load() != 0 {
		t.Fatalf("handler ran (%d) or saw chunks (%d) for a forbidden upload", e.files.count(), e.files.chunks.Load())
	}
	// A caller without imports:write at all is refused before the first
	// message is even read.
	_, err = upload(reporter, e.fc, "A", 5)
	wantDenied(t, err, keyID("reporter"), access.PermImportsWrite, "")
	if e.files.count() != 0 || e.files.chunks.Load() != 0 {
		t.Fatal("handler ran for a caller without imports:write")
	}

	// Allowed account: the handler gets the metadata, then every chunk.
	resp, err := upload(payroll, e.fc, "A", 5)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetDataImport().GetAccount() != "A" || resp.GetDataImport().GetRequestId() != "upload-1" {
		t.Fatalf("handler did not get the first message intact: %v", resp)
	}
	if got := e.files.chunks.Load(); got != 5 {
		t.Fatalf("handler saw %d chunks, want 5", got)
	}
	if got := e.files.last(); got != (access.Caller{Name: keyID("payroll"), Via: access.ViaAPIKey}) {
		t.Fatalf("handler saw caller %+v", got)
	}
}

func TestCreateImportWithoutMessages(t *testing.T) {
	e, _, payroll, _ := authzEnv(t)
	stream, err := e.fc.CreateImport(payroll)
	if err != nil {
		t.Fatal(err)
	}
	_, err = stream.CloseAndRecv()
	testkit.WantStatus(t, err, codes.InvalidArgument, access.ReasonInvalidArgument)
	if e.files.count() != 0 {
		t.Fatal("handler ran")
	}
}

func TestServerStreamsAuthorizedOnRequest(t *testing.T) {
	e, reporter, payroll, _ := authzEnv(t)

	recvAll := func(recv func() error) error {
		for {
			if err := recv(); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
		}
	}

	dl, err := e.fc.DownloadReport(payroll, &eeov1.DownloadReportRequest{Account: "A", ReportId: "r"})
	if err != nil {
		t.Fatal(err)
	}
	err = recvAll(func() error { _, err := dl.Recv(); return err })
	wantDenied(t, err, keyID("payroll"), access.PermReportsRead, "")

	dl, err = e.fc.DownloadReport(reporter, &eeov1.DownloadReportRequest{Account: "A", ReportId: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if err := recvAll(func() error { _, err := dl.Recv(); return err }); err != nil {
		t.Fatal(err)
	}

	w, err := e.fc.WatchImport(payroll, &eeov1.WatchImportRequest{Account: "B", ImportId: "i"})
	if err != nil {
		t.Fatal(err)
	}
	err = recvAll(func() error { _, err := w.Recv(); return err })
	wantDenied(t, err, keyID("payroll"), access.PermImportsRead, "B")

	w, err = e.fc.WatchImport(payroll, &eeov1.WatchImportRequest{Account: "A", ImportId: "i"})
	if err != nil {
		t.Fatal(err)
	}
	var got *eeov1.WatchImportResponse
	err = recvAll(func() error {
		m, err := w.Recv()
		if m != nil {
			got = m
		}
		return err
	})
	if err != nil || got.GetDataImport().GetImportId() != "i" {
		t.Fatalf("watch: %v, %v", got, err)
	}
	if e.files.count() != 2 {
		t.Fatalf("handlers ran %d times, want 2", e.files.count())
	}
}

// TestListAccountsShowsOnlyThePolicysAccounts: ListAccounts names no
// account, so its permission alone would show every account's token state,
// fingerprint and last error. The handler is given the caller's view to
// filter by before paging; a handler that ignores it (this fake, unless
// filterByView) still shows only the accounts the caller's policy names,
// with any permission, because the Guard trims what it returns.
func TestListAccountsShowsOnlyThePolicysAccounts(t *testing.T) {
	for _, filtering := range []bool{false, true} {
		t.Run(map[bool]string{false: "handler ignores the view", true: "handler filters by the view"}[filtering], func(t *testing.T) {
			oneKey, one := apiKey(t, "one")
			allKey, all := apiKey(t, "all")
			e := newEnv(t, access.Config{
				APIKeys: []access.APIKey{one, all},
				Policies: []access.Policy{
					{Caller: keyID("one"), Accounts: []string{"B"}, Permissions: []access.Permission{access.PermAccountsList, access.PermTokenGet}},
					{Caller: keyID("all"), Accounts: []string{"*"}, Permissions: []access.Permission{access.PermAccountsList}},
				},
			})
			e.tokens.filterByView = filtering
			names := func(key string) []string {
				t.Helper()
				resp, err := e.tc.ListAccounts(bearer(testCtx(t), key), &eeov1.ListAccountsRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if resp.GetNextPageToken() != fakeNextPageToken {
					t.Errorf("next_page_token %q, want the handler's %q: the caller's paging loop would stop early", resp.GetNextPageToken(), fakeNextPageToken)
				}
				var out []string
				for _, a := range resp.GetAccounts() {
					out = append(out, a.GetName())
				}
				return out
			}
			if got := names(oneKey); len(got) != 1 || got[0] != "B" {
				t.Errorf("caller allowed on B sees %v, want [B]", got)
			}
			if got := names(allKey); len(got) != 2 {
				t.Errorf(`caller allowed on "*" sees %v, want [A B]`, got)
			}
		})
	}
}

// TestListAccountsHandlerIsGivenTheCallersView: so that it can filter
// before paging, the ListAccounts handler is told which accounts the
// caller may see, scoped to the caller (its page tokens are bound to it);
// a caller allowed on every account, or any caller with access control
// off, is not restricted.
func TestListAccountsHandlerIsGivenTheCallersView(t *testing.T) {
	oneKey, one := apiKey(t, "one")
	allKey, all := apiKey(t, "all")
	e := newEnv(t, access.Config{
		APIKeys: []access.APIKey{one, all},
		Policies: []access.Policy{
			{Caller: keyID("one"), Accounts: []string{"B", "C"}, Permissions: []access.Permission{access.PermAccountsList}},
			{Caller: keyID("all"), Accounts: []string{"*"}, Permissions: []access.Permission{access.PermAccountsList}},
		},
	})
	if _, err := e.tc.ListAccounts(bearer(testCtx(t), oneKey), &eeov1.ListAccountsRequest{}); err != nil {
		t.Fatal(err)
	}
	v := e.tokens.lastView()
	if !v.ok || v.view.Visible("A") || !v.view.Visible("B") || !v.view.Visible("C") || v.view.Scope() != keyID("one") {
		t.Errorf("restricted caller's view: present %v, A %v, B %v, C %v, scope %q; want B and C only, scoped to %q",
			v.ok, v.view.Visible("A"), v.view.Visible("B"), v.view.Visible("C"), v.view.Scope(), keyID("one"))
	}
	if _, err := e.tc.ListAccounts(bearer(testCtx(t), allKey), &eeov1.ListAccountsRequest{}); err != nil {
		t.Fatal(err)
	}
	if v := e.tokens.lastView(); v.ok {
		t.Errorf(`caller allowed on "*" was given a restricted view (scope %q)`, v.view.Scope())
	}

	open := newEnv(t, access.Config{AllowUnauthenticated: true})
	if _, err := open.tc.ListAccounts(testCtx(t), &eeov1.ListAccountsRequest{}); err != nil {
		t.Fatal(err)
	}
	if v := open.tokens.lastView(); v.ok {
		t.Errorf("with access control off the caller was given a restricted view (scope %q)", v.view.Scope())
	}
}
