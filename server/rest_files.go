package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"
	"unicode/utf8"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// grpc-gateway maps neither raw nor multipart uploads onto a client stream,
// nor a byte stream onto a plain HTTP body with the right headers, so these
// two routes are hand-written. Like the generated ones they call the gRPC
// server through the facade's connection, so every interceptor applies.

// headerVerifySHA256 is the REST form of mdVerifySHA256: "caller" when the
// client checks the body against X-Content-SHA256 itself.
const headerVerifySHA256 = "X-Verify-SHA256"

// uploadChunk is how much of a REST upload goes into one gRPC message.
const uploadChunk = 256 << 10

// restFiles holds what the file routes need from the facade.
type restFiles struct {
	mux    *runtime.ServeMux
	client eeov1.ImportReportServiceClient
	// uploadIdle cuts off an upload body that sends nothing for this long.
	uploadIdle time.Duration
	// sinks take REST downloads' bytes from DownloadReport.
	sinks *downloadSinks
}

func (f *restFiles) register() error {
	if err := f.mux.HandlePath(http.MethodPost, "/v1/accounts/{account}/imports", f.upload); err != nil {
		return err
	}
	return f.mux.HandlePath(http.MethodGet, "/v1/accounts/{account}/reports/{report_id}:download", f.download)
}

// fail writes err the way every other route does: google.rpc.Status JSON.
func (f *restFiles) fail(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	_, outbound := runtime.MarshalerForRequest(f.mux, r)
	runtime.HTTPError(ctx, f.mux, outbound, w, r, err)
}

// callContext carries the request's headers into gRPC metadata with the
// facade's header rules, as generated routes do.
func (f *restFiles) callContext(r *http.Request, method, pattern string) (context.Context, error) {
	return runtime.AnnotateContext(r.Context(), f.mux, r, method, runtime.WithHTTPPathPattern(pattern))
}

// upload handles POST /v1/accounts/{account}/imports. The file is the raw
// body, or the part named "file" of a multipart/form-data body; metadata
// comes from query parameters (importType, fileName, contentType, requestId,
// expectedSha256, in camelCase or snake_case) or, for multipart, from form
// fields before the file part.
func (f *restFiles) upload(w http.ResponseWriter, r *http.Request, params map[string]string) {
	// The route is the upload's, so the body is exempt from the JSON cap;
	// files.max_upload_bytes bounds it instead. Every refusal goes through
	// refuse, which knows from tracked how to deliver it.
	upload, interrupt := takeUploadBody(r, f.uploadIdle)
	tracked := &uploadBody{r: upload}
	r.Body = readCloser{tracked, r.Body}
	ctx, err := f.callContext(r, eeov1.ImportReportService_CreateImport_FullMethodName, "/v1/accounts/{account}/imports")
	if err != nil {
		f.refuse(r.Context(), w, r, tracked, err)
		return
	}
	md := &eeov1.ImportMetadata{Account: params["account"]}
	q := r.URL.Query()
	query := func(camel, snake string) string {
		if v := q.Get(camel); v != "" {
			return v
		}
		return q.Get(snake)
	}
	md.ImportType = query("importType", "import_type")
	md.FileName = query("fileName", "file_name")
	md.ContentType = query("contentType", "content_type")
	md.RequestId = query("requestId", "request_id")
	md.ExpectedSha256 = query("expectedSha256", "expected_sha256")
	if v := r.Header.Get("Idempotency-Key"); v != "" && md.RequestId == "" {
		md.RequestId = v
	}

	var body io.Reader = r.Body
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		part, err := fileFromMultipart(r, md)
		if err != nil {
			f.refuse(ctx, w, r, tracked, rpcerr.InvalidField("file", err.Error()))
			return
		}
		defer part.Close()
		body = part
	} else {
		// curl --data-binary labels any file a form; that says nothing
		// about it, so the file name decides (uploadContentType).
		if md.ContentType == "" && mt != mediaTypeFormURL {
			md.ContentType = mt
		}
		if r.ContentLength > 0 {
			md.SizeBytes = r.ContentLength
		}
	}

	for _, v := range []string{md.ImportType, md.FileName, md.ContentType, md.RequestId, md.ExpectedSha256} {
		if !utf8.ValidString(v) {
			f.refuse(ctx, w, r, tracked, rpcerr.InvalidField("request", "metadata must be UTF-8"))
			return
		}
	}

	// The call's own context: cancelling it tells the server the upload
	// failed, so nothing is imported from a body that broke off.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := f.client.CreateImport(ctx)
	if err != nil {
		f.refuse(ctx, w, r, tracked, err)
		return
	}
	// The answer is awaited while the body is sent, so a server that ends
	// the call early (refusing it: over the caller's share of transfers,
	// say) is heard at once, and interrupts a body that may have stalled.
	type answer struct {
		resp *eeov1.CreateImportResponse
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp := new(eeov1.CreateImportResponse)
		err := stream.RecvMsg(resp)
		answered <- answer{resp, err}
		if err != nil {
			interrupt()
		}
	}()
	if err := sendUpload(stream, md, body); errors.Is(err, errBodyRead) {
		waiting := true
		select {
		case a := <-answered:
			waiting = false
			// The server ended the call first; its reason stands. But a
			// failed body read can make net/http cancel the request's
			// context, and then the "answer" is only our own stream
			// reporting that cancellation, with no reason of the server's.
			if a.err != nil && !cancelledHere(ctx, a.err) {
				f.refuse(ctx, w, r, tracked, a.err)
				return
			}
		default:
		}
		// The body broke off or is malformed (chunked encoding, multipart
		// boundary). Cancelling tells the server, which fails the upstream
		// body; the client, if still there, learns nothing was imported.
		cancel()
		if waiting {
			<-answered
		}
		f.refuse(r.Context(), w, r, tracked, rpcerr.New(codes.InvalidArgument, ReasonUploadAborted,
			"the request body ended early or is malformed; nothing was imported", nil))
		return
	}
	stream.CloseSend()
	a := <-answered
	resp, err := a.resp, a.err
	if err != nil {
		f.refuse(ctx, w, r, tracked, err)
		return
	}
	runtime.ForwardResponseMessage(ctx, f.mux, outboundMarshaler(f.mux, r), w, r, resp)
}

var errBodyRead = errors.New("reading the request body")

// cancelledHere reports whether err is the client stream's own report of
// ctx ending (CANCELLED with no details), not a status the server sent.
func cancelledHere(ctx context.Context, err error) bool {
	s, _ := status.FromError(err)
	return ctx.Err() != nil && s.Code() == codes.Canceled && len(s.Details()) == 0
}

// sendUpload sends the metadata and the body in chunks. It stops quietly
// when the server has already answered (a Send error): CloseAndRecv then
// says why.
func sendUpload(stream grpc.ClientStreamingClient[eeov1.CreateImportRequest, eeov1.CreateImportResponse], md *eeov1.ImportMetadata, body io.Reader) error {
	if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}}); err != nil {
		return err
	}
	buf := make([]byte, uploadChunk)
	for {
		n, err := fill(body, buf)
		if err != nil && !errors.Is(err, io.EOF) {
			return errBodyRead
		}
		if n > 0 {
			if sendErr := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: buf[:n]}}); sendErr != nil {
				return sendErr
			}
		}
		if err != nil {
			return nil
		}
	}
}

// fileFromMultipart reads form fields up to the part named "file" and
// returns that part, unread.
func fileFromMultipart(r *http.Request, md *eeov1.ImportMetadata) (*multipart.Part, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, errors.New(`multipart body has no part named "file"`)
		}
		name := part.FormName()
		if name == "file" {
			if md.FileName == "" {
				md.FileName = part.FileName()
			}
			if md.ContentType == "" {
				md.ContentType, _, _ = mime.ParseMediaType(part.Header.Get("Content-Type"))
			}
			return part, nil
		}
		value, err := io.ReadAll(io.LimitReader(part, 1024))
		part.Close()
		if err != nil {
			return nil, err
		}
		v := string(value)
		switch name {
		case "importType", "import_type":
			md.ImportType = v
		case "fileName", "file_name":
			md.FileName = v
		case "contentType", "content_type":
			md.ContentType = v
		case "requestId", "request_id":
			md.RequestId = v
		case "expectedSha256", "expected_sha256":
			md.ExpectedSha256 = v
		}
	}
}

// download handles GET /v1/accounts/{account}/reports/{report_id}:download:
// the report's bytes as the body, with Content-Type, Content-Length and
// Content-Disposition. An error before the first byte is a JSON status; one
// after it aborts the connection, so the client sees a body shorter than
// Content-Length rather than a silently truncated file. The call goes
// through the in-process connection like any other; its bytes come back
// through the response's restSink.
func (f *restFiles) download(w http.ResponseWriter, r *http.Request, params map[string]string) {
	ctx, err := f.callContext(r, eeov1.ImportReportService_DownloadReport_FullMethodName, "/v1/accounts/{account}/reports/{report_id}:download")
	if err != nil {
		f.fail(r.Context(), w, r, err)
		return
	}
	if r.Header.Get(headerVerifySHA256) == verifySHA256Caller {
		ctx = metadata.AppendToOutgoingContext(ctx, mdVerifySHA256, verifySHA256Caller)
	}
	sink := newRESTSink(w)
	callCtx, unregister := f.sinks.add(ctx, sink)
	err = f.receive(callCtx, sink, &eeov1.DownloadReportRequest{Account: params["account"], ReportId: params["report_id"]})
	unregister()
	if started := sink.close(); err != nil {
		if started {
			panic(http.ErrAbortHandler) // the status cannot follow a body already started
		}
		f.fail(ctx, w, r, err)
	}
}

// receive makes the DownloadReport call and waits for it to end. The
// server writes into sink itself; any messages it sends instead (none, as
// things are) are written into it here.
func (f *restFiles) receive(ctx context.Context, sink *restSink, req *eeov1.DownloadReportRequest) error {
	stream, err := f.client.DownloadReport(ctx, req)
	if err != nil {
		return err
	}
	for first := true; ; first = false {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if first {
			header, _ := stream.Header()
			sink.setHeader(header)
		}
		if err := sink.write(msg.GetData(), msg.GetContentType()); err != nil {
			return nil // the client went away: nothing to tell it
		}
	}
}

// fill reads until buf is full or the reader ends. Unlike io.ReadFull it
// returns io.EOF only for a clean end: a body cut short (io.ErrUnexpectedEOF
// from net/http) stays an error, so it can never pass for a whole file.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func outboundMarshaler(mux *runtime.ServeMux, r *http.Request) runtime.Marshaler {
	_, m := runtime.MarshalerForRequest(mux, r)
	return m
}

// readCloser reads from one reader and closes another: the upload body
// with its idle deadline, closed through the request's own body.
type readCloser struct {
	io.Reader
	io.Closer
}
