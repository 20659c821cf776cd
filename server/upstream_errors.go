package server

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorInfo reasons of ImportReportService.
const (
	ReasonImportNotFound         = "IMPORT_NOT_FOUND"
	ReasonReportNotFound         = "REPORT_NOT_FOUND"
	ReasonInvalidImportType      = "INVALID_IMPORT_TYPE"
	ReasonInvalidReportType      = "INVALID_REPORT_TYPE"
	ReasonInvalidParameter       = "INVALID_PARAMETER"
	ReasonUnsupportedFormat      = "UNSUPPORTED_FORMAT"
	ReasonEmptyFile              = "EMPTY_FILE"
	ReasonChecksumMismatch       = "CHECKSUM_MISMATCH"
	ReasonUploadTooLarge         = "UPLOAD_TOO_LARGE"
	ReasonUploadAborted          = "UPLOAD_ABORTED"
	ReasonRequestIDReused        = "REQUEST_ID_REUSED"
	ReasonRequestInProgress      = "REQUEST_IN_PROGRESS"
	ReasonNotCancellable         = "NOT_CANCELLABLE"
	ReasonReportNotReady         = "REPORT_NOT_READY"
	ReasonDataLoss               = "DATA_LOSS"
	ReasonEEOTokenRejected       = "EEO_TOKEN_REJECTED"
	ReasonEEOTokenRejectedUpload = "EEO_TOKEN_REJECTED_MID_UPLOAD"
	ReasonEEOPermissionDenied    = "EEO_PERMISSION_DENIED"
	ReasonEEOConflict            = "EEO_CONFLICT"
	ReasonEEOBadRequest          = "EEO_BAD_REQUEST"
	ReasonEEOCircuitOpen         = "EEO_CIRCUIT_OPEN"
	ReasonEEOConcurrencyLimited  = "EEO_CONCURRENCY_LIMITED"
)

// upstreamStatus maps a failed EEO call, made for ctx, to a gRPC status. notFound is the
// reason for a 404 (IMPORT_NOT_FOUND, …); empty means the account's
// collection, which always exists, so a 404 there is EEO misbehaving.
// Errors from the token cache keep TokenService's mapping.
func (s *importReportService) upstreamStatus(ctx context.Context, err error, notFound string) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	// The caller's own deadline passing while EEO works is the caller's
	// timeout, not EEO's: retrying with the same deadline will not help.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return rpcerr.New(codes.DeadlineExceeded, ReasonDeadlineExceeded, "the call's deadline passed while waiting for EEO", nil)
	}
	var ee *eeo.Error
	if !errors.As(err, &ee) {
		return toStatus(err, s.now())
	}
	md := map[string]string{}
	if ee.StatusCode != 0 {
		md["http_status"] = strconv.Itoa(ee.StatusCode)
	}
	if ee.Code != "" {
		md["eeo_error"] = ee.Code
	}
	retry := retryInfo(s.now().Add(ee.RetryAfter), s.now())
	switch {
	case ee.Code == eeo.CodeCircuitOpen:
		return rpcerr.New(codes.Unavailable, ReasonEEOCircuitOpen,
			"EEO has been failing for this account; the gateway is not sending it requests for now", md, retry)
	case ee.Code == eeo.CodeConcurrencyLimited:
		return rpcerr.New(codes.ResourceExhausted, ReasonEEOConcurrencyLimited,
			"too many requests to EEO for this account are in flight; retry shortly", md, retryInfo(time.Time{}, s.now()))
	case ee.StatusCode == 0 && (ee.Timeout() || errors.Is(err, context.DeadlineExceeded)):
		return rpcerr.New(codes.Unavailable, ReasonEEOTimeout, "EEO did not answer in time", md, retry)
	case ee.StatusCode == 0 && errors.Is(err, context.Canceled):
		return rpcerr.New(codes.Canceled, ReasonCancelled, "request cancelled", md)
	case ee.StatusCode == 0:
		return rpcerr.New(codes.Unavailable, ReasonEEOUnavailable, "EEO is unreachable", md, retry)
	case ee.Code == eeo.CodeMalformedResponse:
		return rpcerr.New(codes.Unavailable, ReasonEEOMalformedResponse, "EEO sent a malformed response", md, retry)
	case ee.Code == eeo.CodeTokenRejectedMidUpload:
		return rpcerr.New(codes.Unavailable, ReasonEEOTokenRejectedUpload,
			"EEO rejected the access token after the upload started; nothing was imported, retry the upload", md, retry)
	case ee.StatusCode == 401:
		return rpcerr.New(codes.Internal, ReasonEEOTokenRejected,
			"EEO rejected a freshly issued access token for this account; an operator must check the account's EEO access", md)
	case ee.StatusCode == 403:
		return rpcerr.New(codes.PermissionDenied, ReasonEEOPermissionDenied, "EEO does not allow this account that operation", md)
	case ee.StatusCode == 404 && notFound != "":
		return rpcerr.New(codes.NotFound, notFound, strings.ToLower(strings.ReplaceAll(notFound, "_", " ")), md)
	case ee.StatusCode == 409:
		return conflictStatus(ee.Code, md)
	case ee.StatusCode == 413:
		return rpcerr.New(codes.ResourceExhausted, ReasonUploadTooLarge, "the file is larger than EEO accepts", md)
	case ee.StatusCode == 422 && ee.Code == eeo.CodeChecksumMismatch:
		return checksumMismatch()
	case ee.StatusCode == 429:
		return rpcerr.New(codes.ResourceExhausted, ReasonEEORateLimited, "EEO is rate limiting this account", md, retry)
	case ee.StatusCode >= 500:
		return rpcerr.New(codes.Unavailable, ReasonEEOUnavailable, "EEO is unavailable", md, retry)
	case ee.StatusCode == 400 || ee.StatusCode == 422:
		return badRequestStatus(ee, md)
	}
	return rpcerr.New(codes.Internal, ReasonEEOBadRequest, "EEO refused the request unexpectedly", md)
}

func conflictStatus(code string, md map[string]string) error {
	switch code {
	case eeo.CodeIdempotencyKeyReused:
		return requestIDReused()
	case eeo.CodeIdempotencyKeyInUse:
		return requestInProgress()
	case eeo.CodeNotCancellable:
		return rpcerr.New(codes.FailedPrecondition, ReasonNotCancellable, "it has already finished and cannot be cancelled", md)
	case eeo.CodeReportNotReady:
		return rpcerr.New(codes.FailedPrecondition, ReasonReportNotReady, "the report has not succeeded yet; watch it or poll GetReport", md)
	}
	return rpcerr.New(codes.Aborted, ReasonEEOConflict, "EEO reported a conflict; retry", md)
}

// badRequestStatus is INVALID_ARGUMENT with a field violation naming the
// request field EEO objected to, in this API's terms.
func badRequestStatus(ee *eeo.Error, md map[string]string) error {
	reason, field, msg := ReasonEEOBadRequest, ee.Field, "EEO rejected the request"
	switch ee.Code {
	case eeo.CodeInvalidImportType:
		reason, field, msg = ReasonInvalidImportType, "import_type", "unknown import type; see ListImportTypes"
	case eeo.CodeInvalidReportType:
		reason, field, msg = ReasonInvalidReportType, "report_type", "unknown report type; see ListReportTypes"
	case eeo.CodeInvalidParameter:
		reason, field, msg = ReasonInvalidParameter, "parameters["+ee.Field+"]", "invalid report parameter; see ListReportTypes"
	case eeo.CodeUnsupportedFormat:
		reason, field, msg = ReasonUnsupportedFormat, "format", "the report type does not offer that format"
	case eeo.CodeEmptyFile:
		reason, field, msg = ReasonEmptyFile, "chunk", "the file is empty"
	}
	if field == "" {
		field = "request"
	}
	return rpcerr.New(codes.InvalidArgument, reason, msg, md, rpcerr.BadRequest(field, msg))
}

func requestIDReused() error {
	return rpcerr.New(codes.AlreadyExists, ReasonRequestIDReused,
		"request_id was already used for a different request; use a new request_id", nil)
}

func requestInProgress() error {
	return rpcerr.New(codes.Aborted, ReasonRequestInProgress,
		"a request with this request_id is still in progress; retry after it finishes", nil)
}

func checksumMismatch() error {
	return rpcerr.New(codes.InvalidArgument, ReasonChecksumMismatch,
		"the file's SHA-256 does not match expected_sha256; nothing was imported", nil,
		rpcerr.BadRequest("expected_sha256", "does not match the uploaded bytes"))
}
