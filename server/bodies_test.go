package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"github.com/eeo-gateway/eeo-gateway/server"
)

// pipeListener hands out in-memory connections, so a whole gateway can run
// inside a synctest bubble whose clock only moves when everything waits.
type pipeListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.closeOnce.Do(func() { close(l.closed) }); return nil }

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial() net.Conn {
	server, client := net.Pipe()
	l.conns <- server
	return client
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "198.51.100.7:4711" }

// bubbleGateway runs a gateway on pipe listeners inside the current
// synctest bubble and returns its REST listener; stop ends it.
func bubbleGateway(t *testing.T, mutate func(*server.Config)) (rest *pipeListener, up *fakeUpstream, stop func()) {
	t.Helper()
	f := &authtest.Fetcher{ExpiresIn: time.Hour}
	cache, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: f}}, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	up = newFakeUpstream()
	cfg := server.Config{Tokens: cache, ShutdownTimeout: time.Second,
		Upstreams: map[string]server.Upstream{"demo": up}, Logger: slog.New(slog.DiscardHandler)}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, restLis := newPipeListener(), newPipeListener()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, grpcLis, restLis) }()
	return restLis, up, func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		cache.Close()
	}
}

// slowRequest writes a request's head and the first part of its body, then
// returns the connection for the rest.
func slowRequest(t *testing.T, lis *pipeListener, head string, first string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := lis.dial()
	go func() {
		// Ignore errors: the server may cut the connection at any point.
		io.WriteString(c, head+first)
	}()
	return c, bufio.NewReader(c)
}

func TestRESTBodyHasTotalReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rest, _, stop := bubbleGateway(t, func(c *server.Config) { c.Limits.BodyReadTimeout = 5 * time.Second })
		defer stop()
		start := time.Now()
		// A JSON body that promises 1000 bytes, sends ten and stalls.
		c, br := slowRequest(t, rest, "POST /v1/accounts/demo/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", `{"reportTy`)
		defer c.Close()
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			resp.Body.Close()
		}
		if elapsed := time.Since(start); elapsed < 5*time.Second || elapsed > 6*time.Second {
			t.Errorf("stalled body cut off after %v; want the 5s body read timeout", elapsed)
		}
		if err == nil && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d; want 400 or a closed connection", resp.StatusCode)
		}
	})
}

func TestRESTUploadHasIdleNotTotalDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rest, up, stop := bubbleGateway(t, func(c *server.Config) {
			c.Limits.BodyReadTimeout = 5 * time.Second
			c.Limits.UploadIdleTimeout = 20 * time.Second
		})
		defer stop()
		const chunks = 10
		c := rest.dial()
		defer c.Close()
		start := time.Now()
		writeErr := make(chan error, 1)
		go func() {
			_, err := fmt.Fprintf(c, "POST /v1/accounts/demo/imports?importType=participants&fileName=p.csv HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n", 2*chunks*100)
			// Progress every 15 s: slower than the 5 s body timeout in
			// total, never idle for the 20 s upload timeout.
			for i := 0; i < chunks && err == nil; i++ {
				_, err = io.WriteString(c, strings.Repeat("x", 100))
				time.Sleep(15 * time.Second)
			}
			// Then half the file is missing and the client stalls.
			writeErr <- err
		}()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err := <-writeErr; err != nil {
			t.Fatalf("the upload was cut off while it made progress: %v", err)
		}
		if err == nil {
			resp.Body.Close()
		}
		progress := time.Duration(chunks) * 15 * time.Second
		lastByte := progress - 15*time.Second
		if elapsed := time.Since(start); elapsed < lastByte+20*time.Second || elapsed > lastByte+21*time.Second {
			t.Errorf("stalled upload cut off after %v; want 20s after its last byte at %v", elapsed, lastByte)
		}
		synctest.Wait()
		for _, u := range up.recorded() {
			if u.readErr == nil {
				t.Errorf("an import was created from a partial upload (%d bytes)", u.bytes)
			}
		}
		if up.importCount() != 0 {
			t.Errorf("%d imports created from a stalled upload", up.importCount())
		}
	})
}

// TestMethodOverrideIsOptIn: grpc-gateway's X-HTTP-Method-Override parses a
// form before routing, so it is off unless Limits.AllowMethodOverride.
func TestMethodOverrideIsOptIn(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow=%v", allow), func(t *testing.T) {
			g := startGateway(t, func(c *server.Config) { c.Limits.AllowMethodOverride = allow })
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.baseURL+"/v1/accounts/demo/token", strings.NewReader("x=1"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-HTTP-Method-Override", http.MethodGet)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if served := resp.StatusCode == http.StatusOK; served != allow {
				t.Errorf("POST as GET via X-HTTP-Method-Override: HTTP %d; want it served: %v", resp.StatusCode, allow)
			}
		})
	}
}
