package e2e_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"github.com/eeo-gateway/eeo-gateway/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The "resources are bounded before a caller is authenticated" and
// "one caller cannot starve the others", end to end: each test reproduces
// the attack against a full stack and asserts the bound.

// countingListener counts the bytes the server reads from each connection,
// by the client's address.
type countingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]*atomic.Int64 // client address → bytes read
}

func newCountingListener(l net.Listener) *countingListener {
	return &countingListener{Listener: l, conns: map[string]*atomic.Int64{}}
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := new(atomic.Int64)
	l.mu.Lock()
	l.conns[c.RemoteAddr().String()] = n
	l.mu.Unlock()
	return &countingConn{Conn: c, n: n}, nil
}

// read returns how many bytes the server read from the connection whose
// client end is local.
func (l *countingListener) read(local net.Addr) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.conns[local.String()]; ok {
		return n.Load()
	}
	return -1
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestSecurityFormBodiesAreCappedBeforeRouting sends 60 form-encoded POSTs
// that each declare a 10 MiB body and carry X-HTTP-Method-Override, at
// routes where grpc-gateway used to parse the whole form before routing and
// authentication (a GET route, and the imports collection whose path the
// old body cap exempted), plus the upload route itself with a form body.
// No credentials are sent. However the request is answered, the gateway
// reads at most 1 MiB of each body.
func TestSecurityFormBodiesAreCappedBeforeRouting(t *testing.T) {
	cfg := &access.Config{}
	grant(cfg, "admin", []string{access.AllAccounts}, permission.All()...)
	var rest *countingListener
	s := newStack(t, stackOptions{Access: cfg, WrapListeners: func(g, h net.Listener) (net.Listener, net.Listener) {
		rest = newCountingListener(h)
		return g, rest
	}})
	addr := strings.TrimPrefix(s.restURL, "http://")
	paths := []string{
		"/v1/accounts/" + account + "/token",
		"/v1/accounts/" + account + "/imports",
		"/v1/accounts/" + account + "/reports",
	}
	const (
		bodies   = 60
		declared = 10 << 20
		bound    = 1<<20 + 16<<10 // the body cap, plus the request head
	)
	var wg sync.WaitGroup
	errs := make(chan error, bodies)
	for i := range bodies {
		wg.Go(func() {
			path := paths[i%len(paths)]
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			// A generous guard so a regression fails instead of hanging;
			// the bound itself is asserted on bytes, not time.
			c.SetDeadline(time.Now().Add(time.Minute))
			go func() {
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
					"X-HTTP-Method-Override: GET\r\nContent-Length: %d\r\n\r\n", path, declared)
				chunk := []byte("a=" + strings.Repeat("b", 64<<10-2) + "&")
				for sent := 0; sent < declared; sent += len(chunk) {
					if _, err := c.Write(chunk); err != nil {
						return // the server cut the body off
					}
				}
			}()
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode < 400 {
					errs <- fmt.Errorf("POST %s with a 10 MiB form: HTTP %d; want a refusal", path, resp.StatusCode)
				}
			}
			// Wait until the server has let go of the connection, so the
			// count is final.
			io.Copy(io.Discard, c)
			if n := rest.read(c.LocalAddr()); n > bound {
				errs <- fmt.Errorf("POST %s: the gateway read %d bytes of a 10 MiB form body; want at most %d", path, n, bound)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSecurityStalledUnauthenticatedStreamsAreBounded is the issue's
// attack on the gRPC port: two connections each open 100 GetToken calls,
// declare a 1 MiB request and send all of it but the last byte, then stall
// (rawH2 honours flow control, so it sends as much as the server lets it).
// Without credentials every call is refused at its headers; with a forged
// JWT (which only the interceptor can tell from a real one) at most
// MaxPendingStreamsPerPeer are let in, the rest are refused, and those let
// in are cancelled PendingStreamTimeout after their headers. Either way the
// gateway's heap grows by under 50 MiB, and every stream is closed.
func TestSecurityStalledUnauthenticatedStreamsAreBounded(t *testing.T) {
	const audience = "eeo-gateway"
	iss := newIssuer(t)
	cfg := &access.Config{JWT: &access.JWTConfig{Issuer: iss.name, Audience: audience, Algorithms: []string{"ES256"}, JWKSFile: iss.jwksFile}}
	grant(cfg, "admin", []string{access.AllAccounts}, permission.All()...)
	const timeout = 5 * time.Second
	s := newStack(t, stackOptions{Access: cfg, Server: func(c *server.Config) { c.Limits.PendingStreamTimeout = timeout }})
	forged := signJWT(t, testkit.ES256Signer(t, "e2e-key-1"), iss.claims("svc-payroll", audience, time.Now()))

	for _, c := range []struct {
		name, authorization string
		// outcomes the streams may end with: grpc-status values.
		outcomes map[string]bool
	}{
		{"no credentials", "", map[string]bool{strconv.Itoa(int(codes.Unauthenticated)): true}},
		{"forged JWT", "Bearer " + forged, map[string]bool{
			strconv.Itoa(int(codes.ResourceExhausted)): true, // beyond the pending streams per peer
			strconv.Itoa(int(codes.Canceled)):          true, // let in, then cut off by the timeout
			strconv.Itoa(int(codes.Unauthenticated)):   true, // let in, message arrived, JWT refused
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			const conns, streams, declared = 2, 100, 1 << 20
			runtime.GC()
			var before, during runtime.MemStats
			runtime.ReadMemStats(&before)
			clients := make([]*rawH2, conns)
			ids := make([][]uint32, conns)
			var wg sync.WaitGroup
			var mu sync.Mutex
			for i := range clients {
				r, err := dialRawH2(s.grpcAddr)
				if err != nil {
					t.Fatal(err)
				}
				defer r.close()
				clients[i] = r
				for range streams {
					wg.Go(func() {
						id, err := r.stall(eeov1.TokenService_GetToken_FullMethodName, c.authorization, declared)
						if err != nil {
							t.Errorf("stalling a call: %v", err)
						}
						mu.Lock()
						ids[i] = append(ids[i], id)
						mu.Unlock()
					})
				}
			}
			// Every call has now sent what the server let it, or ended.
			wg.Wait()
			runtime.GC()
			runtime.ReadMemStats(&during)
			if growth := int64(during.HeapInuse) - int64(before.HeapInuse); growth > 50<<20 {
				t.Errorf("heap grew by %d MiB with %d stalled calls; want under 50 MiB", growth>>20, conns*streams)
			}
			// A generous bound so a regression fails rather than hangs; the
			// calls end at their headers or after the 5 s timeout.
			deadline := time.Now().Add(time.Minute)
			for i, r := range clients {
				for id, st := range r.wait(ids[i], deadline) {
					if !c.outcomes[st] {
						t.Errorf("connection %d stream %d ended with %q; want one of %v", i, id, st, c.outcomes)
					}
				}
			}
		})
	}
}

// TestSecurityOneCallerCannotStarveOthers is the starvation
// attack: one authenticated caller opens 1010 uploads and stalls them, over
// gRPC and over REST, while another caller keeps calling GetToken and
// /healthz. The hog gets its share (MaxConcurrentTransfersPerCaller, 32)
// and every upload beyond it is refused at once with RESOURCE_EXHAUSTED /
// 429 CALLER_TRANSFER_LIMIT; the other caller is answered throughout. With
// the share raised above 1010, the hog's REST uploads fill the facade's
// transfer connection, and GetToken and /healthz still answer: they use
// the other one.
func TestSecurityOneCallerCannotStarveOthers(t *testing.T) {
	const uploads = 1010
	for _, c := range []struct {
		name  string
		share int // 0: the default
		rest  bool
	}{
		{"gRPC, default share", 0, false},
		{"REST, default share", 0, true},
		{"REST, share above the facade's streams", 2000, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &access.Config{MaxConcurrentTransfersPerCaller: c.share}
			hogKey := grant(cfg, "hog", []string{account}, access.PermImportsWrite)
			otherKey := grant(cfg, "other", []string{account}, access.PermTokenGet)
			s := newStack(t, stackOptions{Access: cfg, Server: func(sc *server.Config) {
				// All of the test's connections come from 127.0.0.1.
				sc.Limits.MaxConnectionsPerPeer = 4 * uploads
			}})
			other := s.as(t, view{Bearer: otherKey})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()

			refused := make(chan error, uploads)
			if c.rest {
				holdRESTUploads(ctx, t, s, hogKey, uploads, refused)
			} else {
				holdGRPCUploads(ctx, t, s, hogKey, uploads, refused)
			}
			want := uploads - access.DefaultMaxConcurrentTransfersPerCaller
			if c.share > uploads {
				want = 0
			}
			for range want {
				select {
				case err := <-refused:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(time.Minute): // a generous bound so a regression fails rather than hangs
					t.Fatalf("fewer than %d of the hog's uploads refused", want)
				}
			}

			// The other caller is answered, over both ports, while the hog
			// holds its uploads.
			callCtx, callCancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer callCancel()
			if _, err := other.tokens.GetToken(callCtx, &eeov1.GetTokenRequest{Account: account}); err != nil {
				t.Errorf("gRPC GetToken of another caller: %v", err)
			}
			for _, path := range []string{"/v1/accounts/" + account + "/token", "/healthz"} {
				req, err := http.NewRequestWithContext(callCtx, http.MethodGet, s.restURL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := other.http.Do(req)
				if err != nil {
					t.Errorf("REST GET %s of another caller: %v", path, err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("REST GET %s of another caller: HTTP %d", path, resp.StatusCode)
				}
			}
		})
	}
}

// holdGRPCUploads opens n CreateImport streams as the caller with key,
// sends each its metadata and stalls; each stream the server refuses sends
// nil to refused if it was CALLER_TRANSFER_LIMIT, else an error. The
// streams end with ctx.
func holdGRPCUploads(ctx context.Context, t *testing.T, s *stack, key string, n int, refused chan<- error) {
	t.Helper()
	// A connection carries at most 1000 streams: use two.
	hog := []*stack{s.as(t, view{Bearer: key}), s.as(t, view{Bearer: key})}
	for i := range n {
		files := hog[i%2].files
		stream, err := files.CreateImport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		md := &eeov1.ImportMetadata{Account: account, ImportType: "participants", FileName: "hog.csv", ContentType: "text/csv"}
		if err := stream.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: md}}); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		go func() {
			err := stream.RecvMsg(new(eeov1.CreateImportResponse))
			if ctx.Err() != nil {
				return
			}
			if info := rpcerr.Info(err); status.Code(err) != codes.ResourceExhausted || info.GetReason() != access.ReasonTransferLimit {
				refused <- fmt.Errorf("a hog upload ended with %v; want RESOURCE_EXHAUSTED %s", err, access.ReasonTransferLimit)
				return
			}
			refused <- nil
		}()
	}
}

// holdRESTUploads is holdGRPCUploads over REST: n HTTP/1.1 uploads that
// declare 1 MiB, send 1 KiB and stall.
func holdRESTUploads(ctx context.Context, t *testing.T, s *stack, key string, n int, refused chan<- error) {
	t.Helper()
	addr := strings.TrimPrefix(s.restURL, "http://")
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		context.AfterFunc(ctx, func() { c.Close() })
		if _, err := fmt.Fprintf(c, "POST /v1/accounts/%s/imports?importType=participants&fileName=hog.csv HTTP/1.1\r\nHost: gateway\r\n"+
			"Authorization: Bearer %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s", account, key, 1<<20, strings.Repeat("x", 1<<10)); err != nil {
			t.Fatal(err)
		}
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				refused <- fmt.Errorf("a hog upload: %v", err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if reason, _, _ := restRefusal(body); resp.StatusCode != http.StatusTooManyRequests || reason != access.ReasonTransferLimit {
				refused <- fmt.Errorf("a hog upload: HTTP %d %s; want 429 %s", resp.StatusCode, body, access.ReasonTransferLimit)
				return
			}
			refused <- nil
		}()
	}
}
