package server

import (
	"context"
	"net/http"
	"strings"
	"unicode"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorInfo reasons of requests the REST facade cannot turn into a call.
const (
	// ReasonRouteNotFound: no REST route has this path (HTTP 404).
	ReasonRouteNotFound = "ROUTE_NOT_FOUND"
	// ReasonMethodNotAllowed: a route has this path but not this HTTP
	// method (HTTP 405).
	ReasonMethodNotAllowed = "METHOD_NOT_ALLOWED"
	// ReasonMalformedRequest: the body is not valid JSON for the request,
	// or a path or query value does not parse (pageSize=abc) (HTTP 400).
	ReasonMalformedRequest = "MALFORMED_REQUEST"
)

// restRoutingErrorHandler answers a request no route takes with the same
// google.rpc.Status and ErrorInfo as every other error, instead of
// grpc-gateway's bare status.
func restRoutingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	var err error
	switch httpStatus {
	case http.StatusNotFound:
		err = rpcerr.New(codes.NotFound, ReasonRouteNotFound, "no REST route has this path; see /openapi.json", nil)
	case http.StatusMethodNotAllowed:
		// UNIMPLEMENTED would be 501; the HTTP answer is 405.
		w = statusOverride{ResponseWriter: w, code: http.StatusMethodNotAllowed}
		err = rpcerr.New(codes.Unimplemented, ReasonMethodNotAllowed, "this path has no route for method "+r.Method+"; see /openapi.json",
			map[string]string{"method": r.Method})
	default:
		err = rpcerr.New(codes.InvalidArgument, ReasonMalformedRequest, "the request could not be read", nil)
	}
	restErrorHandler(ctx, mux, m, w, r, err)
}

// withErrorInfo gives a status without an ErrorInfo one: grpc-gateway's
// own errors (malformed JSON, a query value that does not parse) and
// transport errors of the in-process connection. Statuses from the
// handlers already carry theirs.
func withErrorInfo(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() == codes.OK {
		return err
	}
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return err
		}
	}
	reason := screamingSnake(st.Code().String())
	if st.Code() == codes.InvalidArgument {
		// Only grpc-gateway's request decoding returns INVALID_ARGUMENT
		// without details.
		reason = ReasonMalformedRequest
	}
	return rpcerr.New(st.Code(), reason, st.Message(), nil)
}

// screamingSnake turns a code name (DeadlineExceeded) into a reason
// (DEADLINE_EXCEEDED).
func screamingSnake(s string) string {
	var b strings.Builder
	for i, c := range s {
		if unicode.IsUpper(c) && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}
