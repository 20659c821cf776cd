package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	gwclient "github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc/metadata"
)

// Response header metadata of DownloadReport (see its documentation in
// proto/eeo/v1/import_report_service.proto).
const (
	mdContentLength = "x-content-length"
	mdContentSHA256 = "x-content-sha256"
	// mdVerifySHA256 "caller" tells the gateway the SHA-256 is checked here.
	mdVerifySHA256     = "x-verify-sha256"
	verifySHA256Caller = "caller"
)

// stdoutName is the -o value that means standard output.
const stdoutName = "-"

// downloadAndReport downloads a finished report to out and says where it
// went and that its checksum matched.
func (o *options) downloadAndReport(ctx context.Context, c clients, rep *eeov1.Report, out string) error {
	res, err := o.download(ctx, c, rep, out)
	if err != nil {
		return err
	}
	if o.json() && out != stdoutName {
		return o.printJSON(rep)
	}
	if out == stdoutName {
		return nil
	}
	_, err = fmt.Fprintf(o.env.Stdout, "%s: %s, SHA-256 %s verified\n", res.path, humanBytes(res.size), res.sha256)
	return err
}

// downloaded is a verified download.
type downloaded struct {
	path, sha256 string
	size         int64
}

// download streams report rep's content into out (default: the report's
// file name in the current directory), verifying size and SHA-256 against
// what the gateway announced and what the report records. A file is written
// under a temporary name and renamed into place only once verified.
func (o *options) download(ctx context.Context, c clients, rep *eeov1.Report, out string) (downloaded, error) {
	if out == "" {
		out = safeFileName(rep.GetFileName(), rep.GetReportId())
	}
	if out != stdoutName {
		// A file is renamed into place only once verified here, so the
		// gateway need not hash the stream too. Standard output cannot
		// take bytes back: there the gateway checks as well, and holds
		// the last bytes of a damaged report back.
		ctx = metadata.AppendToOutgoingContext(ctx, mdVerifySHA256, verifySHA256Caller)
	}
	// Each message is written below before the next is received, as
	// DownloadCallOption requires: it spares a copy and an allocation of
	// every message.
	stream, err := c.imports.DownloadReport(ctx, &eeov1.DownloadReportRequest{Account: rep.GetAccount(), ReportId: rep.GetReportId()},
		gwclient.DownloadCallOption())
	if err != nil {
		return downloaded{}, o.callError("downloading the report", err)
	}
	// A failed call has no header; its error comes from Recv below.
	header, _ := stream.Header()
	wantSize, wantSum := rep.GetSizeBytes(), rep.GetSha256()
	if v := header.Get(mdContentLength); len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil {
			wantSize = n
		}
	}
	if v := header.Get(mdContentSHA256); len(v) == 1 && v[0] != "" {
		if wantSum != "" && v[0] != wantSum {
			return downloaded{}, fmt.Errorf("%w: the gateway announced SHA-256 %s for report %s, which records %s", errIntegrity, v[0], rep.GetReportId(), wantSum)
		}
		wantSum = v[0]
	}

	dst, commit, abort, err := openOutput(out, o.env.Stdout)
	if err != nil {
		return downloaded{}, err
	}
	h := sha256.New()
	w := io.MultiWriter(dst, h)
	p := o.newProgress("downloading "+filepath.Base(out), wantSize)
	var n int64
	var recvErr, writeErr error
	for writeErr == nil {
		var body *httpbody.HttpBody
		if body, recvErr = stream.Recv(); recvErr != nil {
			break
		}
		var k int
		k, writeErr = w.Write(body.GetData())
		n += int64(k)
		p.add(int64(k))
	}
	switch {
	case writeErr != nil:
		p.stop()
		abort()
		return downloaded{}, fmt.Errorf("writing %s: %w", out, writeErr)
	case !errors.Is(recvErr, io.EOF):
		p.stop()
		abort()
		return downloaded{}, o.callError("downloading the report", recvErr)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	switch {
	case wantSize > 0 && n != wantSize:
		err = fmt.Errorf("%w: received %d bytes of report %s, expected %d", errIntegrity, n, rep.GetReportId(), wantSize)
	case wantSum != "" && sum != wantSum:
		err = fmt.Errorf("%w: report %s has SHA-256 %s, expected %s", errIntegrity, rep.GetReportId(), sum, wantSum)
	case wantSum == "":
		err = fmt.Errorf("%w: the gateway sent no SHA-256 for report %s, so it cannot be verified", errIntegrity, rep.GetReportId())
	}
	if err != nil {
		p.stop()
		abort()
		return downloaded{}, o.callError("", err)
	}
	p.done()
	if err := commit(); err != nil {
		return downloaded{}, err
	}
	return downloaded{path: out, sha256: sum, size: n}, nil
}

// openOutput opens where a download goes. For a file that is a temporary
// file beside it, renamed over it by commit and removed by abort; for "-"
// it is stdout, where abort can only stop writing.
func openOutput(out string, stdout io.Writer) (w io.Writer, commit func() error, abort func(), err error) {
	if out == stdoutName {
		return stdout, func() error { return nil }, func() {}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".part-*")
	if err != nil {
		return nil, nil, nil, err
	}
	commit = func() error {
		// CreateTemp makes the file private; a report is as readable as
		// any file the user writes.
		if err := tmp.Chmod(0o644); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return err
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return err
		}
		if err := tmp.Close(); err != nil {
			os.Remove(tmp.Name())
			return err
		}
		return os.Rename(tmp.Name(), out)
	}
	abort = func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	return tmp, commit, abort, nil
}

// safeFileName is the report's file name reduced to a base name, so a
// gateway cannot make the client write outside the current directory.
func safeFileName(name, id string) string {
	base := filepath.Base(filepath.Clean("/" + name))
	if base == "/" || base == "." || base == ".." || base == "" {
		return id
	}
	return base
}
