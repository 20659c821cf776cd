package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// lyingGateway serves a report whose bytes do not match the checksum it
// announces, as a gateway with a bug, or something on the path, might.
type lyingGateway struct {
	eeov1.UnimplementedImportReportServiceServer
	announced, sent string
}

func (g *lyingGateway) report() *eeov1.Report {
	sum := sha256.Sum256([]byte(g.announced))
	return &eeov1.Report{Account: "demo", ReportId: "rpt_1", State: eeov1.ReportState_REPORT_STATE_SUCCEEDED,
		SizeBytes: int64(len(g.announced)), Sha256: hex.EncodeToString(sum[:]), FileName: "r.csv"}
}

func (g *lyingGateway) GetReport(context.Context, *eeov1.GetReportRequest) (*eeov1.GetReportResponse, error) {
	return &eeov1.GetReportResponse{Report: g.report()}, nil
}

func (g *lyingGateway) DownloadReport(_ *eeov1.DownloadReportRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	r := g.report()
	stream.SendHeader(metadata.Pairs(mdContentLength, strconv.FormatInt(r.GetSizeBytes(), 10), mdContentSHA256, r.GetSha256()))
	return stream.Send(&httpbody.HttpBody{ContentType: "text/csv", Data: []byte(g.sent)})
}

func startLyingGateway(t *testing.T, g *lyingGateway) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	eeov1.RegisterImportReportServiceServer(srv, g)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// runClient runs the client command tree with args.
func runClient(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut strings.Builder
	cmd := NewCommand(Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &errOut})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

// A report whose bytes do not match its SHA-256 (or size) exits 6 and
// leaves no file behind, so a script never picks up a damaged report.
func TestDownloadRefusesDamagedReports(t *testing.T) {
	for name, g := range map[string]*lyingGateway{
		"same size, other bytes": {announced: "a,b\n1,2\n", sent: "a,b\n1,3\n"},
		"short":                  {announced: "a,b\n1,2\n", sent: "a,b\n"},
	} {
		t.Run(name, func(t *testing.T) {
			addr := startLyingGateway(t, g)
			dir := t.TempDir()
			out := filepath.Join(dir, "r.csv")
			_, _, err := runClient(t, "--addr", addr, "-q", "report", "download", "demo", "rpt_1", "-o", out)
			if exitcode.Of(err) != exitcode.Integrity {
				t.Fatalf("exit %d (%v), want %d", exitcode.Of(err), err, exitcode.Integrity)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("files left after a failed download: %v", entries)
			}
		})
	}
	// The honest case, for contrast.
	g := &lyingGateway{announced: "a,b\n1,2\n", sent: "a,b\n1,2\n"}
	addr := startLyingGateway(t, g)
	out := filepath.Join(t.TempDir(), "r.csv")
	if _, _, err := runClient(t, "--addr", addr, "-q", "report", "download", "demo", "rpt_1", "-o", out); err != nil {
		t.Fatalf("honest download: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != g.sent {
		t.Errorf("downloaded %q", b)
	}
}
