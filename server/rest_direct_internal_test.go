package server

import (
	"context"
	"net/http"
	"slices"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/metadata"
)

// directHeaderNames are the header names the fuzz draws from: the ones
// AnnotateContext treats specially, ones the test matcher passes on, and
// ones it drops.
var directHeaderNames = []string{
	"Authorization", "X-Request-Id", "X-Tenant", "Grpc-Metadata-Foo", "Grpc-Metadata-X-Forwarded-For",
	"X-Trace-Bin", "Grpc-Timeout", "X-Forwarded-For", "X-Forwarded-Host", "User-Agent", "Accept", "Te",
	"Bad Name", "X-Tenant-Id", "Grpc-Metadata-Authorization",
}

// directHeaderValues are the values it draws from; the fuzz adds its own.
var directHeaderValues = []string{"", "Bearer k", "abc-123", "t1", "203.0.113.7", "example.com:8443", "1S", "bad\x01value", "é", "aGVsbG8=", "  spaced  "}

// directAnnotator is an annotator like Config.RESTMetadata: it adds a key
// of its own and, for some requests, replaces one a header set.
func directAnnotator(_ context.Context, r *http.Request) metadata.MD {
	switch r.Header.Get("Accept") {
	case "":
		return nil
	case "t1":
		return metadata.MD{"x-tenant": {"from-annotator"}, "X-Annotated": {"yes"}}
	default:
		return metadata.Pairs("x-annotated", r.Header.Get("Accept"))
	}
}

// requestFrom builds a request from fuzz bytes: each pair of bytes picks a
// header name and a value (the value from the vocabulary, or the rest of
// the input when it runs out of pairs).
func requestFrom(data []byte, host, remote string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://gw/v1/accounts/demo/token", nil)
	r.Host, r.RemoteAddr = host, remote
	for len(data) >= 2 {
		name := directHeaderNames[int(data[0])%len(directHeaderNames)]
		var value string
		if i := int(data[1]); i < len(directHeaderValues) {
			value = directHeaderValues[i]
		} else {
			value = string(data[2:min(len(data), 2+i%16)])
		}
		r.Header[name] = append(r.Header[name], value)
		data = data[2:]
	}
	return r
}

// normalized is md with each key's values sorted: AnnotateContext collects
// header values in map order, so the order of one key's values from two
// headers is not defined. Empty and nil are the same metadata. Except
// authorization's: AnnotateContext puts the Authorization header's values
// first, ahead of a forwarded Grpc-Metadata-Authorization, so that a
// backend reading the first value gets the real credentials, and a direct
// route must too.
func normalized(md metadata.MD) map[string][]string {
	out := map[string][]string{}
	for k, v := range md {
		if k == "authorization" {
			out[k] = v
			continue
		}
		out[k] = slices.Sorted(slices.Values(v))
	}
	return out
}

// The metadata a direct route builds is exactly what grpc-gateway's
// AnnotateContext sends on the facade's mux, whenever directMetadata does
// not decline; and it declines whenever AnnotateContext fails or does more
// than collect values.
func FuzzDirectMetadataMatchesAnnotateContext(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2}, "gw:8080", "192.0.2.1:5000", true)
	f.Add([]byte{2, 3, 3, 3, 10, 0}, "gw", "[2001:db8::1]:443", false)
	f.Add([]byte{7, 4, 7, 4, 8, 5}, "", "bad-remote", true)
	f.Add([]byte{6, 6}, "gw", "192.0.2.1:5000", false)
	f.Add([]byte{5, 9}, "gw", "192.0.2.1:5000", false)
	f.Add([]byte{0, 7, 0, 1, 12, 3}, "gw\x7f", "192.0.2.1:5000", true)
	f.Add([]byte{4, 1, 13, 1, 9, 40, 'x', 'y'}, "gw", "192.0.2.1:5000", true)
	f.Add([]byte{10, 3, 2, 3}, "gw", "192.0.2.1:5000", true)
	f.Add([]byte{14, 3, 0, 1, 14, 2, 0, 3}, "gw", "192.0.2.1:5000", false)
	match := incomingHeaders([]string{"X-Tenant", "Grpc-Metadata-Foo", "Grpc-Metadata-X-Forwarded-For", "X-Trace-Bin", "Te", "Bad Name", "Grpc-Metadata-Authorization"})
	f.Fuzz(func(t *testing.T, data []byte, host, remote string, annotated bool) {
		var annotate func(context.Context, *http.Request) metadata.MD
		if annotated {
			annotate = directAnnotator
		}
		mux := runtime.NewServeMux(runtime.WithIncomingHeaderMatcher(match),
			runtime.WithMetadata(restMetadata(func(context.Context, *http.Request) metadata.MD { return nil }, annotate)))
		r := requestFrom(data, host, remote)
		ctx, err := runtime.AnnotateContext(r.Context(), mux, r, eeov1.TokenService_GetToken_FullMethodName)
		got, ok := directMetadata(r.Context(), r, match, annotate)
		if !ok {
			return // the generated route serves it
		}
		if err != nil {
			t.Fatalf("AnnotateContext failed (%v) on a request directMetadata took: %v", err, r.Header)
		}
		want, _ := metadata.FromOutgoingContext(ctx)
		if g, w := normalized(got), normalized(want); !mapsEqual(g, w) {
			t.Fatalf("headers %v host %q remote %q:\ndirect %v\nAnnotateContext %v", r.Header, host, remote, g, w)
		}
	})
}

func mapsEqual(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}

// Requests as clients send them — credentials, a request id, forwarding
// headers, headers the facade drops — take the direct route; only what
// AnnotateContext alone handles is declined.
func TestDirectMetadataTakesOrdinaryRequests(t *testing.T) {
	match := incomingHeaders([]string{"X-Tenant"})
	r, _ := http.NewRequest(http.MethodGet, "http://gw/v1/accounts/demo/token", nil)
	r.RemoteAddr = "192.0.2.1:5000"
	r.Header.Set("Authorization", "Bearer k")
	r.Header.Set("X-Request-Id", "abc-123")
	r.Header.Set("X-Tenant", "t1")
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	r.Header.Set("User-Agent", "curl/8")
	if _, ok := directMetadata(r.Context(), r, match, nil); !ok {
		t.Fatalf("an ordinary request was declined: %v", r.Header)
	}
	for name, value := range map[string]string{"Grpc-Timeout": "1S", "X-Tenant": "caf\u00e9"} {
		d := r.Clone(r.Context())
		d.Header.Set(name, value)
		if _, ok := directMetadata(d.Context(), d, match, nil); ok {
			t.Errorf("%s: %q was not declined", name, value)
		}
	}
}

// GetToken's route qualifies for a direct route; if its HTTP rule changes
// so that it no longer does, this fails rather than REST GetToken silently
// slowing down.
func TestDirectRoutesQualify(t *testing.T) {
	for _, name := range restDirectMethods() {
		m, err := methodDescriptor(name)
		if err != nil {
			t.Fatal(err)
		}
		if pattern, ok := directPattern(m); !ok {
			t.Errorf("%s's REST route (%s) does not qualify for a direct route", name, pattern)
		}
	}
	m, err := methodDescriptor(eeov1.TokenService_ListAccounts_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	if pattern, ok := directPattern(m); ok {
		t.Errorf("ListAccounts (query parameters) qualified with %s", pattern)
	}
	input := (&eeov1.GetTokenRequest{}).ProtoReflect().Descriptor()
	get := &annotations.HttpRule_Get{Get: "/v1/accounts/{account}/token"}
	if _, ok := directRulePattern(&annotations.HttpRule{Pattern: get}, input); !ok {
		t.Error("GetToken's rule does not qualify")
	}
	for name, rule := range map[string]*annotations.HttpRule{
		"response_body":      {Pattern: get, ResponseBody: "token"},
		"body":               {Pattern: get, Body: "*"},
		"additional binding": {Pattern: get, AdditionalBindings: []*annotations.HttpRule{{Pattern: get}}},
		"POST":               {Pattern: &annotations.HttpRule_Post{Post: "/v1/accounts/{account}/token"}},
		"field not in path":  {Pattern: &annotations.HttpRule_Get{Get: "/v1/token"}},
	} {
		if pattern, ok := directRulePattern(rule, input); ok {
			t.Errorf("a rule with %s qualified with %s", name, pattern)
		}
	}
}
