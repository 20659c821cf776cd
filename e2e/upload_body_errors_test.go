package e2e_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestBrokenRESTUploadBodyIsAnError proves that a REST upload whose body
// breaks off while the client is still listening is answered with an error
// status, never a success: nothing was imported, and a client taking a 200
// for "imported" would lose the file.
//
// Fails today: server/rest_files.go's upload handler returns without
// writing a response when reading the body fails (the errBodyRead branch),
// so net/http answers "200 OK" with an empty body.
func TestBrokenRESTUploadBodyIsAnError(t *testing.T) {
	s := newStack(t, stackOptions{})
	host := strings.TrimPrefix(s.restURL, "http://")
	query := "?importType=participants&fileName=broken.csv"
	check := func(t *testing.T, code int, body []byte) {
		t.Helper()
		if code < 400 || code > 499 {
			t.Errorf("HTTP %d with body %q; want a 4xx error status: nothing was imported", code, body)
			return
		}
		restStatus(t, body)
	}

	t.Run("multipart body without its closing boundary", func(t *testing.T) {
		body := "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"broken.csv\"\r\nContent-Type: text/csv\r\n\r\n" +
			string(mixedParticipants)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.restURL+importsPath+query, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "multipart/form-data; boundary=XYZ")
		code, _, respBody := s.send(t, req)
		check(t, code, respBody)
	})

	raw := func(t *testing.T, request string, halfClose bool) (int, []byte) {
		t.Helper()
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, request); err != nil {
			t.Fatal(err)
		}
		if halfClose {
			conn.(*net.TCPConn).CloseWrite()
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading the response body: %v", err)
		}
		record("REST raw response "+resp.Status, fmt.Sprint(resp.Header)+"\n"+string(body))
		return resp.StatusCode, body
	}

	t.Run("malformed chunked body", func(t *testing.T) {
		code, body := raw(t, fmt.Sprintf("POST %s%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\nnot-a-chunk-size\r\n",
			importsPath, query, host, len(mixedParticipants), mixedParticipants), false)
		check(t, code, body)
	})

	t.Run("body short of Content-Length, connection half-closed", func(t *testing.T) {
		code, body := raw(t, fmt.Sprintf("POST %s%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s",
			importsPath, query, host, 10*len(mixedParticipants), mixedParticipants), true)
		check(t, code, body)
	})

	if n := s.sb.Stats().ImportsCreated; n != 0 {
		t.Errorf("sandbox created %d imports from broken bodies", n)
	}
}

// TestUploadSizeMismatchIsInvalidArgument proves that a gRPC upload whose
// size_bytes differs from the bytes actually sent creates nothing and is
// the caller's INVALID_ARGUMENT, naming size_bytes.
//
// Fails today: EEO's client refuses the body (an *eeo.BodyError, "body ended
// after N of its declared M bytes" / "body is longer than its declared
// size"), which server/upload.go's forward passes to upstreamStatus, which
// does not know it and maps it through toStatus to INTERNAL "internal
// error".
func TestUploadSizeMismatchIsInvalidArgument(t *testing.T) {
	s := newStack(t, stackOptions{})
	file := participantsFile(256<<10, "size")
	for _, declared := range []int64{int64(len(file)) - 10, int64(len(file)) + 10} {
		_, err := s.upload(t.Context(), &eeov1.ImportMetadata{ImportType: "participants", FileName: "size.csv", SizeBytes: declared}, file, 32<<10)
		if status.Code(err) != codes.InvalidArgument || !slices.Contains(testkit.FieldViolations(err), "size_bytes") {
			t.Errorf("size_bytes %d for a %d-byte file: %v; want INVALID_ARGUMENT naming size_bytes", declared, len(file), err)
		}
	}
	if n := s.sb.Stats().ImportsCreated; n != 0 {
		t.Errorf("sandbox created %d imports from mis-sized uploads", n)
	}
}
