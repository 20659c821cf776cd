package server_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/callnote"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestGetTokenOverGRPCAndREST(t *testing.T) {
	g := startGateway(t, nil)
	client := eeov1.NewTokenServiceClient(g.conn)
	resp, err := client.GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	tok := resp.GetToken()
	if tok.GetAccessToken() != "tok-1" || tok.GetTokenType() != "Bearer" || tok.GetAccount() != "demo" ||
		tok.GetFingerprint() != auth.Fingerprint(auth.NewSecret("tok-1")) || tok.GetIdleTimeout().AsDuration() != 3599*time.Second {
		t.Fatalf("token = %v", tok)
	}
	issued, idle, exp := tok.GetIssueTime().AsTime(), tok.GetIdleExpireTime().AsTime(), tok.GetExpireTime().AsTime()
	if !issued.Before(idle) || exp.Sub(issued) != time.Hour-time.Minute {
		t.Fatalf("times: issued %v idle %v expire %v", issued, idle, exp)
	}

	httpResp, body := g.restCall(t, http.MethodGet, "/v1/accounts/demo/token")
	if httpResp.StatusCode != http.StatusOK || httpResp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("REST status %d, Cache-Control %q", httpResp.StatusCode, httpResp.Header.Get("Cache-Control"))
	}
	restTok, _ := body["token"].(map[string]any)
	if restTok["accessToken"] != "tok-1" || restTok["idleTimeout"] != "3599s" || restTok["fingerprint"] != tok.GetFingerprint() {
		t.Fatalf("REST token = %v", body)
	}
	if n := g.eeo.Calls(); n != 1 {
		t.Fatalf("token requests = %d, want 1 shared by gRPC and REST", n)
	}
}

func TestUnknownAccountIsNotFound(t *testing.T) {
	g := startGateway(t, nil)
	_, err := eeov1.NewTokenServiceClient(g.conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("code = %v, want NotFound", status.Code(err))
	}
	if info := testkit.ErrorInfo(t, err); info.GetDomain() != server.ErrorDomain || info.GetReason() != server.ReasonAccountNotFound {
		t.Fatalf("ErrorInfo = %v", info)
	}
	resp, body := g.restCall(t, http.MethodGet, "/v1/accounts/nope/token")
	if resp.StatusCode != http.StatusNotFound || body["code"] != float64(codes.NotFound) {
		t.Fatalf("REST: %d %v", resp.StatusCode, body)
	}
	details, _ := body["details"].([]any)
	if len(details) == 0 || details[0].(map[string]any)["reason"] != server.ReasonAccountNotFound {
		t.Fatalf("REST error details = %v", body["details"])
	}
}

func TestMissingAccountIsInvalidArgument(t *testing.T) {
	g := startGateway(t, nil)
	client := eeov1.NewTokenServiceClient(g.conn)
	for name, call := range map[string]func() error{
		"GetToken":     func() error { _, err := client.GetToken(t.Context(), &eeov1.GetTokenRequest{}); return err },
		"RefreshToken": func() error { _, err := client.RefreshToken(t.Context(), &eeov1.RefreshTokenRequest{}); return err },
		"InvalidateToken": func() error {
			_, err := client.InvalidateToken(t.Context(), &eeov1.InvalidateTokenRequest{})
			return err
		},
	} {
		err := call()
		if status.Code(err) != codes.InvalidArgument || testkit.ErrorInfo(t, err).GetReason() != server.ReasonInvalidArgument {
			t.Fatalf("%s: %v", name, err)
		}
		st, _ := status.FromError(err)
		var violations []*errdetails.BadRequest_FieldViolation
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				violations = br.GetFieldViolations()
			}
		}
		if len(violations) != 1 || violations[0].GetField() != "account" {
			t.Fatalf("%s: field violations = %v", name, violations)
		}
	}
}

func TestEEOFailuresMapToDocumentedCodes(t *testing.T) {
	for _, tc := range []struct {
		fail     *auth.TokenError
		code     codes.Code
		reason   string
		http     int
		retrying bool
	}{
		{&auth.TokenError{Kind: auth.KindUnavailable, StatusCode: 503}, codes.Unavailable, server.ReasonEEOUnavailable, 503, true},
		{&auth.TokenError{Kind: auth.KindTimeout}, codes.Unavailable, server.ReasonEEOTimeout, 503, true},
		{&auth.TokenError{Kind: auth.KindMalformed, StatusCode: 200}, codes.Unavailable, server.ReasonEEOMalformedResponse, 503, true},
		{&auth.TokenError{Kind: auth.KindRateLimited, StatusCode: 429, RetryAfter: 5 * time.Second}, codes.ResourceExhausted, server.ReasonEEORateLimited, 429, true},
		{&auth.TokenError{Kind: auth.KindInvalidClient, StatusCode: 401, OAuthError: "invalid_client"}, codes.FailedPrecondition, server.ReasonEEOInvalidClient, 400, false},
		{&auth.TokenError{Kind: auth.KindRejected, StatusCode: 400, OAuthError: "invalid_scope"}, codes.FailedPrecondition, server.ReasonEEORejected, 400, false},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			g := startGateway(t, nil)
			g.eeo.Fail(tc.fail)
			_, err := eeov1.NewTokenServiceClient(g.conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"})
			info := testkit.ErrorInfo(t, err)
			if status.Code(err) != tc.code || info.GetReason() != tc.reason || info.GetMetadata()["account"] != "demo" {
				t.Fatalf("got %v %v, want %v %s", status.Code(err), info, tc.code, tc.reason)
			}
			if tc.fail.StatusCode != 0 && info.GetMetadata()["http_status"] == "" {
				t.Errorf("metadata lacks http_status: %v", info.GetMetadata())
			}
			if d := testkit.RetryDelay(err); tc.retrying != (d > 0) {
				t.Fatalf("RetryInfo delay %v, want present=%v", d, tc.retrying)
			}
			if tc.code == codes.Unauthenticated {
				t.Fatal("an EEO credential fault must not blame the caller")
			}
			resp, _ := g.restCall(t, http.MethodGet, "/v1/accounts/demo/token")
			if resp.StatusCode != tc.http || (resp.Header.Get("Retry-After") != "") != tc.retrying {
				t.Fatalf("REST: %d Retry-After %q, want %d", resp.StatusCode, resp.Header.Get("Retry-After"), tc.http)
			}
		})
	}
}

func TestRefreshInvalidateAndListAccounts(t *testing.T) {
	g := startGateway(t, nil)
	client := eeov1.NewTokenServiceClient(g.conn)
	first, err := client.GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	refreshed, err := client.RefreshToken(t.Context(), &eeov1.RefreshTokenRequest{Account: "demo"})
	if err != nil || refreshed.GetToken().GetAccessToken() == first.GetToken().GetAccessToken() {
		t.Fatalf("RefreshToken = %v, %v; want a new token", refreshed, err)
	}
	stale, err := client.InvalidateToken(t.Context(), &eeov1.InvalidateTokenRequest{Account: "demo", Fingerprint: first.GetToken().GetFingerprint()})
	if err != nil || stale.GetInvalidated() {
		t.Fatalf("invalidating the replaced token: %v, %v; want invalidated=false", stale, err)
	}

	list, err := client.ListAccounts(t.Context(), &eeov1.ListAccountsRequest{})
	if err != nil || len(list.GetAccounts()) != 2 {
		t.Fatalf("ListAccounts = %v, %v", list, err)
	}
	demo, other := list.GetAccounts()[0], list.GetAccounts()[1]
	if demo.GetName() != "demo" || demo.GetTokenState() != eeov1.TokenState_TOKEN_STATE_FRESH || demo.GetFetchCount() != 2 ||
		demo.GetTokenFingerprint() != refreshed.GetToken().GetFingerprint() || demo.GetIssueTime() == nil || demo.GetLastUseTime() == nil {
		t.Fatalf("demo = %v", demo)
	}
	if other.GetName() != "other" || other.GetTokenState() != eeov1.TokenState_TOKEN_STATE_NONE || other.GetIssueTime() != nil {
		t.Fatalf("other = %v", other)
	}
	if strings.Contains(list.String(), "tok-") {
		t.Fatalf("ListAccounts leaks a token: %v", list)
	}

	resp, body := g.restCall(t, http.MethodDelete, "/v1/accounts/demo/token")
	if resp.StatusCode != http.StatusOK || body["invalidated"] != true {
		t.Fatalf("REST DELETE: %d %v", resp.StatusCode, body)
	}
	resp, body = g.restCall(t, http.MethodPost, "/v1/accounts/demo/token:refresh")
	if resp.StatusCode != http.StatusOK || body["token"].(map[string]any)["accessToken"] != "tok-3" {
		t.Fatalf("REST refresh: %d %v", resp.StatusCode, body)
	}
	resp, body = g.restCall(t, http.MethodGet, "/v1/accounts")
	if resp.StatusCode != http.StatusOK || len(body["accounts"].([]any)) != 2 {
		t.Fatalf("REST list: %d %v", resp.StatusCode, body)
	}
}

func TestLastErrorReasonInListAccounts(t *testing.T) {
	g := startGateway(t, nil)
	g.eeo.Fail(&auth.TokenError{Kind: auth.KindInvalidClient, StatusCode: 401})
	client := eeov1.NewTokenServiceClient(g.conn)
	client.GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"})
	list, err := client.ListAccounts(t.Context(), &eeov1.ListAccountsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	demo := list.GetAccounts()[0]
	if demo.GetLastErrorReason() != server.ReasonEEOInvalidClient || demo.GetLastErrorTime() == nil || demo.GetRetryTime() == nil {
		t.Fatalf("demo = %v", demo)
	}
}

func TestAddedInterceptorsSeeGRPCAndRESTCalls(t *testing.T) {
	var seen atomic.Int64
	g := startGateway(t, func(c *server.Config) {
		c.UnaryInterceptors = append(c.UnaryInterceptors, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if info.FullMethod == eeov1.TokenService_GetToken_FullMethodName {
				seen.Add(1)
			}
			return h(ctx, req)
		})
	})
	eeov1.NewTokenServiceClient(g.conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"})
	g.restCall(t, http.MethodGet, "/v1/accounts/demo/token")
	if n := seen.Load(); n != 2 {
		t.Fatalf("interceptor saw %d GetToken calls, want 2 (gRPC and REST)", n)
	}
}

func TestPanicBecomesInternal(t *testing.T) {
	g := startGateway(t, func(c *server.Config) {
		c.UnaryInterceptors = append(c.UnaryInterceptors, func(context.Context, any, *grpc.UnaryServerInfo, grpc.UnaryHandler) (any, error) {
			panic("boom tok-secret")
		})
	})
	_, err := eeov1.NewTokenServiceClient(g.conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"})
	if status.Code(err) != codes.Internal || testkit.ErrorInfo(t, err).GetReason() != server.ReasonInternal {
		t.Fatalf("err = %v, want INTERNAL", err)
	}
	if strings.Contains(g.logs.String(), "tok-secret") || strings.Contains(err.Error(), "tok-secret") {
		t.Fatal("panic value leaked into logs or the error")
	}
	if !strings.Contains(g.logs.String(), "panic in gRPC handler") {
		t.Fatal("panic not logged")
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	g := startGateway(t, nil)
	// Closing the server's own client leaves it running; stopping it is clean.
	if err := g.stop(); err != nil {
		t.Fatalf("Serve after cancel = %v, want nil", err)
	}
	_, err := eeov1.NewTokenServiceClient(g.conn).GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"},
		grpc.WaitForReady(false))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("call after stop = %v, want Unavailable", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("unexpected deadline")
	}
}

// The facade passes the caller's credentials once and nothing a caller could
// use to pose as internal metadata.
func TestRESTForwardsOnlyAllowedHeaders(t *testing.T) {
	seen := make(chan metadata.MD, 1)
	g := startGateway(t, func(c *server.Config) {
		c.UnaryInterceptors = append(c.UnaryInterceptors, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			seen <- md
			return h(ctx, req)
		})
	})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.baseURL+"/v1/accounts", nil)
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("X-Request-Id", "r-1")
	req.Header.Set("Grpc-Metadata-X-Forwarded-Caller", "admin")
	req.Header.Set("X-Other", "o")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	md := <-seen
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer k" {
		t.Errorf("authorization metadata = %q, want exactly the caller's", got)
	}
	if got := md.Get("x-request-id"); len(got) != 1 || got[0] != "r-1" {
		t.Errorf("x-request-id metadata = %q", got)
	}
	if len(md.Get("x-forwarded-caller")) != 0 || len(md.Get("x-other")) != 0 {
		t.Errorf("forged or unlisted headers reached gRPC: %v", md)
	}
	for k := range resp.Header {
		if strings.HasPrefix(k, "Grpc-Metadata-") {
			t.Errorf("internal metadata leaked as %s", k)
		}
	}
}

// GetToken tells the interceptors around it (the access guard's audit)
// whether it served the token from the cache or had to ask EEO, over gRPC
// and REST alike.
func TestGetTokenReportsCacheHits(t *testing.T) {
	var hits []bool
	var mu sync.Mutex
	note := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if info.FullMethod != eeov1.TokenService_GetToken_FullMethodName {
			return handler(ctx, req)
		}
		ctx, n := callnote.With(ctx)
		resp, err := handler(ctx, req)
		mu.Lock()
		hits = append(hits, n.CacheHit())
		mu.Unlock()
		return resp, err
	}
	g := startGateway(t, func(c *server.Config) { c.UnaryInterceptors = []grpc.UnaryServerInterceptor{note} })
	client := eeov1.NewTokenServiceClient(g.conn)
	for range 2 {
		if _, err := client.GetToken(t.Context(), &eeov1.GetTokenRequest{Account: "demo"}); err != nil {
			t.Fatal(err)
		}
	}
	if resp, _ := g.restCall(t, http.MethodGet, "/v1/accounts/demo/token"); resp.StatusCode != http.StatusOK {
		t.Fatalf("REST GetToken: HTTP %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []bool{false, true, true}; !slices.Equal(hits, want) {
		t.Errorf("cache hits reported %v, want %v (a fetch, then hits)", hits, want)
	}
}
