package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc/metadata"
)

// mdContentSHA256 is the DownloadReport response header carrying the
// SHA-256 the gateway declares for the report.
const mdContentSHA256 = "x-content-sha256"

// mdVerifySHA256 is the DownloadReport request metadata with which a
// caller tells the gateway it checks the SHA-256 itself ("caller").
const (
	mdVerifySHA256     = "x-verify-sha256"
	verifySHA256Caller = "caller"
)

// Downloaded describes a report written by Download.
type Downloaded struct {
	// ContentType is the report's media type, for example "text/csv".
	ContentType string
	// Size is the number of bytes written.
	Size int64
	// SHA256 is their SHA-256, lowercase hex: the one the gateway declared.
	SHA256 string
}

// Download writes a SUCCEEDED report's content to w with DownloadReport and
// verifies it against the SHA-256 the gateway declares before the first
// byte. Bytes reach w as they arrive, so on any error — a *ChecksumError
// (DATA_LOSS), or the stream's own status — what w holds must be
// discarded: write to a temporary file and rename it on success.
func (c *Client) Download(ctx context.Context, account, reportID string, w io.Writer) (Downloaded, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// It checks the SHA-256 below, so the gateway need not hash the stream
	// as well (it still checks the size).
	ctx = metadata.AppendToOutgoingContext(ctx, mdVerifySHA256, verifySHA256Caller)
	// Each message is written below before the next is received, as
	// DownloadCallOption requires.
	stream, err := c.files.DownloadReport(ctx, &eeov1.DownloadReportRequest{Account: account, ReportId: reportID},
		DownloadCallOption())
	if err != nil {
		return Downloaded{}, fmt.Errorf("client: DownloadReport: %w", err)
	}
	var d Downloaded
	h := sha256.New()
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return d, fmt.Errorf("client: DownloadReport: %w", err)
		}
		if d.ContentType == "" {
			d.ContentType = msg.GetContentType()
		}
		h.Write(msg.GetData())
		n, err := w.Write(msg.GetData())
		d.Size += int64(n)
		if err != nil {
			return d, fmt.Errorf("client: writing the report: %w", err)
		}
	}
	header, err := stream.Header()
	if err != nil {
		return d, fmt.Errorf("client: DownloadReport: %w", err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	want := first(header.Get(mdContentSHA256))
	if want == "" || want != got {
		return d, &ChecksumError{Op: "download", Want: want, Got: got}
	}
	d.SHA256 = got
	return d, nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
