package client

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"

	gwclient "github.com/eeo-gateway/eeo-gateway/client"
	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/spf13/cobra"
)

// uploadChunkSize is the size of each CreateImport chunk message: the
// proto's recommended maximum, well under gRPC's 4 MiB message limit.
const uploadChunkSize = 1 << 20

// uploadRequest is what `import upload` sends.
type uploadRequest struct {
	account, path, importType, requestID, fileName, contentType string
}

func newImportUploadCmd(o *options) *cobra.Command {
	var r uploadRequest
	var wait bool
	cmd := &cobra.Command{
		Use:   "upload ACCOUNT FILE --type TYPE",
		Short: "Upload a file for import, with a progress bar; --wait follows it to the end",
		Long: `Upload a file for import. The file's SHA-256 is computed first and sent
along, so the gateway refuses a file damaged on the way before EEO creates
anything; the import EEO records must have the same checksum.

With --request-id, running the same upload again returns the original import
instead of creating a second one. With --wait the command follows the import
until it ends and prints its row errors as a table; it exits 1 if the import
FAILED.`,
		Example: `  eeo-gateway client import upload demo people.csv --type participants --wait`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r.account, r.path = args[0], args[1]
			if r.importType == "" {
				// Checked here, not with MarkFlagRequired, whose error
				// cobra does not pass through the flag error hook, so
				// it would not exit as a usage error.
				return exitcode.Usagef("--type is required (see 'eeo-gateway client import types ACCOUNT')")
			}
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				im, err := o.upload(ctx, c, r)
				if err != nil {
					return err
				}
				if !wait {
					return o.printImport(im)
				}
				return o.waitForImport(ctx, c, im)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.importType, "type", "", "import `type` (see 'import types'); required")
	f.StringVar(&r.requestID, "request-id", "", "idempotency `key`: a retry with the same key returns the original import")
	f.StringVar(&r.fileName, "name", "", "file `name` EEO shows (default: FILE's base name)")
	f.StringVar(&r.contentType, "content-type", "", "media `type` (default: from FILE's extension, else text/csv)")
	f.BoolVar(&wait, "wait", false, "follow the import until it ends and print its row errors")
	return cmd
}

// upload streams the file at r.path into a new import.
func (o *options) upload(ctx context.Context, c clients, r uploadRequest) (*eeov1.Import, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, exitcode.Usagef("%s is not a regular file", r.path)
	}
	name := cmp.Or(r.fileName, filepath.Base(r.path))
	sum, err := o.hashFile(f, name, st.Size())
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}

	stream, err := c.imports.CreateImport(ctx)
	if err != nil {
		return nil, o.callError("starting the upload", err)
	}
	err = stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: &eeov1.ImportMetadata{
		Account:        r.account,
		ImportType:     r.importType,
		FileName:       name,
		ContentType:    cmp.Or(r.contentType, contentTypeOf(r.path)),
		RequestId:      r.requestID,
		ExpectedSha256: sum,
		SizeBytes:      st.Size(),
	}}})
	p := o.newProgress("uploading "+name, st.Size())
	buf := make([]byte, uploadChunkSize)
	for err == nil {
		var n int
		n, err = io.ReadFull(f, buf)
		if n > 0 {
			if sendErr := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: buf[:n]}}); sendErr != nil {
				err = sendErr
				break
			}
			p.add(int64(n))
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
			break
		}
	}
	// io.EOF from Send means the gateway ended the call; CloseAndRecv
	// returns why.
	if err != nil && !errors.Is(err, io.EOF) {
		p.stop()
		stream.CloseSend()
		return nil, fmt.Errorf("reading %s: %w", r.path, err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		p.stop()
		return nil, o.callError("uploading "+name, err)
	}
	p.done()
	im := resp.GetDataImport()
	if got := im.GetSha256(); got != "" && got != sum {
		return im, fmt.Errorf("%w: EEO recorded SHA-256 %s for import %s, the file has %s", errIntegrity, got, im.GetImportId(), sum)
	}
	return im, nil
}

// hashFile returns the lower-case hex SHA-256 of the rest of f.
func (o *options) hashFile(f io.Reader, name string, size int64) (string, error) {
	h := sha256.New()
	p := o.newProgress("checksumming "+name, size)
	if _, err := io.Copy(h, io.TeeReader(f, progressWriter{p})); err != nil {
		p.stop()
		return "", err
	}
	p.done()
	return hex.EncodeToString(h.Sum(nil)), nil
}

// progressWriter counts bytes written into a progress report.
type progressWriter struct{ p progress }

func (w progressWriter) Write(b []byte) (int, error) {
	w.p.add(int64(len(b)))
	return len(b), nil
}

// waitForImport follows an uploaded import to its end, prints it and its
// row errors, and fails if the import did.
func (o *options) waitForImport(ctx context.Context, c clients, im *eeov1.Import) error {
	if !gwclient.ImportDone(im.GetState()) {
		var err error
		if im, err = o.watchImport(ctx, c, im.GetAccount(), im.GetImportId(), o.progressOut(), false); err != nil {
			return err
		}
	}
	if err := o.printImport(im); err != nil {
		return err
	}
	if im.GetRejectedRowCount() > 0 && !o.json() {
		errs, err := o.importErrors(ctx, c, im.GetAccount(), im.GetImportId())
		if err != nil {
			return err
		}
		fmt.Fprintln(o.env.Stdout)
		if err := o.printImportErrors(errs.GetErrors()); err != nil {
			return err
		}
	}
	switch im.GetState() {
	case eeov1.ImportState_IMPORT_STATE_FAILED, eeov1.ImportState_IMPORT_STATE_CANCELLED:
		return fmt.Errorf("import %s %s: %d of %d rows rejected", im.GetImportId(), importStateText(im.GetState()), im.GetRejectedRowCount(), im.GetRowCount())
	}
	return nil
}

// progressOut is where state changes go while waiting: stderr, or nowhere
// with --quiet.
func (o *options) progressOut() io.Writer {
	if o.quiet {
		return io.Discard
	}
	return o.env.Stderr
}

// contentTypeOf guesses a file's media type from its extension, without
// parameters ("text/csv", not "text/csv; charset=utf-8"), which the
// gateway does not accept; "" leaves the choice to the gateway.
func contentTypeOf(path string) string {
	mt, _, err := mime.ParseMediaType(mime.TypeByExtension(filepath.Ext(path)))
	if err != nil {
		return ""
	}
	return mt
}
