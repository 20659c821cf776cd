package server_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// callSeen is what the server's interceptors see of a call.
type callSeen struct {
	md   metadata.MD
	peer string
	// deadline is the call's time left when the interceptor ran, 0 for
	// none.
	deadline time.Duration
}

// callSpy records every unary call the server's interceptors see.
type callSpy struct {
	mu    sync.Mutex
	calls []callSeen
}

func (s *callSpy) intercept(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	p, _ := peer.FromContext(ctx)
	var left time.Duration
	if d, ok := ctx.Deadline(); ok {
		left = time.Until(d)
	}
	s.mu.Lock()
	s.calls = append(s.calls, callSeen{md: md, peer: p.Addr.String(), deadline: left})
	s.mu.Unlock()
	return h(ctx, req)
}

func (s *callSpy) last() callSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[len(s.calls)-1]
}

// REST GetToken's direct route answers every request as grpc-gateway's
// generated route does, and the call it makes reaches the server's
// interceptors with the same metadata and peer. A Grpc-Timeout header of a
// minute sends a request to the generated route (only AnnotateContext
// turns it into a deadline) without changing anything else it does, so
// each request is made both ways and the two compared.
func TestDirectRouteAnswersAsTheGeneratedRoute(t *testing.T) {
	spy := &callSpy{}
	g := startGateway(t, func(c *server.Config) {
		c.UnaryInterceptors = []grpc.UnaryServerInterceptor{spy.intercept}
		c.AllowedMetadataHeaders = []string{"X-Tenant"}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.RESTMetadata = func(_ context.Context, r *http.Request) metadata.MD {
			if r.Header.Get("X-Tenant") == "replace-me" {
				return metadata.Pairs("x-tenant", "from-the-gateway", "x-annotated", "yes")
			}
			return nil
		}
	})
	requests := []struct {
		name    string
		path    string
		headers map[string]string
	}{
		{"plain", "/v1/accounts/demo/token", nil},
		{"request id", "/v1/accounts/demo/token", map[string]string{"X-Request-Id": "req-1"}},
		{"credentials", "/v1/accounts/demo/token", map[string]string{"Authorization": "Bearer abc"}},
		{"invalid credentials value", "/v1/accounts/demo/token", map[string]string{"Authorization": "Bearer \u00e9"}},
		{"allowed header", "/v1/accounts/demo/token", map[string]string{"X-Tenant": "t1", "User-Agent": "test/1"}},
		{"annotator replaces a header", "/v1/accounts/demo/token", map[string]string{"X-Tenant": "replace-me"}},
		{"forwarded", "/v1/accounts/demo/token", map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "api.example"}},
		{"other account", "/v1/accounts/other/token", nil},
		{"unknown account", "/v1/accounts/nope/token", nil},
		{"escaped account", "/v1/accounts/de%6Do/token", nil},
		{"query ignored", "/v1/accounts/demo/token?account=other&x=1", nil},
	}
	for _, tc := range requests {
		t.Run(tc.name, func(t *testing.T) {
			direct, directBody, directCall := getWithSpy(t, g, spy, tc.path, tc.headers, false)
			generated, generatedBody, generatedCall := getWithSpy(t, g, spy, tc.path, tc.headers, true)
			if direct.StatusCode != generated.StatusCode {
				t.Errorf("status %d, generated route %d", direct.StatusCode, generated.StatusCode)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "X-Request-Id"} {
				if tc.headers["X-Request-Id"] == "" && h == "X-Request-Id" {
					continue // a new one each request
				}
				if d, w := direct.Header.Get(h), generated.Header.Get(h); d != w {
					t.Errorf("%s %q, generated route %q", h, d, w)
				}
			}
			if !reflect.DeepEqual(directBody, generatedBody) {
				t.Errorf("body\n%v\ngenerated route\n%v", directBody, generatedBody)
			}
			if directCall == nil || generatedCall == nil {
				if (directCall == nil) != (generatedCall == nil) {
					t.Errorf("one route reached the handler and not the other: direct %v, generated %v", directCall, generatedCall)
				}
				return
			}
			// The one difference: the minute's deadline only the generated
			// route set, which shows that the other request took the direct
			// route.
			if generatedCall.deadline < 30*time.Second || directCall.deadline > 30*time.Second {
				t.Errorf("deadlines %v direct, %v generated: the request did not take the direct route", directCall.deadline, generatedCall.deadline)
			}
			if tc.headers["X-Request-Id"] == "" {
				directCall.md.Delete("x-request-id")
				generatedCall.md.Delete("x-request-id")
			}
			if !reflect.DeepEqual(directCall.md, generatedCall.md) || directCall.peer != generatedCall.peer {
				t.Errorf("the handler saw\n%v from %s\nvia the generated route\n%v from %s", directCall.md, directCall.peer, generatedCall.md, generatedCall.peer)
			}
		})
	}
}

// getWithSpy GETs path, through the generated route if generated, and
// returns the response, its decoded body (less the token's sliding idle
// deadline, which moves with each use) and the call the spy saw, if the
// request reached the server.
func getWithSpy(t *testing.T, g *gateway, spy *callSpy, path string, headers map[string]string, generated bool) (*http.Response, map[string]any, *callSeen) {
	t.Helper()
	spy.mu.Lock()
	before := len(spy.calls)
	spy.mu.Unlock()
	if generated {
		headers = maps.Clone(headers)
		if headers == nil {
			headers = map[string]string{}
		}
		headers["Grpc-Timeout"] = "1M"
	}
	resp, raw := g.do(t, http.MethodGet, path, headers)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	if tok, ok := body["token"].(map[string]any); ok {
		delete(tok, "idleExpireTime")
	}
	spy.mu.Lock()
	reached := len(spy.calls) > before
	spy.mu.Unlock()
	if !reached {
		return resp, body, nil
	}
	call := spy.last()
	call.md = call.md.Copy()
	for k := range call.md {
		if strings.HasPrefix(k, ":") {
			delete(call.md, k)
		}
	}
	return resp, body, &call
}

// A declined request really is served by the generated route: a Grpc-Timeout
// too short for any call becomes the call's deadline.
func TestDirectRouteLeavesDeadlinesToTheGeneratedRoute(t *testing.T) {
	g := startGateway(t, nil)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, g.baseURL+"/v1/accounts/demo/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Grpc-Timeout", "1n")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d with a 1 ns Grpc-Timeout, want 504", resp.StatusCode)
	}
}
