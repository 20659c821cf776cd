package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"strconv"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// Response header metadata of DownloadReport, also used by the REST facade
// to set the HTTP headers.
const (
	mdContentLength      = "x-content-length"
	mdContentSHA256      = "x-content-sha256"
	mdContentDisposition = "content-disposition"
)

// DownloadReport streams a report's content from EEO to the caller one
// buffer at a time, hashing it on the way. The stream ends with DATA_LOSS
// when the bytes do not add up to the report's size and SHA-256, so a caller
// never takes a damaged file for a good one.
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
	if err := stream.SendHeader(header); err != nil {
		return err
	}
	contentType := dl.ContentType
	if contentType == "" {
		contentType = "application/octet-stream"
	}

	h := sha256.New()
	p := startDownloadPipe(dlCtx, cancelDownload, dl.Body, h)
	defer p.stop()
	var sent int64
	for first := true; ; first = false {
		c, ok := p.next()
		if !ok {
			break
		}
		n, readErr := c.n, c.err
		if n > 0 || first {
			msg := &httpbody.HttpBody{Data: c.data()}
			if first {
				msg.ContentType = contentType
			}
			// Send copies the bytes into the message it frames, so the
			// buffer can be hashed and reused as soon as it returns.
			if err := stream.Send(msg); err != nil {
				return err
			}
			sent += int64(n)
		}
		p.hash(c)
		if errors.Is(readErr, io.EOF) {
			break
		}
		if readErr != nil {
			return rpcerr.New(codes.Unavailable, ReasonEEOUnavailable, "EEO stopped sending the report part way; download it again", nil,
				retryInfo(s.now(), s.now()))
		}
	}
	p.wait()
	if sent != size {
		return dataLoss("EEO sent " + strconv.FormatInt(sent, 10) + " of the report's " + strconv.FormatInt(size, 10) + " bytes; download it again")
	}
	if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
		return dataLoss("the report's bytes do not match its SHA-256; download it again")
	}
	return nil
}
