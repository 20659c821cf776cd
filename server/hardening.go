package server

import (
	"net/http"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/rs/cors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// gRPC server limits. A client may hold many streams (watches, downloads),
// but not unboundedly many; keepalive pings more often than every 10 s are
// abuse. grpc-go has one receive limit for every method: the largest
// message any method takes, a 1 MiB upload chunk plus framing slack
// (TokenService requests are a few hundred bytes). What an unauthenticated
// peer can make the gateway buffer is bounded by that times
// Limits.MaxPendingStreamsPerPeer (see admission).
const (
	maxConcurrentStreams = 1000
	maxRecvMessageBytes  = 1<<20 + 64<<10
	maxMessageBytes      = 4 << 20
	maxRESTBodyBytes     = 1 << 20 // every body but an upload's, which streams and is capped separately
	// maxRESTConcurrentStreams bounds the requests one HTTP/2 connection
	// to the REST listener (TLS or h2c) may have in flight: 100, the least
	// RFC 9113 advises, rather than net/http's 250, as every stream holds
	// a handler goroutine and an in-process call. Bodies need no extra
	// bound: each is capped and deadlined as over HTTP/1.1, and HTTP/2
	// flow control holds a connection's unread bytes to net/http's 1 MiB
	// window.
	maxRESTConcurrentStreams = 100
)

// restProtocols is what the REST listener speaks: net/http's default
// (HTTP/1.1, and HTTP/2 when TLS negotiates it; nil leaves the server as
// it was without the option), plus HTTP/2 with prior knowledge over
// plaintext when h2c is set.
func restProtocols(h2c bool) *http.Protocols {
	if !h2c {
		return nil
	}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

func grpcLimits(l Limits) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(maxConcurrentStreams),
		grpc.MaxRecvMsgSize(maxRecvMessageBytes),
		grpc.MaxSendMsgSize(maxMessageBytes),
		grpc.ConnectionTimeout(l.HandshakeTimeout),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: l.ConnectionIdleTimeout, Time: 2 * time.Minute, Timeout: 20 * time.Second}),
	}
}

// incomingHeaders decides which HTTP request headers become gRPC metadata.
// grpc-gateway's default passes every Grpc-Metadata-* header through, which
// would let a REST caller set internal metadata (a forwarded identity, say);
// only Authorization (which grpc-gateway passes itself), X-Request-Id and the
// configured allow-list pass.
func incomingHeaders(allowed []string) runtime.HeaderMatcherFunc {
	allow := map[string]bool{}
	for _, h := range allowed {
		allow[textproto.CanonicalMIMEHeaderKey(h)] = true
	}
	return func(key string) (string, bool) {
		key = textproto.CanonicalMIMEHeaderKey(key)
		switch {
		case key == "Authorization":
			return "", false // grpc-gateway always passes it as "authorization"; twice would be ambiguous
		case key == "X-Request-Id":
			return "x-request-id", true
		case allow[key]:
			md := strings.ToLower(strings.TrimPrefix(key, "Grpc-Metadata-"))
			if strings.HasPrefix(md, reservedMetadataPrefix) {
				return "", false // only the facade itself sets these
			}
			return md, true
		}
		return "", false
	}
}

// dropAllMetadata keeps gRPC header and trailer metadata out of REST
// responses: it is internal, and grpc-gateway would otherwise copy all of it
// into Grpc-Metadata-* headers.
func dropAllMetadata(string) (string, bool) { return "", false }

// requireUTF8 refuses a path or query that is not UTF-8: proto strings must
// be, and the facade's gRPC client would otherwise fail the call as INTERNAL.
func requireUTF8(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !utf8.ValidString(r.URL.Path) || !utf8.ValidString(r.URL.RawQuery) || !validQuery(r) {
			writeStatus(w, http.StatusBadRequest, rpcerr.InvalidField("request", "the path and query must be UTF-8"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withCORS allows the configured browser origins; none means no CORS
// headers at all, so browsers keep their same-origin rule.
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "X-Request-Id", "Idempotency-Key", headerVerifySHA256},
		ExposedHeaders: []string{"Content-Disposition", "X-Content-SHA256", "Retry-After", "X-Request-Id"},
		MaxAge:         600,
	}).Handler(next)
}

func validQuery(r *http.Request) bool {
	if r.URL.RawQuery == "" {
		return true // nothing to decode; Query would still make a map
	}
	for k, vs := range r.URL.Query() {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

// writeStatus writes a gRPC status as grpc-gateway would, for the few
// answers given before a request reaches the gateway mux.
func writeStatus(w http.ResponseWriter, code int, err error) {
	st, _ := status.FromError(err)
	body, _ := protojson.Marshal(st.Proto())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(body)
}
