package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/sandbox"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestGracefulShutdownUnderLoad cancels the server's Serve context while 20
// unary calls (GetToken, GetImport) wait on a slow EEO and four uploads are
// half sent: two over gRPC (one that the caller then finishes, one it
// cancels) and two over REST (one finished, one whose body breaks off).
// Every unary call must complete OK, the finished uploads must create their
// import with the whole file's SHA-256, the abandoned ones must fail cleanly
// and create nothing, and Serve must return nil without cutting the drain
// short.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	const (
		unary    = 20
		drainFor = 10 * time.Second // ShutdownTimeout: far more than the calls need
	)
	// Interceptors that only count the calls that have reached the
	// server, so the test cancels Serve once every call is in flight.
	var unaryIn, uploadsIn atomic.Int64
	s := newStack(t, stackOptions{Server: func(c *server.Config) {
		c.ShutdownTimeout = drainFor
		c.UnaryInterceptors = append(c.UnaryInterceptors, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if strings.HasSuffix(info.FullMethod, "/GetToken") || strings.HasSuffix(info.FullMethod, "/GetImport") {
				unaryIn.Add(1)
			}
			return handler(ctx, req)
		})
		c.StreamInterceptors = append(c.StreamInterceptors, func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			if strings.HasSuffix(info.FullMethod, "/CreateImport") {
				uploadsIn.Add(1)
			}
			return handler(srv, ss)
		})
	}})

	// An import for GetImport to read. Then no token is cached and EEO is
	// slow, so every call waits on EEO when shutdown begins.
	seed, err := s.upload(t.Context(), &eeov1.ImportMetadata{ImportType: "participants", FileName: "seed.csv"}, participantsFile(1<<10, "seed"), 1<<10)
	if err != nil {
		t.Fatalf("seed upload: %v", err)
	}
	base := s.sb.Stats().ImportsCreated
	uploadsIn.Store(0)
	if _, err := s.cache.Drop(account); err != nil {
		t.Fatal(err)
	}
	s.sb.SetFaults(sandbox.Faults{
		// Long enough for every call to arrive while the first is still
		// waiting for the token, even on a loaded machine.
		Token: sandbox.Fault{Latency: 2 * time.Second},
		API:   sandbox.Fault{Latency: 300 * time.Millisecond},
	})

	ctx, cancelAll := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancelAll()
	loadStart := time.Now()

	// Four uploads, each half sent.
	files := make([][]byte, 4)
	for i := range files {
		files[i] = participantsFile(40<<10, fmt.Sprintf("shutdown%d", i))
	}
	const chunk = 4 << 10
	half := func(b []byte) int { return len(b) / 2 / chunk * chunk }
	type grpcUpload struct {
		stream grpc.ClientStreamingClient[eeov1.CreateImportRequest, eeov1.CreateImportResponse]
		cancel context.CancelFunc
	}
	openGRPC := func(i int) grpcUpload {
		uctx, cancel := context.WithCancel(ctx)
		stream, err := s.files.CreateImport(uctx)
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		md := &eeov1.ImportMetadata{Account: account, ImportType: "participants", FileName: fmt.Sprintf("shutdown-%d.csv", i),
			RequestId: fmt.Sprintf("shutdown-%d", i), SizeBytes: int64(len(files[i]))}
		if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}}); err != nil {
			t.Fatalf("upload %d metadata: %v", i, err)
		}
		for off := 0; off < half(files[i]); off += chunk {
			if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: files[i][off : off+chunk]}}); err != nil {
				t.Fatalf("upload %d chunk at %d: %v", i, off, err)
			}
		}
		return grpcUpload{stream, cancel}
	}
	finished, abandoned := openGRPC(0), openGRPC(1)
	defer finished.cancel()

	type restResult struct {
		code int
		body []byte
		err  error
	}
	openREST := func(i int) (*io.PipeWriter, <-chan restResult) {
		pr, pw := io.Pipe()
		q := url.Values{"importType": {"participants"}, "fileName": {fmt.Sprintf("shutdown-%d.csv", i)}, "requestId": {fmt.Sprintf("shutdown-%d", i)}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.restURL+importsPath+"?"+q.Encode(), pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(len(files[i]))
		req.Header.Set("Content-Type", "text/csv")
		done := make(chan restResult, 1)
		go func() {
			resp, err := s.http.Do(req)
			if err != nil {
				done <- restResult{err: err}
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			done <- restResult{resp.StatusCode, body, err}
		}()
		// The pipe hands each write to the transport: once it returns, the
		// half is on its way to the gateway.
		if _, err := pw.Write(files[i][:half(files[i])]); err != nil {
			t.Fatalf("REST upload %d: %v", i, err)
		}
		return pw, done
	}
	restFinished, restFinishedDone := openREST(2)
	restAborted, restAbortedDone := openREST(3)

	// 20 unary calls, all waiting on EEO.
	errs := make([]error, unary)
	var wg sync.WaitGroup
	var unaryDone atomic.Int64
	for i := range unary {
		wg.Go(func() {
			defer unaryDone.Add(1)
			if i%2 == 0 {
				tok, err := s.getToken(ctx)
				if err == nil && tok.GetAccessToken() == "" {
					err = errors.New("GetToken returned no token")
				}
				errs[i] = err
				return
			}
			resp, err := s.files.GetImport(ctx, &eeov1.GetImportRequest{Account: account, ImportId: seed.GetImportId()})
			if err == nil && resp.GetDataImport().GetImportId() != seed.GetImportId() {
				err = fmt.Errorf("GetImport returned %v", resp.GetDataImport())
			}
			errs[i] = err
		})
	}
	for deadline := time.Now().Add(5 * time.Second); unaryIn.Load() != unary || uploadsIn.Load() != 4; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d unary calls and %d of 4 uploads reached the server", unaryIn.Load(), unary, uploadsIn.Load())
		}
	}

	// Shut down, and once the server says so, let the uploads end.
	served := make(chan error, 1)
	shutdownStart := time.Now()
	go func() { served <- s.stopServer() }()
	if n := unaryDone.Load(); n != 0 {
		t.Fatalf("%d unary calls had completed before shutdown began, %v after the load started: they should all be waiting on EEO", n, time.Since(loadStart))
	}
	waitUntil(t, "the server to start shutting down", 5*time.Second, func() bool {
		return s.countLogs(t, "shutting down", map[string]string{"component": "server"}) == 1
	})

	var uploadWG sync.WaitGroup
	var finishedImp *eeov1.Import
	var finishedErr error
	uploadWG.Go(func() {
		for off := half(files[0]); off < len(files[0]); off += chunk {
			if err := finished.stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Chunk{Chunk: files[0][off:min(off+chunk, len(files[0]))]}}); err != nil {
				break // the server has answered; CloseAndRecv says how
			}
		}
		resp, err := finished.stream.CloseAndRecv()
		finishedImp, finishedErr = resp.GetDataImport(), err
	})
	var abandonedErr error
	uploadWG.Go(func() {
		abandoned.cancel() // the caller goes away mid-file
		_, abandonedErr = abandoned.stream.CloseAndRecv()
	})
	uploadWG.Go(func() {
		if _, err := restFinished.Write(files[2][half(files[2]):]); err != nil {
			t.Errorf("REST upload 2, second half: %v", err)
		}
		restFinished.Close()
	})
	restAborted.CloseWithError(errors.New("the client broke off the body"))
	uploadWG.Wait()
	wg.Wait()
	restOK, restBroken := <-restFinishedDone, <-restAbortedDone

	var serveErr error
	select {
	case serveErr = <-served:
	case <-time.After(drainFor + 5*time.Second):
		t.Fatal("Serve did not return")
	}
	took := time.Since(shutdownStart)

	// Every unary call completed OK.
	for i, err := range errs {
		if err != nil {
			t.Errorf("unary call %d in flight at shutdown: %v", i, err)
		}
	}
	// The uploads the callers finished completed with the whole file.
	successes := int64(0)
	if finishedErr != nil {
		t.Errorf("gRPC upload finished during shutdown: %v", finishedErr)
	} else if finishedImp.GetSha256() != sha256Hex(files[0]) || finishedImp.GetSizeBytes() != int64(len(files[0])) {
		t.Errorf("gRPC upload finished during shutdown created %v; want the whole file (sha256 %s)", finishedImp, sha256Hex(files[0]))
	} else {
		successes++
	}
	var restImp eeov1.CreateImportResponse
	switch {
	case restOK.err != nil || restOK.code != http.StatusOK:
		t.Errorf("REST upload finished during shutdown: HTTP %d, %v, body %.300s", restOK.code, restOK.err, restOK.body)
	case protojson.Unmarshal(restOK.body, &restImp) != nil:
		t.Errorf("REST upload finished during shutdown: body %.300s is not a CreateImportResponse", restOK.body)
	case restImp.GetDataImport().GetSha256() != sha256Hex(files[2]) || restImp.GetDataImport().GetSizeBytes() != int64(len(files[2])):
		t.Errorf("REST upload finished during shutdown created %v; want the whole file (sha256 %s)", restImp.GetDataImport(), sha256Hex(files[2]))
	default:
		successes++
	}
	// The abandoned ones failed cleanly: the caller's own cancellation, a
	// transport error for the REST client whose body broke off.
	if c := status.Code(abandonedErr); c != codes.Canceled {
		t.Errorf("gRPC upload cancelled during shutdown: %v (code %v), want Canceled", abandonedErr, c)
	}
	if restBroken.err == nil && restBroken.code == http.StatusOK {
		t.Errorf("REST upload whose body broke off succeeded: body %.300s", restBroken.body)
	}
	// No partial import: EEO holds exactly the two whole files.
	if n := s.sb.Stats().ImportsCreated - base; n != successes || successes != 2 {
		t.Errorf("EEO created %d imports during shutdown; %d uploads succeeded; want 2 and 2", n, successes)
	}

	if serveErr != nil {
		t.Errorf("Serve returned %v, want nil", serveErr)
	}
	if took >= drainFor {
		t.Errorf("shutdown took %v, the whole drain budget", took)
	}
	for _, msg := range []string{"REST drain cut short", "gRPC drain cut short; cancelling calls still in flight"} {
		if n := s.countLogs(t, msg, nil); n != 0 {
			t.Errorf("the server logged %q: in-flight calls were cut off", msg)
		}
	}
	// And it is down: a new call fails.
	if _, err := s.getToken(t.Context()); status.Code(err) != codes.Unavailable {
		t.Errorf("GetToken after Serve returned: %v, want Unavailable", err)
	}
	t.Logf("shutdown under load: every call in flight %v after the load started; %d unary calls OK; uploads: 2 completed, 2 abandoned (gRPC %v; REST client error %v); %d imports created; Serve returned %v after %v",
		shutdownStart.Sub(loadStart).Round(time.Millisecond), unary, status.Code(abandonedErr), restBroken.err != nil, s.sb.Stats().ImportsCreated-base, serveErr, took.Round(time.Millisecond))
}
