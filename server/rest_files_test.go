package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
)

func postFile(t *testing.T, url, contentType string, body io.Reader) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, body)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var decoded map[string]any
	json.NewDecoder(resp.Body).Decode(&decoded)
	return resp.StatusCode, decoded, resp.Header
}

func TestRESTUploadRawBody(t *testing.T) {
	g := startGateway(t, nil)
	code, body, _ := postFile(t, g.baseURL+"/v1/accounts/demo/imports?importType=participants&fileName=people.csv&requestId=r1", "text/csv", strings.NewReader(csvFile))
	imp, _ := body["dataImport"].(map[string]any)
	if code != http.StatusOK || imp["sha256"] != sum([]byte(csvFile)) || imp["requestId"] != "r1" || imp["fileName"] != "people.csv" {
		t.Fatalf("REST upload: %d %v", code, body)
	}
	if ups := g.up.recorded(); len(ups) != 1 || ups[0].u.Size != int64(len(csvFile)) {
		t.Fatalf("upstream saw %+v; want the declared Content-Length passed on", ups)
	}
}

func TestRESTUploadMultipart(t *testing.T) {
	g := startGateway(t, nil)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("importType", "participants")
	fw, _ := mw.CreateFormFile("file", "from-form.csv")
	fw.Write([]byte(csvFile))
	mw.Close()
	code, body, _ := postFile(t, g.baseURL+"/v1/accounts/demo/imports", mw.FormDataContentType(), &buf)
	imp, _ := body["dataImport"].(map[string]any)
	if code != http.StatusOK || imp["sha256"] != sum([]byte(csvFile)) || imp["fileName"] != "from-form.csv" || imp["importType"] != "participants" {
		t.Fatalf("multipart upload: %d %v", code, body)
	}

	buf.Reset()
	mw = multipart.NewWriter(&buf)
	mw.WriteField("importType", "participants")
	mw.Close()
	code, body, _ = postFile(t, g.baseURL+"/v1/accounts/demo/imports", mw.FormDataContentType(), &buf)
	if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), "file") {
		t.Fatalf("multipart without a file part: %d %v", code, body)
	}
}

func TestRESTUploadErrors(t *testing.T) {
	g := startGateway(t, func(c *server.Config) { c.MaxUploadBytes = 100 })
	big := strings.Repeat("x", 101)
	code, body, _ := postFile(t, g.baseURL+"/v1/accounts/demo/imports?importType=participants&fileName=a.csv", "text/csv", strings.NewReader(big))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(fmt.Sprint(body), server.ReasonUploadTooLarge) {
		t.Fatalf("oversized upload: %d %v", code, body)
	}
	// Without a Content-Length the limit is found while streaming.
	code, _, _ = postFile(t, g.baseURL+"/v1/accounts/demo/imports?importType=participants&fileName=a.csv", "text/csv", io.MultiReader(strings.NewReader(big)))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized chunked upload: %d", code)
	}
	code, body, _ = postFile(t, g.baseURL+"/v1/accounts/demo/imports?fileName=a.csv", "text/csv", strings.NewReader(csvFile))
	if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), "import_type") {
		t.Fatalf("missing import type: %d %v", code, body)
	}
	if n := g.up.importCount(); n != 0 {
		t.Fatalf("%d imports created", n)
	}
}

// A client that disconnects mid-body must not leave an import behind.
func TestRESTTruncatedUploadCreatesNothing(t *testing.T) {
	started, events := make(chan struct{}, 1), make(chan upload, 1)
	g := startGateway(t, func(c *server.Config) {
		fake := c.Upstreams["demo"].(*fakeUpstream)
		fake.started, fake.events = started, events
	})
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v1/accounts/demo/imports?importType=participants&fileName=a.csv HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\n")
	conn.Write(bytes.Repeat([]byte("x"), 300<<10)) // more than one chunk, so EEO starts receiving
	<-started                                      // EEO is reading the body
	conn.Close()                                   // the client goes away mid-body
	select {
	case u := <-events:
		if u.readErr == nil {
			t.Fatalf("EEO received a complete body (%d bytes) from a truncated upload", u.bytes)
		}
	case <-time.After(10 * time.Second): // a hang here is the failure being tested for
		t.Fatalf("the truncated upload never reached EEO's end; logs:\n%s", g.logs.String())
	}
	if n := g.up.importCount(); n != 0 {
		t.Fatalf("%d imports created from a truncated upload", n)
	}
}

func TestRESTDownload(t *testing.T) {
	g := startGateway(t, nil)
	rep, err := eeov1.NewImportReportServiceClient(g.conn).CreateReport(t.Context(), &eeov1.CreateReportRequest{Account: "demo", ReportType: "grants"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(g.baseURL + "/v1/accounts/demo/reports/" + rep.GetReport().GetReportId() + ":download")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv" ||
		resp.ContentLength != rep.GetReport().GetSizeBytes() || int64(len(data)) != rep.GetReport().GetSizeBytes() ||
		resp.Header.Get("Content-Disposition") != `attachment; filename=grants.csv` ||
		resp.Header.Get("X-Content-SHA256") != rep.GetReport().GetSha256() || sum(data) != rep.GetReport().GetSha256() {
		t.Fatalf("download: %d %v, %d bytes", resp.StatusCode, resp.Header, len(data))
	}
}

func TestDownloadBeforeSuccessIsFailedPrecondition(t *testing.T) {
	g := startGateway(t, nil)
	rep, _ := eeov1.NewImportReportServiceClient(g.conn).CreateReport(t.Context(), &eeov1.CreateReportRequest{Account: "demo", ReportType: "grants"})
	g.up.setReportState(rep.GetReport().GetReportId(), "RUNNING")
	stream, _ := eeov1.NewImportReportServiceClient(g.conn).DownloadReport(t.Context(), &eeov1.DownloadReportRequest{Account: "demo", ReportId: rep.GetReport().GetReportId()})
	_, err := stream.Recv()
	testkit.WantStatus(t, err, codes.FailedPrecondition, server.ReasonReportNotReady)
	resp, body := g.restCall(t, http.MethodGet, "/v1/accounts/demo/reports/"+rep.GetReport().GetReportId()+":download")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), server.ReasonReportNotReady) {
		t.Fatalf("REST: %d %v", resp.StatusCode, body)
	}
}

// failingReader yields n bytes, then fails as a dropped connection would.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset by peer")
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func TestDownloadBrokenMidStream(t *testing.T) {
	g := startGateway(t, nil)
	rep, _ := eeov1.NewImportReportServiceClient(g.conn).CreateReport(t.Context(), &eeov1.CreateReportRequest{Account: "demo", ReportType: "grants"})
	g.up.mu.Lock()
	g.up.download = func() io.ReadCloser { return io.NopCloser(&failingReader{n: 600 << 10}) }
	g.up.mu.Unlock()
	id := rep.GetReport().GetReportId()

	stream, _ := eeov1.NewImportReportServiceClient(g.conn).DownloadReport(t.Context(), &eeov1.DownloadReportRequest{Account: "demo", ReportId: id})
	var err error
	for err == nil {
		_, err = stream.Recv()
	}
	testkit.WantStatus(t, err, codes.Unavailable, server.ReasonEEOUnavailable)

	resp, err := http.Get(g.baseURL + "/v1/accounts/demo/reports/" + id + ":download")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("REST download of a broken stream read as a complete file")
	}
}

func TestDownloadChecksumMismatchIsDataLoss(t *testing.T) {
	g := startGateway(t, nil)
	rep, _ := eeov1.NewImportReportServiceClient(g.conn).CreateReport(t.Context(), &eeov1.CreateReportRequest{Account: "demo", ReportType: "grants"})
	size := rep.GetReport().GetSizeBytes()
	g.up.mu.Lock()
	g.up.download = func() io.ReadCloser { return io.NopCloser(bytes.NewReader(make([]byte, size))) }
	g.up.mu.Unlock()
	stream, _ := eeov1.NewImportReportServiceClient(g.conn).DownloadReport(t.Context(), &eeov1.DownloadReportRequest{Account: "demo", ReportId: rep.GetReport().GetReportId()})
	var err error
	for err == nil {
		_, err = stream.Recv()
	}
	testkit.WantStatus(t, err, codes.DataLoss, server.ReasonDataLoss)
}
