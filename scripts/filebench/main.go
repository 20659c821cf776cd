// Command filebench moves large files through a running gateway — uploads
// and report downloads, over gRPC and REST — and prints throughput and
// whether every byte arrived intact. scripts/bench-files.sh runs it against
// a gateway and a sandbox in their own processes and adds the gateway's
// peak RSS.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	grpcAddr := flag.String("grpc", "127.0.0.1:9090", "gateway gRPC address")
	restURL := flag.String("rest", "http://127.0.0.1:8080", "gateway REST base URL")
	account := flag.String("account", "demo", "account")
	size := flag.Int64("size", 1<<30, "bytes per transfer")
	flag.Parse()

	conn, err := grpc.NewClient(*grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := eeov1.NewImportReportServiceClient(conn)
	ctx := context.Background()
	b := bench{client: client, rest: *restURL, account: *account, size: *size}

	fmt.Printf("%-18s %12s %9s %10s  %s\n", "transfer", "bytes", "seconds", "MiB/s", "integrity")
	b.run("upload gRPC", b.uploadGRPC)
	b.run("upload REST", b.uploadREST)
	rep, err := b.report(ctx)
	if err != nil {
		log.Fatalf("report: %v", err)
	}
	b.run("download gRPC", func(ctx context.Context) (int64, error) { return b.downloadGRPC(ctx, rep) })
	b.run("download REST", func(ctx context.Context) (int64, error) { return b.downloadREST(ctx, rep) })
	if b.failed {
		os.Exit(1)
	}
}

type bench struct {
	client  eeov1.ImportReportServiceClient
	rest    string
	account string
	size    int64
	failed  bool
}

func (b *bench) run(name string, f func(context.Context) (int64, error)) {
	start := time.Now()
	n, err := f(context.Background())
	secs := time.Since(start).Seconds()
	verdict := "sha256 ok"
	if err != nil {
		verdict, b.failed = "FAILED: "+err.Error(), true
	}
	fmt.Printf("%-18s %12d %9.2f %10.1f  %s\n", name, n, secs, float64(n)/secs/(1<<20), verdict)
}

// csvSource generates size bytes of a valid participants CSV on the fly.
type csvSource struct {
	left int64
	row  int
	buf  []byte
}

func newCSV(size int64) *csvSource {
	return &csvSource{left: size, buf: []byte("participant_id,first_name,last_name,email\n")}
}

func (s *csvSource) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	for len(s.buf) < len(p) {
		s.row++
		s.buf = fmt.Appendf(s.buf, "%09d,First%d,Last%d,p%d@example.com\n", s.row, s.row%997, s.row%991, s.row)
	}
	n := copy(p, s.buf[:min(int64(len(p)), s.left)])
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	s.left -= int64(n)
	return n, nil
}

func (b *bench) uploadGRPC(ctx context.Context) (int64, error) {
	stream, err := b.client.CreateImport(ctx)
	if err != nil {
		return 0, err
	}
	md := &eeov1.ImportMetadata{Account: b.account, ImportType: "participants", FileName: "bench.csv", SizeBytes: b.size}
	if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}}); err != nil {
		return 0, err
	}
	h := sha256.New()
	src := io.TeeReader(newCSV(b.size), h)
	buf := make([]byte, 1<<20)
	var sent int64
	for {
		n, err := io.ReadFull(src, buf)
		if n > 0 {
			if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				break
			}
			sent += int64(n)
		}
		if err != nil {
			break
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return sent, err
	}
	return sent, checkSum(h, resp.GetImport().GetSha256())
}

func (b *bench) uploadREST(ctx context.Context) (int64, error) {
	h := sha256.New()
	q := url.Values{"importType": {"participants"}, "fileName": {"bench.csv"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.rest+"/v1/accounts/"+b.account+"/imports?"+q.Encode(), io.TeeReader(newCSV(b.size), h))
	if err != nil {
		return 0, err
	}
	req.ContentLength = b.size
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Import struct{ Sha256 string } `json:"import"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
	}
	return b.size, checkSum(h, body.Import.Sha256)
}

// report creates a grants report of about b.size bytes and waits for it.
func (b *bench) report(ctx context.Context) (*eeov1.Report, error) {
	const rowBytes = 64 // close to the sandbox's fixed row width; the size need not be exact
	rows := strconv.FormatInt(b.size/rowBytes, 10)
	created, err := b.client.CreateReport(ctx, &eeov1.CreateReportRequest{Account: b.account, ReportType: "grants",
		Parameters: map[string]string{"as_of": "2026-01-31", "rows": rows}})
	if err != nil {
		return nil, err
	}
	watch, err := b.client.WatchReport(ctx, &eeov1.WatchReportRequest{Account: b.account, ReportId: created.GetReport().GetReportId()})
	if err != nil {
		return nil, err
	}
	var last *eeov1.Report
	for {
		msg, err := watch.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		last = msg.GetReport()
	}
	if last.GetState() != eeov1.ReportState_REPORT_STATE_SUCCEEDED {
		return nil, fmt.Errorf("report ended %v", last.GetState())
	}
	return last, nil
}

func (b *bench) downloadGRPC(ctx context.Context, rep *eeov1.Report) (int64, error) {
	stream, err := b.client.DownloadReport(ctx, &eeov1.DownloadReportRequest{Account: b.account, ReportId: rep.GetReportId()})
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	var n int64
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		h.Write(msg.GetData())
		n += int64(len(msg.GetData()))
	}
	return n, checkSum(h, rep.GetSha256())
}

func (b *bench) downloadREST(ctx context.Context, rep *eeov1.Report) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.rest+"/v1/accounts/"+b.account+"/reports/"+rep.GetReportId()+":download", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return n, err
	}
	return n, checkSum(h, rep.GetSha256())
}

func checkSum(h hash.Hash, want string) error {
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 %s, gateway said %s", got, want)
	}
	return nil
}
