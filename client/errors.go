package client

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrChecksumMismatch is what a *ChecksumError matches with errors.Is.
var ErrChecksumMismatch = errors.New("client: SHA-256 mismatch")

// ChecksumError reports bytes that do not match their SHA-256: a download
// whose content is not what the gateway declared, or an upload the gateway
// received differently from how it was read. The data must not be used. It
// converts to a DATA_LOSS gRPC status (status.FromError, status.Code), the
// code the gateway itself uses for damaged transfers.
type ChecksumError struct {
	// Op is "upload" or "download".
	Op string
	// Want is the SHA-256 (lowercase hex) the bytes should have had; empty
	// when the gateway declared none.
	Want string
	// Got is the SHA-256 of the bytes transferred.
	Got string
}

func (e *ChecksumError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("client: %s: the gateway declared no SHA-256 to verify the %s bytes against", e.Op, e.Op)
	}
	return fmt.Sprintf("client: %s: SHA-256 is %s, want %s", e.Op, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrChecksumMismatch) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksumMismatch }

// GRPCStatus makes the error a DATA_LOSS status for status.FromError.
func (e *ChecksumError) GRPCStatus() *status.Status { return status.New(codes.DataLoss, e.Error()) }
