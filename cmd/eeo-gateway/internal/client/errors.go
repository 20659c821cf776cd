package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errIntegrity marks data that arrived damaged: exit status 6.
var errIntegrity = errors.New("data integrity")

// callError turns an error from a gateway call into one that says what
// failed in the gateway's words (code, ErrorInfo reason, message) and
// carries the exit status scripts branch on. Errors that are not gRPC
// statuses pass through.
func (o *options) callError(what string, err error) error {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		if errors.Is(err, errIntegrity) {
			return exitcode.With(exitcode.Integrity, err)
		}
		return err
	}
	reason := errorReason(st)
	msg := fmt.Sprintf("%s: %s", what, code.Code(st.Code()).String())
	if reason != "" {
		msg += " (" + reason + ")"
	}
	msg += ": " + st.Message()
	for _, v := range fieldViolations(st) {
		msg += "\n  " + v
	}
	if st.Code() == codes.Unauthenticated && o.key == "" {
		msg += "; " + errNoKey.Error()
	}
	exit := exitStatus(st.Code(), reason)
	switch {
	case st.Code() == codes.Unavailable && reason == "" && refusedClientCert(st.Message()):
		// The handshake failed on our side of mTLS: a caller credential
		// problem, whatever gRPC's code says.
		exit = exitcode.Auth
		msg += "; the gateway requires a client certificate it trusts: pass --cert and --key-file"
	case st.Code() == codes.Unavailable && reason == "":
		msg += fmt.Sprintf(" (is the gateway running at %s?)", o)
	}
	return exitcode.With(exit, errors.New(msg))
}

// errorReason is the ErrorInfo reason in st, or "".
func errorReason(st *status.Status) string {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// exitStatus maps a gateway error to the client's exit status.
func exitStatus(c codes.Code, reason string) int {
	switch reason {
	case server.ReasonChecksumMismatch, server.ReasonDataLoss:
		return exitcode.Integrity
	case server.ReasonEEOPermissionDenied:
		return exitcode.Upstream
	case access.ReasonPermissionDenied:
		return exitcode.Auth
	}
	switch c {
	case codes.Unauthenticated, codes.PermissionDenied:
		return exitcode.Auth
	case codes.NotFound:
		return exitcode.NotFound
	case codes.DataLoss:
		return exitcode.Integrity
	case codes.InvalidArgument, codes.OutOfRange:
		return exitcode.Usage
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Internal, codes.Unknown, codes.Unimplemented:
		return exitcode.Upstream
	case codes.FailedPrecondition:
		switch reason {
		case server.ReasonEEOInvalidClient, server.ReasonEEORejected:
			return exitcode.Upstream
		}
	}
	return exitcode.Failure
}

// fieldViolations lists the BadRequest details in st as "field: problem".
func fieldViolations(st *status.Status) []string {
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField()+": "+v.GetDescription())
			}
		}
	}
	return out
}

// refusedClientCert reports whether a transport error is the gateway's TLS
// alert refusing our client certificate (missing, unverifiable or
// unacceptable). gRPC passes the handshake error on only as text; these are
// crypto/tls's names for the alerts a server sends in that case.
func refusedClientCert(msg string) bool {
	for _, alert := range []string{"certificate required", "bad certificate", "unknown certificate authority", "certificate unknown", "unsupported certificate"} {
		if strings.Contains(msg, "remote error: tls: "+alert) {
			return true
		}
	}
	return false
}
