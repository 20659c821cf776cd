// Package filebench moves large files through a running gateway — uploads
// and report downloads, over gRPC and over REST — measuring throughput and
// checking that every byte arrived intact (SHA-256 end to end).
package filebench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	eeoclient "github.com/eeo-gateway/eeo-gateway/client"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/cpuclock"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Target is a gateway to move files through.
type Target struct {
	GRPCAddr string
	RESTURL  string
	// APIKey is sent as "authorization: Bearer KEY" on every call.
	APIKey  string
	Account string
	// CPU, if set, reports the CPU time the gateway and the sandbox
	// processes have used so far (benchstack.Stack.CPUTime), so each
	// Result says what its transfer cost them.
	CPU func() (gateway, sandbox time.Duration, err error)
	// PeakRSS, if set, reports the gateway's peak resident set so far
	// (benchstack.Stack.GatewayPeakRSS), so each Result says where the
	// peak was reached.
	PeakRSS func() (int64, error)
	// Only, if set, names the transfers Run makes (the constants below,
	// UploadDirect and DownloadDirect included); all of them when empty.
	// Measuring one path over and over is quicker without the uploads.
	Only []string
}

// wants reports whether Run makes the transfer name.
func (t Target) wants(name string) bool {
	return len(t.Only) == 0 || slices.Contains(t.Only, name)
}

// Result is one transfer.
type Result struct {
	Name     string
	Bytes    int64
	Duration time.Duration
	// Err is nil only if the transfer completed and its SHA-256 matched.
	Err error
	// CPU is what the transfer cost each process; zero where unknown.
	CPU CPU
	// GatewayPeakRSS is the gateway's peak resident set at the end of the
	// transfer; zero where unknown.
	GatewayPeakRSS int64
}

// CPU is CPU time (user plus system) used by each process of a transfer.
type CPU struct {
	Client, Gateway, Sandbox time.Duration
}

// MiBPerSecond is the transfer's throughput.
func (r Result) MiBPerSecond() float64 {
	return float64(r.Bytes) / r.Duration.Seconds() / (1 << 20)
}

// The transfers Run makes, in order.
const (
	UploadGRPC   = "upload gRPC"
	UploadREST   = "upload REST"
	DownloadGRPC = "download gRPC"
	DownloadREST = "download REST"
	// The same downloads without telling the gateway that the client
	// checks the SHA-256 itself, so the gateway hashes the stream too: what
	// a caller that checks nothing gets, and what it costs.
	DownloadGRPCGatewayHashes = "download gRPC, gateway hashes too"
	DownloadRESTGatewayHashes = "download REST, gateway hashes too"
)

// Run uploads size bytes of a valid participants CSV over gRPC and over
// REST, then creates a grants report of about size bytes and downloads it
// over gRPC and over REST, checking its SHA-256 here: first telling the
// gateway so (DownloadGRPC, which is client.Download; DownloadREST, with
// the X-Verify-SHA256 header), then not (…GatewayHashes, a plain gRPC
// stub and a plain GET), so the gateway hashes too. With direct set, each direction is also made
// straight against EEO first (UploadDirect, DownloadDirect). A failed
// transfer is reported in its Result; the error is for failures that stop
// the run (no connection, no report).
func Run(ctx context.Context, t Target, direct *Direct, size int64) ([]Result, error) {
	conn, c, err := dialClient(t, size)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx = withAPIKey(ctx, t)
	var results []Result
	run := func(name string, f func(context.Context) (int64, error)) {
		if t.wants(name) {
			results = append(results, t.timed(ctx, name, f))
		}
	}
	if direct != nil {
		run(UploadDirect, func(ctx context.Context) (int64, error) { return direct.upload(ctx, size) })
	}
	run(UploadGRPC, c.uploadGRPC)
	run(UploadREST, c.uploadREST)
	rep, err := c.report(ctx)
	if err != nil {
		return results, fmt.Errorf("creating a report to download: %w", err)
	}
	if direct != nil {
		run(DownloadDirect, func(ctx context.Context) (int64, error) {
			return direct.download(ctx, rep.GetReportId(), rep.GetSizeBytes(), rep.GetSha256())
		})
	}
	run(DownloadGRPC, func(ctx context.Context) (int64, error) { return c.downloadGRPC(ctx, rep, true) })
	run(DownloadREST, func(ctx context.Context) (int64, error) { return c.downloadREST(ctx, rep, true) })
	run(DownloadGRPCGatewayHashes, func(ctx context.Context) (int64, error) { return c.downloadGRPC(ctx, rep, false) })
	run(DownloadRESTGatewayHashes, func(ctx context.Context) (int64, error) { return c.downloadREST(ctx, rep, false) })
	return results, nil
}

// dialClient connects to the gateway's gRPC listener.
func dialClient(t Target, size int64) (*grpc.ClientConn, *client, error) {
	// The options the Go client library recommends, as a caller following
	// its documentation has them (grpc-go's defaults cost ~15% more CPU
	// per download on both ends).
	conn, err := grpc.NewClient(t.GRPCAddr, append(eeoclient.DialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return nil, nil, err
	}
	return conn, &client{grpc: eeov1.NewImportReportServiceClient(conn), lib: eeoclient.New(conn), t: t, size: size}, nil
}

// withAPIKey authenticates ctx's gRPC calls as t's caller.
func withAPIKey(ctx context.Context, t Target) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+t.APIKey)
}

func (t Target) timed(ctx context.Context, name string, f func(context.Context) (int64, error)) Result {
	before := t.cpu()
	start := time.Now()
	n, err := f(ctx)
	d := time.Since(start)
	after := t.cpu()
	r := Result{Name: name, Bytes: n, Duration: d, Err: err, CPU: CPU{
		Client:  after.Client - before.Client,
		Gateway: after.Gateway - before.Gateway,
		Sandbox: after.Sandbox - before.Sandbox,
	}}
	if t.PeakRSS != nil {
		r.GatewayPeakRSS, _ = t.PeakRSS()
	}
	return r
}

// cpu is the CPU time used so far by this process and, when t.CPU says, by
// the gateway and the sandbox.
func (t Target) cpu() CPU {
	c := CPU{Client: cpuclock.Self()}
	if t.CPU != nil {
		if g, s, err := t.CPU(); err == nil {
			c.Gateway, c.Sandbox = g, s
		}
	}
	return c
}

type client struct {
	grpc eeov1.ImportReportServiceClient
	lib  *eeoclient.Client // the Go client library, over the same connection
	t    Target
	size int64
}

// chunkSize is the gRPC upload message size.
const chunkSize = 1 << 20

func (c *client) uploadGRPC(ctx context.Context) (int64, error) {
	stream, err := c.grpc.CreateImport(ctx)
	if err != nil {
		return 0, err
	}
	md := &eeov1.ImportMetadata{Account: c.t.Account, ImportType: "participants", FileName: "bench.csv", SizeBytes: c.size}
	if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}}); err != nil {
		return 0, err
	}
	h := sha256.New()
	src := io.TeeReader(NewCSV(c.size), h)
	buf := make([]byte, chunkSize)
	var sent int64
	for {
		n, err := io.ReadFull(src, buf)
		if n > 0 {
			if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				break // CloseAndRecv reports why
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
	return sent, checkSum(h, resp.GetDataImport().GetSha256())
}

func (c *client) uploadREST(ctx context.Context) (int64, error) {
	h := sha256.New()
	q := url.Values{"importType": {"participants"}, "fileName": {"bench.csv"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		c.t.RESTURL+"/v1/accounts/"+c.t.Account+"/imports?"+q.Encode(), io.TeeReader(NewCSV(c.size), h))
	if err != nil {
		return 0, err
	}
	req.ContentLength = c.size
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+c.t.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Import struct{ Sha256 string } `json:"dataImport"`
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	return c.size, checkSum(h, body.Import.Sha256)
}

// reportRowBytes is close to the sandbox's fixed grants row width; the
// report's size need not be exact.
const reportRowBytes = 64

// report creates a grants report of about c.size bytes and waits for it.
func (c *client) report(ctx context.Context) (*eeov1.Report, error) {
	rows := strconv.FormatInt(max(1, c.size/reportRowBytes), 10)
	created, err := c.grpc.CreateReport(ctx, &eeov1.CreateReportRequest{Account: c.t.Account, ReportType: "grants",
		Parameters: map[string]string{"as_of": "2026-01-31", "rows": rows}})
	if err != nil {
		return nil, err
	}
	watch, err := c.grpc.WatchReport(ctx, &eeov1.WatchReportRequest{Account: c.t.Account, ReportId: created.GetReport().GetReportId()})
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

// The header with which a REST downloader tells the gateway it checks the
// SHA-256 itself (client.Download sends the same as gRPC metadata), so the
// gateway need not hash the stream as well.
const (
	headerVerifySHA256 = "X-Verify-SHA256"
	verifySHA256Caller = "caller"
)

// downloadGRPC downloads rep and checks its size and SHA-256. With
// callerVerifies it does so as a service using the Go client library
// would, with client.Download, which tells the gateway it checks the
// SHA-256; without, as a plain gRPC caller would, with the generated stub
// alone.
func (c *client) downloadGRPC(ctx context.Context, rep *eeov1.Report, callerVerifies bool) (int64, error) {
	if callerVerifies {
		d, err := c.lib.Download(ctx, c.t.Account, rep.GetReportId(), io.Discard)
		if err != nil {
			return d.Size, err
		}
		if d.Size != rep.GetSizeBytes() || d.SHA256 != rep.GetSha256() {
			return d.Size, fmt.Errorf("received %d bytes with sha256 %s, the report has %d with %s", d.Size, d.SHA256, rep.GetSizeBytes(), rep.GetSha256())
		}
		return d.Size, nil
	}
	stream, err := c.grpc.DownloadReport(ctx, &eeov1.DownloadReportRequest{Account: c.t.Account, ReportId: rep.GetReportId()})
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
	return n, checkSize(n, rep.GetSizeBytes(), h, rep.GetSha256())
}

func (c *client) downloadREST(ctx context.Context, rep *eeov1.Report, callerVerifies bool) (int64, error) {
	var header http.Header
	if callerVerifies {
		header = http.Header{headerVerifySHA256: {verifySHA256Caller}}
	}
	return downloadChecked(ctx, c.t.RESTURL+"/v1/accounts/"+c.t.Account+"/reports/"+rep.GetReportId()+":download",
		c.t.APIKey, header, rep.GetSizeBytes(), rep.GetSha256())
}

// downloadChecked GETs url with a bearer credential and checks the body
// against the size and SHA-256 the report claims; the gateway and the
// direct-to-EEO baseline share it so the two paths are measured alike.
func downloadChecked(ctx context.Context, url, bearer string, header http.Header, wantSize int64, wantSum string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
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
	return n, checkSize(n, wantSize, h, wantSum)
}

func checkSize(got, want int64, h hash.Hash, sum string) error {
	if got != want {
		return fmt.Errorf("received %d bytes, the report has %d", got, want)
	}
	return checkSum(h, sum)
}

func checkSum(h hash.Hash, want string) error {
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 %s, the gateway said %s", got, want)
	}
	return nil
}
