package e2e_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
)

// TestTruncatedRESTUploadCreatesNothing proves that a REST upload whose
// client disappears part way creates nothing at EEO, even though its first
// half megabyte of valid CSV already reached EEO, and that its request id
// is released so the client's retry succeeds.
func TestTruncatedRESTUploadCreatesNothing(t *testing.T) {
	s := newStack(t, stackOptions{})
	const requestID = "truncated-1"
	file := participantsFile(2<<20, "trunc")
	query := url.Values{"importType": {"participants"}, "fileName": {"truncated.csv"}, "requestId": {requestID}}

	host := strings.TrimPrefix(s.restURL, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST %s?%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n",
		importsPath, query.Encode(), host, len(file))
	sent := 600 << 10 // more than two of the facade's 256 KiB chunks
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(file[:sent]); err != nil {
		t.Fatal(err)
	}
	// The upload must have reached EEO before the client goes, or this
	// test would prove nothing about EEO.
	waitFor(t, "the upload to reach the sandbox", func() bool { return s.sb.Stats().APIRequests >= 1 })
	conn.Close()

	waitFor(t, "the gateway's CreateImport to finish", func() bool { return len(s.finishedCalls(t, "CreateImport")) >= 1 })
	calls := s.finishedCalls(t, "CreateImport")
	if len(calls) != 1 || calls[0]["grpc.code"] == codes.OK.String() {
		t.Fatalf("the gateway logged %d CreateImport calls, the first with code %v; want 1 that failed", len(calls), calls[0]["grpc.code"])
	}
	// EEO was reading the body when it broke off: it counts an aborted upload.
	waitFor(t, "the sandbox to count the aborted upload", func() bool { return s.sb.Stats().UploadsAborted >= 1 })
	if st := s.sb.Stats(); st.ImportsCreated != 0 || st.UploadsAborted != 1 || st.APIRequests != 1 {
		t.Fatalf("sandbox: %d imports created, %d uploads aborted, %d API requests; want 0, 1, 1", st.ImportsCreated, st.UploadsAborted, st.APIRequests)
	}

	// The id was released: the whole file with the same id imports once.
	// EEO releases its hold on the id just after counting the abort, so a
	// retry may briefly find it in use, as any client may; it retries.
	var code int
	var body []byte
	waitFor(t, "the request id to be released", func() bool {
		code, _, body = s.restUpload(t, query, file)
		return code != http.StatusConflict || !strings.Contains(string(body), server.ReasonRequestInProgress)
	})
	var resp eeov1.CreateImportResponse
	decodeREST(t, "REST retry of the truncated upload", code, body, &resp)
	if imp := resp.GetDataImport(); imp.GetSha256() != sha256Hex(file) || imp.GetSizeBytes() != int64(len(file)) || imp.GetRequestId() != requestID {
		t.Errorf("retry created %v; want the whole file under request id %s", imp, requestID)
	}
	if n := s.sb.Stats().ImportsCreated; n != 1 {
		t.Errorf("sandbox created %d imports, want 1", n)
	}
}

// TestUploadOverLimitIsRefused proves MaxUploadBytes: a file over it fails
// with RESOURCE_EXHAUSTED / UPLOAD_TOO_LARGE over gRPC (whether its size is
// declared or only found out while streaming) and HTTP 413 over REST (raw
// and multipart), and nothing is created; a file under it still imports.
func TestUploadOverLimitIsRefused(t *testing.T) {
	const limit = 64 << 10
	s := newStack(t, stackOptions{Server: func(c *server.Config) { c.MaxUploadBytes = limit }})
	big := participantsFile(100<<10, "big")
	md := &eeov1.ImportMetadata{ImportType: "participants", FileName: "big.csv"}

	_, err := s.upload(t.Context(), md, big, 16<<10)
	testkit.WantStatus(t, err, codes.ResourceExhausted, server.ReasonUploadTooLarge)
	info := testkit.ErrorInfo(t, err)
	if got := info.GetMetadata()["limit_bytes"]; got != fmt.Sprint(limit) {
		t.Errorf("limit_bytes = %q, want %d", got, limit)
	}
	declared := &eeov1.ImportMetadata{ImportType: "participants", FileName: "big.csv", SizeBytes: int64(len(big))}
	_, err = s.upload(t.Context(), declared, big, 16<<10)
	testkit.WantStatus(t, err, codes.ResourceExhausted, server.ReasonUploadTooLarge)

	query := url.Values{"importType": {"participants"}, "fileName": {"big.csv"}}
	code, _, body := s.restUpload(t, query, big)
	wantREST(t, "REST raw upload over the limit", code, body, http.StatusRequestEntityTooLarge, server.ReasonUploadTooLarge)
	code, _, body = s.restMultipartUpload(t, query, "big.csv", big)
	wantREST(t, "REST multipart upload over the limit", code, body, http.StatusRequestEntityTooLarge, server.ReasonUploadTooLarge)

	if n := s.sb.Stats().ImportsCreated; n != 0 {
		t.Fatalf("sandbox created %d imports from files over the limit", n)
	}
	list, err := s.files.ListImports(t.Context(), &eeov1.ListImportsRequest{Account: account})
	if err != nil || len(list.GetImports()) != 0 {
		t.Fatalf("ListImports: %v, %v; want none", list.GetImports(), err)
	}

	small := participantsFile(limit/2, "small")
	if imp, err := s.upload(t.Context(), md, small, 16<<10); err != nil || imp.GetSizeBytes() != int64(len(small)) {
		t.Fatalf("upload under the limit: %v, %v", imp, err)
	}
	if n := s.sb.Stats().ImportsCreated; n != 1 {
		t.Errorf("sandbox created %d imports, want 1", n)
	}
}
