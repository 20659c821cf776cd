package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errUpstreamFinished ends the feed when EEO has answered before reading
// the whole body (a rejection); its answer says why.
var errUpstreamFinished = errors.New("EEO answered before the upload ended")

// CreateImport streams the caller's chunks straight into the upstream
// request through a pipe, hashing them on the way: the gateway holds one
// chunk at a time whatever the file's size. Any failure before the last
// byte (caller gone, limit passed, checksum wrong) fails the upstream body,
// and EEO creates nothing for a body that did not complete.
func (s *importReportService) CreateImport(stream eeov1.ImportReportService_CreateImportServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) || (err == nil && first.GetMetadata() == nil) {
		return rpcerr.InvalidField("metadata", "the first message must carry the metadata; the file's bytes follow")
	}
	if err != nil {
		return uploadAborted(err)
	}
	md := first.GetMetadata()
	up, err := s.upstream(md.GetAccount())
	if err != nil {
		return err
	}
	u, err := s.checkUpload(md)
	if err != nil {
		return err
	}

	// Wait for the first bytes before calling EEO, so an empty file is
	// refused without an upstream request.
	chunk, err := nextChunk(stream)
	if errors.Is(err, io.EOF) {
		return rpcerr.New(codes.InvalidArgument, ReasonEmptyFile, "the file is empty; nothing was imported", nil)
	}
	if err != nil {
		return uploadAborted(err)
	}

	if u.RequestID == "" {
		imp, _, err := s.forward(ctx, up, stream, u, chunk)
		if err != nil {
			return err
		}
		s.owners.record(kindImport, imp.ID, md.GetAccount())
		return stream.SendAndClose(&eeov1.CreateImportResponse{DataImport: importProto(md.GetAccount(), imp)})
	}

	key := requestKey{account: md.GetAccount(), kind: "import", id: u.RequestID}
	claim, prior, err := s.requests.begin(ctx, key)
	if err != nil {
		return err
	}
	if claim == nil {
		imp, err := s.replayImport(ctx, up, stream, u, chunk, prior)
		if err != nil {
			return err
		}
		return stream.SendAndClose(&eeov1.CreateImportResponse{DataImport: importProto(md.GetAccount(), imp)})
	}
	defer s.requests.release(ctx, claim) // a failure or a panic forgets the id
	imp, sum, err := s.forward(ctx, up, stream, u, chunk)
	if err != nil {
		return err
	}
	s.requests.finish(ctx, claim, importFingerprint(u, sum), imp.ID)
	s.owners.record(kindImport, imp.ID, md.GetAccount())
	return stream.SendAndClose(&eeov1.CreateImportResponse{DataImport: importProto(md.GetAccount(), imp)})
}

// checkUpload validates the metadata and turns it into an upstream upload.
func (s *importReportService) checkUpload(md *eeov1.ImportMetadata) (eeo.Upload, error) {
	u := eeo.Upload{ImportType: md.GetImportType(), FileName: md.GetFileName(), ContentType: md.GetContentType(),
		RequestID: md.GetRequestId(), Size: md.GetSizeBytes()}
	u.ContentType = uploadContentType(u.ContentType, u.FileName)
	var err error
	if u.ExpectedSHA256, err = normalizeSHA256("expected_sha256", md.GetExpectedSha256()); err != nil {
		return u, err
	}
	for _, check := range []error{
		checkName("import_type", u.ImportType), checkFileName(u.FileName),
		checkContentType(u.ContentType), checkRequestID(u.RequestID),
	} {
		if check != nil {
			return u, check
		}
	}
	switch {
	case u.Size < 0:
		return u, rpcerr.InvalidField("size_bytes", "must not be negative")
	case u.Size > s.maxUploadBytes:
		return u, s.tooLarge()
	}
	return u, nil
}

// forward sends first and the rest of the stream to EEO as one upload and
// returns the import with the SHA-256 of what was sent.
func (s *importReportService) forward(ctx context.Context, up Upstream, stream eeov1.ImportReportService_CreateImportServer, u eeo.Upload, first []byte) (eeo.Import, string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	u.Body = pr
	type result struct {
		imp eeo.Import
		err error
	}
	done := make(chan result, 1)
	go func() {
		imp, err := up.CreateImport(ctx, u)
		pr.CloseWithError(errUpstreamFinished)
		done <- result{imp, err}
	}()

	h := sha256.New()
	stoppedEarly, feedErr := s.feed(stream, pw, h, first, u.ExpectedSHA256, u.Size)
	if feedErr != nil {
		// A failed body: EEO must not create anything from it.
		pw.CloseWithError(feedErr)
		cancel()
		<-done
		return eeo.Import{}, "", feedErr
	}
	pw.Close()
	r := <-done
	var bodyErr *eeo.BodyError
	if errors.As(r.err, &bodyErr) {
		// The body we fed was whole, so the client refused it for not
		// matching the declared size; feed checks that first, this is
		// the backstop.
		return eeo.Import{}, "", sizeMismatch()
	}
	if contentTypeRefused(r.err) {
		return eeo.Import{}, "", unsupportedContentType(ctx, up, u)
	}
	if r.err != nil {
		return eeo.Import{}, "", s.upstreamStatus(ctx, r.err, "")
	}
	if stoppedEarly && u.ExpectedSHA256 != "" && strings.EqualFold(r.imp.SHA256, u.ExpectedSHA256) {
		// EEO answered before reading the whole body: a retry whose
		// Idempotency-Key it knew (sent to another replica, or after a
		// restart), decided on the declared hash. The import it returned
		// holds exactly the declared bytes; cancelling it would destroy
		// what the first attempt created.
		return r.imp, u.ExpectedSHA256, nil
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if stoppedEarly || (r.imp.SHA256 != "" && r.imp.SHA256 != sum) {
		// EEO holds different bytes from those sent: never report success.
		if _, err := up.CancelImport(context.WithoutCancel(ctx), r.imp.ID); err != nil {
			return eeo.Import{}, "", dataLoss("EEO recorded different bytes from those uploaded, and cancelling import " + r.imp.ID + " failed")
		}
		return eeo.Import{}, "", dataLoss("EEO recorded different bytes from those uploaded; import " + r.imp.ID + " was cancelled")
	}
	return r.imp, sum, nil
}

// feed copies chunks into w, hashing and counting. It reports
// stoppedEarly when EEO stopped reading before the end, and an error when
// the body must fail: over the limit, not the declared size (when declared)
// or not the expected checksum (when given).
func (s *importReportService) feed(stream eeov1.ImportReportService_CreateImportServer, w io.Writer, h hash.Hash, chunk []byte, expected string, declared int64) (stoppedEarly bool, err error) {
	var n int64
	for {
		n += int64(len(chunk))
		if n > s.maxUploadBytes {
			return false, s.tooLarge()
		}
		if declared > 0 && n > declared {
			return false, sizeMismatch()
		}
		h.Write(chunk)
		if _, err := w.Write(chunk); err != nil {
			return true, nil
		}
		// w (a pipe to EEO's request, or io.Discard) keeps nothing of it.
		s.chunks.release(chunk)
		chunk, err = nextChunk(stream)
		if errors.Is(err, io.EOF) {
			if declared > 0 && n != declared {
				return false, sizeMismatch()
			}
			if expected != "" && hex.EncodeToString(h.Sum(nil)) != expected {
				return false, checksumMismatch()
			}
			return false, nil
		}
		if err != nil {
			return false, uploadAborted(err)
		}
	}
}

// replayImport answers a retry of a finished request: the original import
// if it uploads the same file, REQUEST_ID_REUSED if not. The file is read
// (and discarded) for its hash.
func (s *importReportService) replayImport(ctx context.Context, up Upstream, stream eeov1.ImportReportService_CreateImportServer, u eeo.Upload, chunk []byte, prior requestEntry) (eeo.Import, error) {
	// A retry that names the original's checksum can be answered before its
	// body is read; one that does not must be hashed to tell. Either way a
	// body that is sent is checked, so a retry whose bytes are not what it
	// claims gets CHECKSUM_MISMATCH, never the original import.
	if u.ExpectedSHA256 != "" && importFingerprint(u, u.ExpectedSHA256) != prior.fingerprint {
		return eeo.Import{}, requestIDReused()
	}
	h := sha256.New()
	if _, err := s.feed(stream, io.Discard, h, chunk, u.ExpectedSHA256, u.Size); err != nil {
		return eeo.Import{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if importFingerprint(u, sum) != prior.fingerprint {
		return eeo.Import{}, requestIDReused()
	}
	imp, err := up.GetImport(ctx, prior.resultID)
	if err != nil {
		return eeo.Import{}, s.upstreamStatus(ctx, err, ReasonImportNotFound)
	}
	return imp, nil
}

// nextChunk returns the next non-empty chunk, or io.EOF after the last.
func nextChunk(stream eeov1.ImportReportService_CreateImportServer) ([]byte, error) {
	for {
		msg, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		if msg.GetMetadata() != nil {
			return nil, rpcerr.InvalidField("metadata", "only the first message may carry metadata")
		}
		if c := msg.GetChunk(); len(c) > 0 {
			return c, nil
		}
	}
}

func importFingerprint(u eeo.Upload, sum string) string {
	return u.ImportType + "\x00" + u.FileName + "\x00" + sum
}

func (s *importReportService) tooLarge() error {
	limit := strconv.FormatInt(s.maxUploadBytes, 10)
	return rpcerr.New(codes.ResourceExhausted, ReasonUploadTooLarge,
		fmt.Sprintf("the file exceeds the %s-byte upload limit; nothing was imported", limit), map[string]string{"limit_bytes": limit})
}

// uploadAborted reports a stream that failed before its end: nothing is
// imported from it.
func uploadAborted(err error) error {
	if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument {
		return err
	}
	code := status.Code(err)
	if code == codes.Unknown || code == codes.OK {
		code = codes.Canceled
	}
	return rpcerr.New(code, ReasonUploadAborted, "the upload ended before its last byte; nothing was imported", nil)
}

func sizeMismatch() error {
	return rpcerr.InvalidField("size_bytes", "does not match the number of bytes sent; nothing was imported")
}

func dataLoss(msg string) error {
	return rpcerr.New(codes.DataLoss, ReasonDataLoss, msg, nil)
}
