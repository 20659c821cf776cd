package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// soakEnv turns the soak on and says for how long.
const soakEnv = "EEO_SOAK_DURATION"

const (
	soakConcurrency = 64
	soakTokenLife   = 5 * time.Second // the sandbox's expires_in and absolute lifetime
	soakFailureRate = 0.01            // of token and API requests, answered 503
	soakCallTimeout = 30 * time.Second
)

// soakStats counts what the workers did. Safe for concurrent use.
type soakStats struct {
	mu     sync.Mutex
	calls  map[string]int64                // by operation
	errors map[string]map[codes.Code]int64 // by operation, then code
	// CreateImport: request ids that ended in success, and the import id
	// each got (a retry with the same id must get the same import).
	imports map[string]string
	// samples of error messages, a few per operation and code
	samples map[string][]string
	// tokens GetToken returned that EEO then refused (401): must be none
	deadTokens atomic.Int64
	// CreateImport request ids given up after failing every attempt
	gaveUp atomic.Int64
}

func newSoakStats() *soakStats {
	return &soakStats{calls: map[string]int64{}, errors: map[string]map[codes.Code]int64{},
		imports: map[string]string{}, samples: map[string][]string{}}
}

// count records one call of op and its outcome.
func (st *soakStats) count(op string, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.calls[op]++
	if err == nil {
		return
	}
	c := status.Code(err)
	if st.errors[op] == nil {
		st.errors[op] = map[codes.Code]int64{}
	}
	st.errors[op][c]++
	key := op + " " + c.String()
	if len(st.samples[key]) < 2 {
		st.samples[key] = append(st.samples[key], err.Error())
	}
	recordErr(err) // the leak scan reads failures' messages and details
}

// TestSoak runs a mixed load for EEO_SOAK_DURATION: GetToken, CreateImport
// (a small CSV under a unique request id, retried with the same id after a
// retryable failure) and CreateReport → GetReport → DownloadReport, from 64
// concurrent callers, with tokens that live 5 s at EEO (real clock) and 1%
// of token and API requests failing with 503. At the end it reports calls
// by operation, errors by gRPC code, imports EEO created against successful
// CreateImport answers (which must match: none lost, none duplicated),
// goroutines and heap at start and end, and the gateway's share of the
// heap at the end with the sandbox's storage left out (heapOwners).
//
// It is not part of the default run: make soak (SOAK_DURATION, default 10m)
// or EEO_SOAK_DURATION=60s go test -run '^TestSoak$' -count=1 -timeout 0 -v ./e2e/
func TestSoak(t *testing.T) {
	raw := os.Getenv(soakEnv)
	if raw == "" {
		t.Skipf("soak test: set %s to run it, e.g. %s=60s go test -run '^TestSoak$' -count=1 -timeout 0 -v ./e2e/ (or make soak SOAK_DURATION=60s)", soakEnv, soakEnv)
	}
	duration, err := time.ParseDuration(raw)
	if err != nil || duration <= 0 {
		t.Fatalf("%s=%q: want a positive duration such as 60s or 10m", soakEnv, raw)
	}

	s := newStack(t, stackOptions{
		Sandbox: sandbox.Options{
			ExpiresIn: soakTokenLife, Lifetime: soakTokenLife,
			StepDuration: 25 * time.Millisecond, // reports succeed after 50 ms
		},
		// Debug lines for the first 8 MiB (every component shows up in the
		// leak scan), then warnings and errors only.
		DebugLogBytes: 8 << 20,
	})
	// The load's own connection: the stack's records every stream's
	// metadata for the leak scan, which would grow with the run. Errors
	// are still recorded (soakStats.count).
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tokens, files := eeov1.NewTokenServiceClient(conn), eeov1.NewImportReportServiceClient(conn)
	probe := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer probe.CloseIdleConnections()

	stats := newSoakStats()
	var seq atomic.Int64
	w := &soakWorker{t: t, s: s, tokens: tokens, files: files, probe: probe, stats: stats, seq: &seq}
	startStats := s.sb.Stats()
	// One of each, faults off, so start figures include warm connections.
	for _, op := range []func(context.Context, *rand.Rand){w.getToken, w.createImport, w.report} {
		op(t.Context(), rand.New(rand.NewPCG(1, 2)))
	}
	if n := len(stats.errors); n != 0 {
		t.Fatalf("warm-up failed: %v", stats.samples)
	}
	startGoroutines, startHeap := runtime.NumGoroutine(), heapInuse()

	s.sb.SetFaults(sandbox.Faults{Token: sandbox.Fault{FailureRate: soakFailureRate}, API: sandbox.Fault{FailureRate: soakFailureRate}})
	t.Logf("soak: %v at concurrency %d, tokens living %v, %.0f%% of token and API requests failing with 503",
		duration, soakConcurrency, soakTokenLife, soakFailureRate*100)
	begin := time.Now()
	ctx, stop := context.WithDeadline(t.Context(), begin.Add(duration))
	defer stop()
	var wg sync.WaitGroup
	for i := range soakConcurrency {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(begin.UnixNano())))
			for ctx.Err() == nil {
				switch r := rng.IntN(100); {
				case r < 40:
					w.getToken(ctx, rng)
				case r < 70:
					w.createImport(ctx, rng)
				default:
					w.report(ctx, rng)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	s.sb.SetFaults(sandbox.Faults{})

	// Every import EEO holds, by request id.
	atEEO := map[string]int{}
	for page := ""; ; {
		resp, err := files.ListImports(t.Context(), &eeov1.ListImportsRequest{Account: account, PageSize: 1000, PageToken: page})
		if err != nil {
			t.Fatalf("ListImports: %v", err)
		}
		for _, imp := range resp.GetImports() {
			atEEO[imp.GetRequestId()]++
		}
		if page = resp.GetNextPageToken(); page == "" {
			break
		}
	}
	endStats := s.sb.Stats()
	conn.Close()
	probe.CloseIdleConnections()
	endGoroutines := settledGoroutines(startGoroutines, 5*time.Second)
	endHeap := heapInuse()
	shares := heapOwners()

	stats.mu.Lock()
	defer stats.mu.Unlock()
	created := endStats.ImportsCreated - startStats.ImportsCreated
	succeeded := int64(0) // request ids of the load with a successful answer
	distinct := map[string]bool{}
	for id, imp := range stats.imports {
		if strings.HasPrefix(id, "soak-") {
			succeeded++
			distinct[imp] = true
		}
	}
	var lost, duplicated int64
	for id, n := range atEEO {
		if !strings.HasPrefix(id, "soak-") {
			continue
		}
		if _, ok := stats.imports[id]; !ok {
			lost++ // EEO holds it, its caller never heard so
		}
		if n > 1 {
			duplicated += int64(n - 1)
		}
	}

	var sum strings.Builder
	fmt.Fprintf(&sum, "soak summary: %v at concurrency %d (ran %v)\n", duration, soakConcurrency, elapsed.Round(time.Millisecond))
	fmt.Fprintf(&sum, "  %-16s %10s %10s %8s\n", "operation", "calls", "errors", "calls/s")
	var total, totalErrs int64
	for _, op := range slices.Sorted(maps.Keys(stats.calls)) {
		n, e := stats.calls[op], int64(0)
		for _, k := range stats.errors[op] {
			e += k
		}
		total, totalErrs = total+n, totalErrs+e
		fmt.Fprintf(&sum, "  %-16s %10d %10d %8.0f\n", op, n, e, float64(n)/elapsed.Seconds())
	}
	fmt.Fprintf(&sum, "  %-16s %10d %10d %8.0f\n", "total", total, totalErrs, float64(total)/elapsed.Seconds())
	byCode := map[codes.Code]int64{}
	for _, m := range stats.errors {
		for c, n := range m {
			byCode[c] += n
		}
	}
	fmt.Fprintf(&sum, "  errors by gRPC code:")
	if len(byCode) == 0 {
		sum.WriteString(" none")
	}
	for _, c := range slices.Sorted(maps.Keys(byCode)) {
		fmt.Fprintf(&sum, " %v=%d", c, byCode[c])
	}
	sum.WriteString("\n")
	for _, k := range slices.Sorted(maps.Keys(stats.samples)) {
		fmt.Fprintf(&sum, "    e.g. %s: %s\n", k, stats.samples[k][0])
	}
	fmt.Fprintf(&sum, "  imports: created at EEO %d, successful CreateImport request ids %d (distinct imports %d; %d failed attempts, retried under the same request id); lost %d, duplicated %d, given up %d\n",
		created, succeeded, len(distinct), stats.calls["CreateImport"]-succeeded, lost, duplicated, stats.gaveUp.Load())
	fmt.Fprintf(&sum, "  EEO: %d token requests, %d tokens issued, %d API requests, %d requests refused for a dead token, %d uploads aborted, %d reports, %d downloads; dead tokens handed out: %d\n",
		endStats.TokenRequests-startStats.TokenRequests, endStats.TokensIssued-startStats.TokensIssued,
		endStats.APIRequests-startStats.APIRequests, endStats.RejectedTokens-startStats.RejectedTokens,
		endStats.UploadsAborted-startStats.UploadsAborted, endStats.ReportsCreated-startStats.ReportsCreated,
		endStats.Downloads-startStats.Downloads, stats.deadTokens.Load())
	objects := (endStats.ImportsCreated - startStats.ImportsCreated) + (endStats.ReportsCreated - startStats.ReportsCreated)
	fmt.Fprintf(&sum, "  goroutines: start %d, end %d; heap in use: start %.1f MiB, end %.1f MiB (%.2f KiB per import or report, which the sandbox keeps for good and the gateway's request-id log for 24 h)\n",
		startGoroutines, endGoroutines, float64(startHeap)/(1<<20), float64(endHeap)/(1<<20),
		(float64(endHeap)-float64(startHeap))/1024/float64(max(objects, 1)))
	sum.WriteString(soakHeapLine(shares, objects))
	t.Log(sum.String())
	fmt.Print(sum.String())

	// The accounting must balance: every import EEO created was answered
	// as a success, once.
	if created != succeeded || int64(len(distinct)) != succeeded || lost != 0 || duplicated != 0 {
		t.Errorf("imports: EEO created %d, %d request ids succeeded with %d distinct imports; lost %d, duplicated %d: want all equal, 0 lost, 0 duplicated",
			created, succeeded, len(distinct), lost, duplicated)
	}
	if n := stats.deadTokens.Load(); n != 0 {
		t.Errorf("GetToken handed out %d tokens EEO refused", n)
	}
	if total == 0 || stats.calls["GetToken"] == 0 || stats.calls["CreateImport"] == 0 || stats.calls["DownloadReport"] == 0 {
		t.Errorf("the load made no calls of some operation: %v", stats.calls)
	}
	// Idle connections the load leaves pooled may keep a few goroutines.
	if endGoroutines > startGoroutines+16 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines grew from %d to %d over the soak:\n%s", startGoroutines, endGoroutines, buf[:runtime.Stack(buf, true)])
	}
}

// soakWorker makes the soak's calls.
type soakWorker struct {
	t      *testing.T
	s      *stack
	tokens eeov1.TokenServiceClient
	files  eeov1.ImportReportServiceClient
	probe  *http.Client
	stats  *soakStats
	seq    *atomic.Int64
}

// retryable reports whether a failed call may be tried again as it is.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}

func (w *soakWorker) getToken(ctx context.Context, rng *rand.Rand) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), soakCallTimeout)
	defer cancel()
	resp, err := w.tokens.GetToken(cctx, &eeov1.GetTokenRequest{Account: account})
	w.stats.count("GetToken", err)
	if err != nil || rng.IntN(20) != 0 {
		return
	}
	// One token in 20 is tried at EEO at once: it must not be dead.
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, w.s.sandboxURL+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+resp.GetToken().GetAccessToken())
	r, err := w.probe.Do(req)
	if err != nil {
		return
	}
	io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if r.StatusCode == http.StatusUnauthorized {
		w.stats.deadTokens.Add(1)
	}
}

func (w *soakWorker) createImport(ctx context.Context, _ *rand.Rand) {
	n := w.seq.Add(1)
	id := fmt.Sprintf("soak-%d", n)
	file := participantsFile(512, fmt.Sprint(n))
	md := &eeov1.ImportMetadata{Account: account, ImportType: "participants", FileName: id + ".csv", RequestId: id}
	for attempt := 1; ; attempt++ {
		imp, err := w.upload(md, file)
		w.stats.count("CreateImport", err)
		if err == nil {
			if imp.GetSha256() != sha256Hex(file) || imp.GetRequestId() != id {
				w.t.Errorf("CreateImport %s returned %v; want the whole file under its request id", id, imp)
			}
			w.stats.mu.Lock()
			if prev, ok := w.stats.imports[id]; ok && prev != imp.GetImportId() {
				w.t.Errorf("request id %s got import %s, then %s", id, prev, imp.GetImportId())
			}
			w.stats.imports[id] = imp.GetImportId()
			w.stats.mu.Unlock()
			return
		}
		// The same request id again: EEO must answer the import it may
		// have created rather than make a second. Retries finish even
		// after the soak's end, so no request is left unresolved.
		if !retryable(err) || attempt == 5 {
			w.stats.gaveUp.Add(1)
			return
		}
		time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
	}
}

// upload sends file over gRPC CreateImport in one chunk.
func (w *soakWorker) upload(md *eeov1.ImportMetadata, file []byte) (*eeov1.Import, error) {
	ctx, cancel := context.WithTimeout(context.Background(), soakCallTimeout)
	defer cancel()
	stream, err := w.files.CreateImport(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}}); err == nil {
		_ = stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: file}})
	}
	resp, err := stream.CloseAndRecv()
	return resp.GetDataImport(), err
}

func (w *soakWorker) report(ctx context.Context, _ *rand.Rand) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), soakCallTimeout)
	defer cancel()
	created, err := w.files.CreateReport(cctx, &eeov1.CreateReportRequest{
		Account: account, ReportType: "participants", Parameters: map[string]string{"rows": "20"},
		RequestId: fmt.Sprintf("soak-report-%d", w.seq.Add(1)),
	})
	w.stats.count("CreateReport", err)
	if err != nil {
		return
	}
	id := created.GetReport().GetReportId()
	var rep *eeov1.Report
	for {
		resp, err := w.files.GetReport(cctx, &eeov1.GetReportRequest{Account: account, ReportId: id})
		w.stats.count("GetReport", err)
		if err != nil {
			if !retryable(err) {
				return
			}
		} else if rep = resp.GetReport(); rep.GetState() == eeov1.ReportState_REPORT_STATE_SUCCEEDED {
			break
		} else if rep.GetState() != eeov1.ReportState_REPORT_STATE_QUEUED && rep.GetState() != eeov1.ReportState_REPORT_STATE_RUNNING {
			w.t.Errorf("report %s ended %v", id, rep.GetState())
			return
		}
		select {
		case <-cctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	stream, err := w.files.DownloadReport(cctx, &eeov1.DownloadReportRequest{Account: account, ReportId: id})
	var got []byte
	for err == nil {
		var msg *httpbody.HttpBody
		if msg, err = stream.Recv(); err == nil {
			got = append(got, msg.GetData()...)
		}
	}
	if errors.Is(err, io.EOF) {
		err = nil
		if int64(len(got)) != rep.GetSizeBytes() || sha256Hex(got) != rep.GetSha256() {
			err = status.Errorf(codes.DataLoss, "downloaded %d bytes with SHA-256 %s, want %d with %s", len(got), sha256Hex(got), rep.GetSizeBytes(), rep.GetSha256())
			w.t.Errorf("DownloadReport %s: %v", id, err)
		}
	}
	w.stats.count("DownloadReport", err)
}

// heapInuse returns runtime.MemStats.HeapInuse after a collection.
func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// settledGoroutines waits up to limit for the goroutine count to fall to
// target and returns the count then.
func settledGoroutines(target int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		n := runtime.NumGoroutine()
		if n <= target || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}
