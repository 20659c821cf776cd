package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"mime"
	"strconv"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Response header metadata of DownloadReport, also used by the REST facade
// to set the HTTP headers.
const (
	mdContentLength      = "x-content-length"
	mdContentSHA256      = "x-content-sha256"
	mdContentDisposition = "content-disposition"
)

// mdVerifySHA256 is DownloadReport request metadata (over REST, the
// X-Verify-SHA256 header) with which a caller says who checks the bytes
// against x-content-sha256: "caller" when it does so itself, as
// client.Download and any careful downloader do. The gateway then skips its
// own SHA-256 of the stream but still checks its size; anything else, or
// nothing, and the gateway hashes as well, ending a mismatch with DATA_LOSS.
const (
	mdVerifySHA256     = "x-verify-sha256"
	verifySHA256Caller = "caller"
)

// callerVerifies reports whether the call's metadata says the caller checks
// the SHA-256 itself.
func callerVerifies(ctx context.Context) bool {
	v := metadata.ValueFromIncomingContext(ctx, mdVerifySHA256)
	return len(v) == 1 && v[0] == verifySHA256Caller
}

// DownloadReport streams a report's content from EEO to the caller one
// buffer at a time, hashing it on the way. The stream ends with DATA_LOSS
// when the bytes do not add up to the report's size and SHA-256, so a caller
// never takes a damaged file for a good one — unless the caller said it
// checks the SHA-256 itself (mdVerifySHA256), when only the size is
// checked here.
func (s *importReportService) DownloadReport(req *eeov1.DownloadReportRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	ctx := stream.Context()
	up, err := s.objectUpstream(req.GetAccount(), kindReport, req.GetReportId())
	if err != nil {
		return err
	}
	rep, err := up.GetReport(ctx, req.GetReportId())
	if err != nil {
		return s.upstreamStatus(ctx, err, ReasonReportNotFound)
	}
	if rep.State != "SUCCEEDED" {
		return rpcerr.New(codes.FailedPrecondition, ReasonReportNotReady,
			"the report is "+rep.State+", not SUCCEEDED; watch it or poll GetReport", map[string]string{"state": rep.State})
	}
	// The body is read on the pipe's goroutine; cancelling its request is
	// how the pipe stops a read in flight.
	dlCtx, cancelDownload := context.WithCancel(ctx)
	defer cancelDownload()
	dl, err := up.DownloadReport(dlCtx, req.GetReportId())
	if err != nil {
		return s.upstreamStatus(ctx, err, ReasonReportNotFound)
	}
	defer dl.Body.Close()

	size, want := rep.SizeBytes, rep.SHA256
	if dl.ContentLength >= 0 {
		size = dl.ContentLength
	}
	if want == "" {
		want = dl.SHA256
	}
	fileName := dl.FileName
	if fileName == "" {
		fileName = rep.FileName
	}
	header := metadata.Pairs(mdContentLength, strconv.FormatInt(size, 10), mdContentSHA256, want)
	if fileName != "" {
		header.Set(mdContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": fileName}))
	}
	// A REST download's bytes go straight into its response (restSink).
	sink := s.sinks.from(ctx)
	if sink != nil {
		sink.setHeader(header)
	} else if err := stream.SendHeader(header); err != nil {
		return err
	}
	contentType := dl.ContentType
	if contentType == "" {
		contentType = "application/octet-stream"
	}

	// The gateway hashes unless the caller checks the SHA-256 itself:
	// hashing every byte in both places is the largest single cost of a
	// download, and only the end that keeps the file needs to.
	var h hash.Hash
	if !callerVerifies(ctx) {
		h = sha256.New()
	}
	p := startDownloadPipe(dlCtx, cancelDownload, dl.Body, h, &s.chunks.small)
	defer p.stop()

	var sent int64
	first := true
	send := func(c downloadChunkRead) error {
		if c.n == 0 && !first {
			return nil
		}
		if sink != nil {
			first = false
			if err := sink.write(c.data(), contentType); err != nil {
				return status.FromContextError(context.Canceled).Err() // the REST client went away
			}
			sent += int64(c.n)
			return nil
		}
		msg := &httpbody.HttpBody{Data: c.data()}
		if first {
			msg.ContentType = contentType // even on an empty report's one message
			first = false
		}
		// Sent without a copy (transferCodec): the buffer goes back to the
		// pipe once grpc-go has written it out and it is hashed.
		if err := stream.SendMsg(&downloadMessage{HttpBody: msg, buf: c.buf}); err != nil {
			return err
		}
		sent += int64(c.n)
		return nil
	}
	// The last chunk is held back until the whole report is checked, so a
	// damaged or short report never reaches the caller whole: over REST,
	// where no status can follow the body, the client sees it cut off.
	var held downloadChunkRead
	holding := false
	for {
		c, ok := p.next()
		if !ok {
			return status.FromContextError(dlCtx.Err()).Err() // the caller went away
		}
		if c.err != nil && !errors.Is(c.err, io.EOF) {
			return rpcerr.New(codes.Unavailable, ReasonEEOUnavailable, "EEO stopped sending the report part way; download it again", nil,
				retryInfo(s.now(), s.now()))
		}
		if holding {
			if err := send(held); err != nil {
				return err
			}
			p.hash(held)
		}
		if sent+int64(c.n) > size {
			return dataLoss("EEO sent more than the report's " + strconv.FormatInt(size, 10) + " bytes; download it again")
		}
		if c.err == nil {
			held, holding = c, true
			continue
		}
		// End of the report: c is the last chunk. Check it all, then send it.
		p.wait()
		if got := sent + int64(c.n); got != size {
			return dataLoss("EEO sent " + strconv.FormatInt(got, 10) + " of the report's " + strconv.FormatInt(size, 10) + " bytes; download it again")
		}
		if h != nil && want != "" {
			h.Write(c.data())
			if hex.EncodeToString(h.Sum(nil)) != want {
				return dataLoss("the report's bytes do not match its SHA-256; download it again")
			}
		}
		if err := send(c); err != nil {
			// Left to the garbage collector, not the pool: a write the
			// response gave up on (REST over HTTP/2, its stream reset) may
			// still be copying from it on the connection's writer.
			return err
		}
		p.release(c)
		return nil
	}
}
