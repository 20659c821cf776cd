package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// damagedReport makes the fake EEO serve a report whose bytes are all
// zeros, of the given length, while the report keeps its recorded size and
// SHA-256; it returns the report.
func damagedReport(t *testing.T, g *gateway, length func(size int64) int64) *eeov1.Report {
	t.Helper()
	rep, err := eeov1.NewImportReportServiceClient(g.conn).CreateReport(t.Context(), &eeov1.CreateReportRequest{Account: "demo", ReportType: "grants"})
	if err != nil {
		t.Fatal(err)
	}
	n := length(rep.GetReport().GetSizeBytes())
	g.up.mu.Lock()
	g.up.download = func() io.ReadCloser { return io.NopCloser(bytes.NewReader(make([]byte, n))) }
	g.up.mu.Unlock()
	return rep.GetReport()
}

// downloadGRPC downloads a report over gRPC with the given request metadata
// and returns its bytes, the declared SHA-256 and the stream's end.
func downloadGRPC(t *testing.T, g *gateway, id string, md ...string) ([]byte, string, error) {
	t.Helper()
	ctx := metadata.AppendToOutgoingContext(t.Context(), md...)
	stream, err := eeov1.NewImportReportServiceClient(g.conn).DownloadReport(ctx, &eeov1.DownloadReportRequest{Account: "demo", ReportId: id})
	if err != nil {
		return nil, "", err
	}
	var data []byte
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return data, "", err
		}
		data = append(data, msg.GetData()...)
	}
	header, _ := stream.Header()
	declared := ""
	if v := header.Get("x-content-sha256"); len(v) == 1 {
		declared = v[0]
	}
	return data, declared, nil
}

// A caller that checks the SHA-256 itself (x-verify-sha256: caller) gets
// the bytes EEO sent and the SHA-256 EEO declared, so it detects the damage
// the gateway no longer hashes for.
func TestDownloadCallerVerifiesGetsDeclaredSHA256(t *testing.T) {
	g := startGateway(t, nil)
	rep := damagedReport(t, g, func(size int64) int64 { return size })
	data, declared, err := downloadGRPC(t, g, rep.GetReportId(), "x-verify-sha256", "caller")
	if err != nil {
		t.Fatalf("download with the caller verifying: %v; want the bytes, for the caller to check", err)
	}
	if int64(len(data)) != rep.GetSizeBytes() || declared != rep.GetSha256() || sum(data) == declared {
		t.Fatalf("got %d bytes (sha256 %s) declared %s; want the report's %d damaged bytes and its recorded SHA-256 %s",
			len(data), sum(data), declared, rep.GetSizeBytes(), rep.GetSha256())
	}
}

// Only "caller" hands the check over: any other value, like none, leaves
// the gateway hashing, and damage ends the stream with DATA_LOSS.
func TestDownloadVerifySHA256OtherValuesKeepGatewayCheck(t *testing.T) {
	g := startGateway(t, nil)
	rep := damagedReport(t, g, func(size int64) int64 { return size })
	for _, v := range []string{"gateway", "Caller", ""} {
		_, _, err := downloadGRPC(t, g, rep.GetReportId(), "x-verify-sha256", v)
		testkit.WantStatus(t, err, codes.DataLoss, server.ReasonDataLoss)
	}
}

// The size is checked whoever checks the SHA-256: a short body is DATA_LOSS
// over gRPC and a cut-off body over REST.
func TestDownloadCallerVerifiesStillChecksSize(t *testing.T) {
	g := startGateway(t, nil)
	rep := damagedReport(t, g, func(size int64) int64 { return size - 1 })
	_, _, err := downloadGRPC(t, g, rep.GetReportId(), "x-verify-sha256", "caller")
	testkit.WantStatus(t, err, codes.DataLoss, server.ReasonDataLoss)

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.baseURL+"/v1/accounts/demo/reports/"+rep.GetReportId()+":download", nil)
	req.Header.Set("X-Verify-SHA256", "caller")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if data, err := io.ReadAll(resp.Body); err == nil {
		t.Fatalf("REST download of a short body read as a complete file of %d bytes", len(data))
	}
}

// Over REST the header is X-Verify-SHA256: with it the damaged body arrives
// whole with the declared X-Content-SHA256; without it the gateway's hash
// fails the download, and the client sees a body cut off.
func TestRESTDownloadCallerVerifies(t *testing.T) {
	g := startGateway(t, nil)
	rep := damagedReport(t, g, func(size int64) int64 { return size })
	url := g.baseURL + "/v1/accounts/demo/reports/" + rep.GetReportId() + ":download"
	get := func(verify string) ([]byte, http.Header, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		if verify != "" {
			req.Header.Set("X-Verify-SHA256", verify)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		return data, resp.Header, err
	}
	data, h, err := get("caller")
	if err != nil || int64(len(data)) != rep.GetSizeBytes() || h.Get("X-Content-SHA256") != rep.GetSha256() {
		t.Fatalf("with X-Verify-SHA256: caller: %d bytes, X-Content-SHA256 %q, %v; want all %d bytes and %q",
			len(data), h.Get("X-Content-SHA256"), err, rep.GetSizeBytes(), rep.GetSha256())
	}
	if _, _, err := get(""); err == nil {
		t.Fatal("without X-Verify-SHA256 a damaged report downloaded as a complete file")
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A REST client that hangs up part way through a download ends the call:
// the gateway stops writing and reading EEO (TestMain's leak check would
// catch a goroutine left behind), and serves the next download whole.
func TestRESTDownloadClientHangsUp(t *testing.T) {
	g := startGateway(t, nil)
	rep := damagedReport(t, g, func(int64) int64 { return 0 })
	g.up.mu.Lock()
	g.up.download = func() io.ReadCloser { return io.NopCloser(io.LimitReader(zeros{}, 256<<20)) }
	g.up.mu.Unlock()
	url := g.baseURL + "/v1/accounts/demo/reports/" + rep.GetReportId() + ":download"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatalf("first MiB: %v", err)
	}
	resp.Body.Close() // unread: the connection is closed

	g.up.mu.Lock()
	g.up.download = nil
	g.up.mu.Unlock()
	resp, err = http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || sum(data) != rep.GetSha256() {
		t.Fatalf("download after a client hung up: %d bytes, %v; want the report whole", len(data), err)
	}
}

// patternedReport makes the fake EEO serve a report of n bytes that differ
// from chunk to chunk, with its true size and SHA-256, so a buffer reused
// before its bytes were sent would show.
func patternedReport(t *testing.T, g *gateway, n int) (*eeov1.Report, []byte) {
	t.Helper()
	rep := damagedReport(t, g, func(int64) int64 { return 0 })
	content := make([]byte, n)
	for i := range content {
		content[i] = byte(i*31 + i>>9)
	}
	g.up.mu.Lock()
	defer g.up.mu.Unlock()
	g.up.download = nil
	r := g.up.reports[rep.GetReportId()]
	r.SizeBytes, r.SHA256 = int64(n), sum(content)
	g.up.reports[rep.GetReportId()] = r
	g.up.content[rep.GetReportId()] = content
	return rep, content
}

// A report of many chunks arrives over gRPC byte for byte, whoever checks
// the SHA-256: the gateway hands each chunk's buffer to grpc-go without a
// copy and must not reuse it before the bytes are on the wire.
func TestDownloadGRPCManyChunksIntact(t *testing.T) {
	g := startGateway(t, nil)
	rep, want := patternedReport(t, g, 5<<20+12345)
	for _, md := range [][]string{{"x-verify-sha256", "caller"}, nil} {
		for range 3 {
			data, _, err := downloadGRPC(t, g, rep.GetReportId(), md...)
			if err != nil || !bytes.Equal(data, want) {
				t.Fatalf("download with metadata %q: %d bytes (sha256 %s), %v; want the report's %d bytes (%s)",
					md, len(data), sum(data), err, len(want), sum(want))
			}
		}
	}
}

// A gRPC caller that cancels part way through ends the call (TestMain's
// leak check would catch a goroutine left behind), and the buffers grpc-go
// still held do not spoil the next download.
func TestDownloadGRPCCallerCancels(t *testing.T) {
	g := startGateway(t, nil)
	rep, want := patternedReport(t, g, 3<<20)
	ctx, cancel := context.WithCancel(t.Context())
	stream, err := eeov1.NewImportReportServiceClient(g.conn).DownloadReport(ctx, &eeov1.DownloadReportRequest{Account: "demo", ReportId: rep.GetReportId()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("first chunk: %v", err)
	}
	cancel()
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	data, _, err := downloadGRPC(t, g, rep.GetReportId())
	if err != nil || !bytes.Equal(data, want) {
		t.Fatalf("download after a cancelled one: %d bytes, %v; want the report whole", len(data), err)
	}
}
