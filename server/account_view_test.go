package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/accountview"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
)

// viewByBearer stands in for the access guard: a call with
// "authorization: Bearer <caller>" for a caller in views may see only that
// caller's accounts; any other call sees every account.
func viewByBearer(views map[string][]string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		for _, v := range md.Get("authorization") {
			caller := strings.TrimPrefix(v, "Bearer ")
			if accounts, ok := views[caller]; ok {
				ctx = accountview.Restrict(ctx, caller, func(a string) bool { return slices.Contains(accounts, a) })
			}
		}
		return handler(ctx, req)
	}
}

// manyAccounts starts a gateway with n configured accounts, acct-00 on,
// and the views of viewByBearer.
func manyAccounts(t *testing.T, n int, views map[string][]string) (*gateway, []string) {
	t.Helper()
	f := &authtest.Fetcher{}
	var names []string
	var accounts []auth.Account
	for i := range n {
		names = append(names, fmt.Sprintf("acct-%02d", i))
		accounts = append(accounts, auth.Account{Name: names[i], Fetcher: f})
	}
	cache, err := auth.NewCache(accounts, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	g := startGateway(t, func(c *server.Config) {
		c.Tokens = cache
		c.UnaryInterceptors = append(c.UnaryInterceptors, viewByBearer(views))
	})
	return g, names
}

// listPages pages through ListAccounts with pageSize, returning the
// account names of each page and whether it came with a next_page_token.
type listPage struct {
	names []string
	more  bool
}

func listPagesGRPC(t *testing.T, g *gateway, caller string, pageSize int32) []listPage {
	t.Helper()
	client := eeov1.NewTokenServiceClient(g.conn)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+caller)
	var pages []listPage
	for token := ""; ; {
		resp, err := client.ListAccounts(ctx, &eeov1.ListAccountsRequest{PageSize: pageSize, PageToken: token})
		if err != nil {
			t.Fatalf("page %d: %v", len(pages), err)
		}
		pages = append(pages, pageOf(resp))
		if token = resp.GetNextPageToken(); token == "" || len(pages) > 100 {
			return pages
		}
	}
}

func listPagesREST(t *testing.T, g *gateway, caller string, pageSize int32) []listPage {
	t.Helper()
	var pages []listPage
	for token := ""; ; {
		code, body := restAs(t, g, caller, fmt.Sprintf("/v1/accounts?pageSize=%d&pageToken=%s", pageSize, url.QueryEscape(token)))
		if code != http.StatusOK {
			t.Fatalf("REST page %d: HTTP %d %s", len(pages), code, body)
		}
		var resp eeov1.ListAccountsResponse
		if err := protojson.Unmarshal(body, &resp); err != nil {
			t.Fatalf("REST page %d: %v in %s", len(pages), err, body)
		}
		pages = append(pages, pageOf(&resp))
		if token = resp.GetNextPageToken(); token == "" || len(pages) > 100 {
			return pages
		}
	}
}

func pageOf(resp *eeov1.ListAccountsResponse) listPage {
	p := listPage{more: resp.GetNextPageToken() != ""}
	for _, a := range resp.GetAccounts() {
		p.names = append(p.names, a.GetName())
	}
	return p
}

// restAs GETs path from the facade as caller.
func restAs(t *testing.T, g *gateway, caller, path string) (int, []byte) {
	t.Helper()
	resp, body := g.do(t, http.MethodGet, path, map[string]string{"Authorization": "Bearer " + caller})
	return resp.StatusCode, body
}

// wantPages checks that pages hold want in order, pageSize to a page but
// the last, and a next_page_token exactly on the pages that more follow.
func wantPages(t *testing.T, how string, pages []listPage, want []string, pageSize int) {
	t.Helper()
	var got []string
	for i, p := range pages {
		got = append(got, p.names...)
		last := i == len(pages)-1
		if p.more == last {
			t.Errorf("%s: page %d of %d has next_page_token %v", how, i+1, len(pages), p.more)
		}
		if !last && len(p.names) != pageSize {
			t.Errorf("%s: page %d holds %v, want %d accounts: more follow", how, i+1, p.names, pageSize)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: pages gave %v, want %v", how, got, want)
	}
	if wantN := max(1, (len(want)+pageSize-1)/pageSize); len(pages) != wantN {
		t.Errorf("%s: %d pages, want %d", how, len(pages), wantN)
	}
}

// TestListAccountsFiltersBeforePaging: a caller that may see 3 of 25
// accounts, paging by 2, gets its 3 accounts in a page of 2 and a page of
// 1, with a next_page_token exactly on the first, over gRPC and REST; a
// caller without a restricted view pages through all 25.
func TestListAccountsFiltersBeforePaging(t *testing.T) {
	three := []string{"acct-03", "acct-11", "acct-24"}
	g, all := manyAccounts(t, 25, map[string][]string{"three": three, "none": nil})
	for _, tc := range []struct {
		caller string
		want   []string
	}{
		{"three", three}, {"everyone", all}, {"none", nil},
	} {
		wantPages(t, "gRPC as "+tc.caller, listPagesGRPC(t, g, tc.caller, 2), tc.want, 2)
		wantPages(t, "REST as "+tc.caller, listPagesREST(t, g, tc.caller, 2), tc.want, 2)
	}
	// The default page size holds all three at once.
	wantPages(t, "gRPC as three, default size", listPagesGRPC(t, g, "three", 0), three, 100)
}

// TestListAccountsTokensAreBoundToTheView: a page token is an offset into
// the caller's own filtered list, so any other view's call refuses it
// (INVALID_ARGUMENT naming page_token, HTTP 400) rather than reading it as
// an offset into a different list.
func TestListAccountsTokensAreBoundToTheView(t *testing.T) {
	g, _ := manyAccounts(t, 25, map[string][]string{
		"three": {"acct-03", "acct-11", "acct-24"},
		"other": {"acct-03", "acct-11", "acct-24"}, // same accounts, another caller
	})
	client := eeov1.NewTokenServiceClient(g.conn)
	first := func(caller string) string {
		t.Helper()
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+caller)
		resp, err := client.ListAccounts(ctx, &eeov1.ListAccountsRequest{PageSize: 2})
		if err != nil || resp.GetNextPageToken() == "" {
			t.Fatalf("%s's first page: %v, %v", caller, resp, err)
		}
		return resp.GetNextPageToken()
	}
	tokens := map[string]string{"three": first("three"), "other": first("other"), "everyone": first("everyone")}
	for owner, token := range tokens {
		for caller := range tokens {
			ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+caller)
			_, err := client.ListAccounts(ctx, &eeov1.ListAccountsRequest{PageSize: 2, PageToken: token})
			if caller == owner {
				if err != nil {
					t.Errorf("%s with its own token: %v", caller, err)
				}
				continue
			}
			testkit.WantStatus(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
		}
	}
	code, body := restAs(t, g, "three", "/v1/accounts?pageSize=2&pageToken="+url.QueryEscape(tokens["everyone"]))
	if code != http.StatusBadRequest || !strings.Contains(string(body), "page_token") {
		t.Errorf("REST with another view's token: HTTP %d %s, want 400 naming page_token", code, body)
	}
}
