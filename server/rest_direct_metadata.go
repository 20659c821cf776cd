package server

import (
	"context"
	"net"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
)

// Header names grpc-gateway's AnnotateContext treats specially.
const (
	headerGRPCTimeout    = "Grpc-Timeout"
	headerForwardedFor   = "X-Forwarded-For"
	headerForwardedHost  = "X-Forwarded-Host"
	binaryHeaderSuffix   = "-Bin"
	metadataForwardedFor = "x-forwarded-for"
	metadataForwardedHst = "x-forwarded-host"
)

// directMetadata is the incoming metadata a call from r gets on a direct
// route (restDirectRoute): exactly what grpc-gateway's AnnotateContext
// would have sent for r on the facade's mux — whose incoming header
// matcher is match and whose one annotator, for in-process methods, is
// annotate (Config.RESTMetadata, may be nil) — built in one map instead of
// AnnotateContext's pairs, map, two joins and the in-process connection's
// copy of them. FuzzDirectMetadataMatchesAnnotateContext holds it to
// AnnotateContext.
//
// It reports false for a request on which AnnotateContext does more than
// collect header values — a Grpc-Timeout (a deadline), a binary (-Bin)
// header (base64), a value or name gRPC metadata cannot carry (dropped with
// a log line), a header the matcher maps onto x-forwarded-for or -host
// (refused) — so that grpc-gateway's generated handler serves it instead.
func directMetadata(ctx context.Context, r *http.Request, match runtime.HeaderMatcherFunc, annotate func(context.Context, *http.Request) metadata.MD) (metadata.MD, bool) {
	if r.Header.Get(headerGRPCTimeout) != "" {
		return nil, false
	}
	md := make(metadata.MD, len(r.Header)+2)
	for _, v := range r.Header.Values("Authorization") {
		// Unlike other headers, AnnotateContext drops an invalid
		// Authorization value silently, and so does this.
		if validMetadataText(v) {
			md["authorization"] = append(md["authorization"], v)
		}
	}
	for key, vals := range r.Header {
		key = textproto.CanonicalMIMEHeaderKey(key)
		if key == headerForwardedFor || key == headerForwardedHost {
			continue // below
		}
		h, ok := match(key)
		if !ok {
			continue
		}
		if strings.EqualFold(h, metadataForwardedFor) || strings.EqualFold(h, metadataForwardedHst) ||
			!validMetadataKey(h) || strings.HasSuffix(key, binaryHeaderSuffix) {
			return nil, false
		}
		k := strings.ToLower(h)
		for _, v := range vals {
			if !validMetadataText(v) {
				return nil, false
			}
			md[k] = append(md[k], v)
		}
	}
	if host := r.Header.Get(headerForwardedHost); host != "" && validMetadataText(host) {
		md[metadataForwardedHst] = append(md[metadataForwardedHst], host)
	} else if r.Host != "" && validMetadataText(r.Host) {
		md[metadataForwardedHst] = append(md[metadataForwardedHst], r.Host)
	}
	var forwarded []string
	for _, v := range r.Header.Values(headerForwardedFor) {
		if validMetadataText(v) {
			forwarded = append(forwarded, v)
		}
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && validMetadataText(ip) {
		forwarded = append(forwarded, ip)
	}
	if len(forwarded) > 0 {
		md[metadataForwardedFor] = append(md[metadataForwardedFor], strings.Join(forwarded, ", "))
	}
	if annotate != nil {
		// The annotator's values replace the headers' under the same key,
		// as in AnnotateContext: they are the gateway's own.
		extra := annotate(ctx, r)
		for k := range extra {
			delete(md, strings.ToLower(k))
		}
		for k, v := range extra {
			k = strings.ToLower(k)
			md[k] = append(md[k], v...)
		}
	}
	return md, true
}

// validMetadataKey is grpc-gateway's test of a header name as a gRPC
// metadata key: letters, digits, '.', '-' and '_'.
func validMetadataKey(key string) bool {
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// validMetadataText is grpc-gateway's test of a header value as a gRPC
// metadata text value: printable ASCII and space.
func validMetadataText(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
