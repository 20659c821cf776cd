package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestListAccountsPages: a caller that pages with page_size 1 sees each
// account once and the last page ends the list, over gRPC and REST.
func TestListAccountsPages(t *testing.T) {
	g := startGateway(t, nil)
	client := eeov1.NewTokenServiceClient(g.conn)
	var names []string
	token := ""
	for range 3 {
		resp, err := client.ListAccounts(t.Context(), &eeov1.ListAccountsRequest{PageSize: 1, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range resp.GetAccounts() {
			names = append(names, a.GetName())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(names) != 2 || names[0] != "demo" || names[1] != "other" || token != "" {
		t.Fatalf("pages gave %v (next %q), want [demo other] and an end", names, token)
	}

	resp, body := g.restCall(t, http.MethodGet, "/v1/accounts?pageSize=1")
	next, _ := body["nextPageToken"].(string)
	if resp.StatusCode != http.StatusOK || len(body["accounts"].([]any)) != 1 || next == "" {
		t.Fatalf("REST first page: %d %v", resp.StatusCode, body)
	}
	resp, body = g.restCall(t, http.MethodGet, "/v1/accounts?pageSize=1&pageToken="+url.QueryEscape(next))
	if resp.StatusCode != http.StatusOK || body["accounts"].([]any)[0].(map[string]any)["name"] != "other" || body["nextPageToken"] != "" {
		t.Fatalf("REST second page: %d %v", resp.StatusCode, body)
	}
}

// TestListImportTypesPagesByName: types are paged in name order whatever
// order EEO sent them in, so a page boundary never skips or repeats one.
func TestListImportTypesPagesByName(t *testing.T) {
	g := startGateway(t, nil)
	g.up.types = []eeo.ImportType{{Name: "terminations"}, {Name: "grants"}, {Name: "participants"}}
	client := eeov1.NewImportReportServiceClient(g.conn)
	first, err := client.ListImportTypes(t.Context(), &eeov1.ListImportTypesRequest{Account: "demo", PageSize: 2})
	if err != nil || len(first.GetImportTypes()) != 2 || first.GetImportTypes()[0].GetName() != "grants" || first.GetNextPageToken() == "" {
		t.Fatalf("first page %v, %v", first, err)
	}
	second, err := client.ListImportTypes(t.Context(), &eeov1.ListImportTypesRequest{Account: "demo", PageSize: 2, PageToken: first.GetNextPageToken()})
	if err != nil || len(second.GetImportTypes()) != 1 || second.GetImportTypes()[0].GetName() != "terminations" || second.GetNextPageToken() != "" {
		t.Fatalf("second page %v, %v", second, err)
	}
}

// TestBadPageTokensAreInvalidArgument: a made-up token, or one issued by
// another list, is INVALID_ARGUMENT naming page_token (HTTP 400), never a
// wrong page.
func TestBadPageTokensAreInvalidArgument(t *testing.T) {
	g := startGateway(t, nil)
	tokens := eeov1.NewTokenServiceClient(g.conn)
	files := eeov1.NewImportReportServiceClient(g.conn)
	accounts, err := tokens.ListAccounts(t.Context(), &eeov1.ListAccountsRequest{PageSize: 1})
	if err != nil || accounts.GetNextPageToken() == "" {
		t.Fatalf("ListAccounts: %v, %v", accounts, err)
	}
	foreign := accounts.GetNextPageToken()
	calls := map[string]func(token string) error{
		"ListAccounts": func(tok string) error {
			_, err := tokens.ListAccounts(t.Context(), &eeov1.ListAccountsRequest{PageToken: tok})
			return err
		},
		"ListImportTypes": func(tok string) error {
			_, err := files.ListImportTypes(t.Context(), &eeov1.ListImportTypesRequest{Account: "demo", PageToken: tok})
			return err
		},
		"ListReportTypes": func(tok string) error {
			_, err := files.ListReportTypes(t.Context(), &eeov1.ListReportTypesRequest{Account: "demo", PageToken: tok})
			return err
		},
	}
	for name, call := range calls {
		for _, tok := range []string{"made-up", foreign + "x"} {
			testkit.WantStatus(t, call(tok), codes.InvalidArgument, "INVALID_ARGUMENT")
		}
		if name != "ListAccounts" {
			err := call(foreign)
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("%s with ListAccounts' token: %v, want INVALID_ARGUMENT", name, err)
			}
		}
	}
	resp, body := g.restCall(t, http.MethodGet, "/v1/accounts/demo/importTypes?pageToken=made-up")
	if resp.StatusCode != http.StatusBadRequest || body["details"] == nil {
		t.Fatalf("REST bad token: %d %v", resp.StatusCode, body)
	}
}
