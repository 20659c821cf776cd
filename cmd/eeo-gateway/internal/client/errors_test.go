package client

import (
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
)

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		code   codes.Code
		reason string
		want   int
	}{
		{codes.Unauthenticated, access.ReasonUnauthenticated, exitcode.Auth},
		{codes.PermissionDenied, access.ReasonPermissionDenied, exitcode.Auth},
		{codes.PermissionDenied, server.ReasonEEOPermissionDenied, exitcode.Upstream},
		{codes.NotFound, server.ReasonImportNotFound, exitcode.NotFound},
		{codes.InvalidArgument, server.ReasonInvalidParameter, exitcode.Usage},
		{codes.InvalidArgument, server.ReasonChecksumMismatch, exitcode.Integrity},
		{codes.DataLoss, server.ReasonDataLoss, exitcode.Integrity},
		{codes.Unavailable, server.ReasonEEOUnavailable, exitcode.Upstream},
		{codes.Unavailable, "", exitcode.Upstream},
		{codes.ResourceExhausted, server.ReasonEEORateLimited, exitcode.Upstream},
		{codes.FailedPrecondition, server.ReasonEEOInvalidClient, exitcode.Upstream},
		{codes.FailedPrecondition, server.ReasonReportNotReady, exitcode.Failure},
		{codes.AlreadyExists, server.ReasonRequestIDReused, exitcode.Failure},
	} {
		if got := exitStatus(tc.code, tc.reason); got != tc.want {
			t.Errorf("exitStatus(%v, %q) = %d, want %d", tc.code, tc.reason, got, tc.want)
		}
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"grants.csv":       "grants.csv",
		"../../etc/passwd": "passwd",
		"/abs/path/r.csv":  "r.csv",
		"":                 "rpt_1",
		"..":               "rpt_1",
		"dir/":             "dir",
	} {
		if got := safeFileName(in, "rpt_1"); got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
