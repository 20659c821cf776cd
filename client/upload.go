package client

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"context"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/protobuf/proto"
)

// Upload creates an import from r with CreateImport: md first, then r's
// bytes in chunks (see WithChunkSize). md is not modified; what Upload adds
// goes into a copy:
//
//   - request_id, if empty, is a new random one, so the gateway and EEO can
//     recognise a retry of this upload; set it yourself to retry safely
//     after an error (resend the same file with the same id).
//   - expected_sha256 and size_bytes, if empty and r is an io.ReadSeeker
//     (an *os.File, a *bytes.Reader), are computed by reading r once
//     before sending it, so the gateway refuses a file that arrives
//     differently. Otherwise Upload hashes while it sends and compares with
//     the SHA-256 the gateway reports, returning a *ChecksumError if they
//     differ.
//
// The returned import is the gateway's answer; watch it with WatchImport
// to see EEO's verdict.
func (c *Client) Upload(ctx context.Context, md *eeov1.ImportMetadata, r io.Reader) (*eeov1.Import, error) {
	md = proto.Clone(md).(*eeov1.ImportMetadata)
	if md.GetRequestId() == "" {
		md.RequestId = "client-" + rand.Text()
	}
	if md.GetExpectedSha256() == "" {
		if rs, ok := r.(io.ReadSeeker); ok {
			sum, n, err := hashSeeker(rs)
			if err != nil {
				return nil, err
			}
			md.ExpectedSha256 = sum
			if md.GetSizeBytes() == 0 {
				md.SizeBytes = n
			}
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.files.CreateImport(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: CreateImport: %w", err)
	}
	if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}}); err != nil {
		return nil, closeAndRecv(stream, err)
	}
	h := sha256.New()
	buf := make([]byte, c.opts.chunkSize)
	for {
		n, readErr := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			// Send copies the message onto the wire before returning, so
			// buf can be reused.
			if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				return nil, closeAndRecv(stream, err)
			}
		}
		if errors.Is(readErr, io.EOF) || errors.Is(readErr, io.ErrUnexpectedEOF) {
			break
		}
		if readErr != nil {
			// Cancelling aborts the stream, so the gateway creates no
			// import from a partial file.
			cancel()
			return nil, fmt.Errorf("client: reading the upload: %w", readErr)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("client: CreateImport: %w", err)
	}
	imp := resp.GetDataImport()
	if got := hex.EncodeToString(h.Sum(nil)); imp.GetSha256() != "" && imp.GetSha256() != got {
		return imp, &ChecksumError{Op: "upload", Want: got, Got: imp.GetSha256()}
	}
	return imp, nil
}

// closeAndRecv turns a failed Send into the stream's status: gRPC reports
// io.EOF from Send when the server has already ended the call, and the
// reason is what CloseAndRecv returns.
func closeAndRecv(stream eeov1.ImportReportService_CreateImportClient, sendErr error) error {
	if errors.Is(sendErr, io.EOF) {
		if _, err := stream.CloseAndRecv(); err != nil {
			return fmt.Errorf("client: CreateImport: %w", err)
		}
	}
	return fmt.Errorf("client: CreateImport: %w", sendErr)
}

// hashSeeker returns the SHA-256 and length of rs from its current offset
// to the end, and seeks back.
func hashSeeker(rs io.ReadSeeker) (string, int64, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", 0, fmt.Errorf("client: hashing the upload: %w", err)
	}
	var h hash.Hash = sha256.New()
	n, err := io.Copy(h, rs)
	if err != nil {
		return "", 0, fmt.Errorf("client: hashing the upload: %w", err)
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return "", 0, fmt.Errorf("client: hashing the upload: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
