package faultproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eeo-gateway/eeo-gateway/internal/faultproxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const bigSize = 4096

var bigBody = bytes.Repeat([]byte("x"), bigSize)

// env is an httptest target, a proxy in front of it and a keep-alive client.
type env struct {
	target *httptest.Server
	hits   *atomic.Int64 // requests that reached the target
	proxy  *faultproxy.Proxy
	tr     *http.Transport
	client *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	hits := new(atomic.Int64)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "hello")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(bigSize))
		_, _ = w.Write(bigBody)
	})
	target := httptest.NewServer(mux)
	t.Cleanup(target.Close)

	p, err := faultproxy.New(faultproxy.Options{Target: target.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})

	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{target: target, hits: hits, proxy: p, tr: tr, client: &http.Client{Transport: tr}}
}

// get fetches path through the proxy and reads the whole body. reused reports
// whether the connection finally used came from the pool.
func (e *env) get(ctx context.Context, path string) (status int, body []byte, reused bool, err error) {
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, e.proxy.URL()+path, nil)
	if err != nil {
		return 0, nil, false, err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, reused, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, body, reused, err
}

func (e *env) mustGet(t *testing.T, path string) (reused bool) {
	t.Helper()
	status, body, reused, err := e.get(t.Context(), path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, status)
	}
	if path == "/" && string(body) != "hello" {
		t.Fatalf("GET %s: body %q", path, body)
	}
	return reused
}

func wantStats(t *testing.T, p *faultproxy.Proxy, want faultproxy.Stats) {
	t.Helper()
	if got := p.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

// await waits for cond on the proxy's stats; the 10s bound only guards a
// hang, and leaves room for a loaded CI machine.
func await(t *testing.T, p *faultproxy.Proxy, cond func(faultproxy.Stats) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := p.Await(ctx, cond); err != nil {
		t.Fatal(err)
	}
}

func TestNewRequiresTarget(t *testing.T) {
	if _, err := faultproxy.New(faultproxy.Options{}); err == nil {
		t.Fatal("New without Target: want error")
	}
}

func TestAddrAndURL(t *testing.T) {
	e := newEnv(t)
	host, port, err := net.SplitHostPort(e.proxy.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr = %q (%v), want 127.0.0.1:<port>", e.proxy.Addr(), err)
	}
	if got, want := e.proxy.URL(), "http://"+e.proxy.Addr(); got != want {
		t.Fatalf("URL = %q, want %q", got, want)
	}
}

func TestPass(t *testing.T) {
	e := newEnv(t)
	e.mustGet(t, "/")
	e.mustGet(t, "/big")
	if got := e.hits.Load(); got != 2 {
		t.Fatalf("target hits = %d, want 2", got)
	}
	// Keep-alive: both requests rode one proxied connection.
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 1, Active: 1})
}

func TestRefuse(t *testing.T) {
	e := newEnv(t)
	e.proxy.Set(faultproxy.Refuse, faultproxy.FaultConfig{})
	if _, _, _, err := e.get(t.Context(), "/"); err == nil {
		t.Fatal("GET through Refuse: want error")
	}
	if got := e.proxy.Stats().Accepted; got != 1 {
		t.Fatalf("Accepted = %d, want 1 (Refuse accepts, then closes)", got)
	}
	if got := e.hits.Load(); got != 0 {
		t.Fatalf("target hits = %d, want 0", got)
	}
}

func TestDownUp(t *testing.T) {
	e := newEnv(t)
	addr := e.proxy.Addr()
	e.mustGet(t, "/")

	e.proxy.Down()
	e.proxy.Down() // idempotent
	e.proxy.CloseConnections()
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 1, Active: 0})

	_, _, _, err := e.get(t.Context(), "/")
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("GET while down: err = %v, want connection refused", err)
	}

	if err := e.proxy.Up(); err != nil {
		t.Fatal(err)
	}
	if err := e.proxy.Up(); err != nil { // idempotent
		t.Fatal(err)
	}
	if got := e.proxy.Addr(); got != addr {
		t.Fatalf("Addr after Up = %q, want %q", got, addr)
	}
	e.mustGet(t, "/")
	if got := e.proxy.Stats().Accepted; got != 2 {
		t.Fatalf("Accepted = %d, want 2", got)
	}
}

func TestBlackhole(t *testing.T) {
	e := newEnv(t)
	e.proxy.Set(faultproxy.Blackhole, faultproxy.FaultConfig{})

	// The client gives up 100ms after the proxy read its request: the
	// only way the call ends otherwise is the proxy answering or closing.
	// (A deadline set before the dial could pass, on a busy machine, before
	// the connection was even made, and then nothing would be accepted.)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, _, _, err := e.get(ctx, "/")
		errc <- err
	}()
	await(t, e.proxy, func(s faultproxy.Stats) bool { return s.Heard == 1 })
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("GET through Blackhole: err = %v, want the client's own cancellation", err)
	}
	if got := e.hits.Load(); got != 0 {
		t.Fatalf("target hits = %d, want 0", got)
	}

	// The client has given up (and closes its end), but the proxy holds on.
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 1, Active: 1, Heard: 1})

	if err := e.proxy.Close(); err != nil {
		t.Fatal(err)
	}
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 1, Active: 0, Heard: 1})
}

func TestResetMidResponse(t *testing.T) {
	e := newEnv(t)
	const after = 1024 // past the response headers, short of the body's end
	e.proxy.Set(faultproxy.ResetMidResponse, faultproxy.FaultConfig{ResetAfter: after})

	status, body, _, err := e.get(t.Context(), "/big")
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (headers fit in the first %d bytes); err = %v", status, after, err)
	}
	if !errors.Is(err, syscall.ECONNRESET) || !strings.Contains(err.Error(), "connection reset by peer") {
		t.Fatalf("body read: err = %v, want connection reset by peer", err)
	}
	if len(body) == 0 || len(body) >= bigSize {
		t.Fatalf("got %d body bytes before the reset, want a partial body", len(body))
	}
}

func TestTruncateResponse(t *testing.T) {
	e := newEnv(t)
	const after = 1024
	e.proxy.Set(faultproxy.TruncateResponse, faultproxy.FaultConfig{TruncateAfter: after})

	status, body, _, err := e.get(t.Context(), "/big")
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200; err = %v", status, err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("body read: err = %v, want unexpected EOF", err)
	}
	if len(body) == 0 || len(body) >= bigSize {
		t.Fatalf("got %d body bytes, want a partial body", len(body))
	}
}

// rawTarget is a TCP target that, per connection, reads one byte and then
// writes size bytes.
func rawTarget(t *testing.T, size int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				var b [1]byte
				if _, err := io.ReadFull(c, b[:]); err != nil {
					return
				}
				_, _ = c.Write(make([]byte, size)) // fails once the proxy drops us
			})
		}
	})
	return ln.Addr().String()
}

// TestResponseByteCounts checks the exact number of response bytes each
// limited fault lets through, on a raw TCP connection.
func TestResponseByteCounts(t *testing.T) {
	for _, tc := range []struct {
		fault   faultproxy.Fault
		cfg     faultproxy.FaultConfig
		want    int
		wantErr error // nil: clean EOF
	}{
		{faultproxy.TruncateResponse, faultproxy.FaultConfig{TruncateAfter: 100}, 100, nil},
		{faultproxy.TruncateResponse, faultproxy.FaultConfig{TruncateAfter: 0}, 0, nil},
		{faultproxy.ResetMidResponse, faultproxy.FaultConfig{ResetAfter: 100}, 100, syscall.ECONNRESET},
		{faultproxy.ResetMidResponse, faultproxy.FaultConfig{ResetAfter: 0}, 0, syscall.ECONNRESET},
		{faultproxy.Pass, faultproxy.FaultConfig{}, 50000, nil},
	} {
		t.Run(tc.fault.String()+"/"+strconv.Itoa(tc.want), func(t *testing.T) {
			p, err := faultproxy.New(faultproxy.Options{Target: rawTarget(t, 50000)})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.Set(tc.fault, tc.cfg)

			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte{1}); err != nil {
				t.Fatal(err)
			}
			if tc.fault == faultproxy.Pass {
				// The target never closes first; read exactly what it sends.
				got, err := io.ReadFull(c, make([]byte, tc.want))
				if err != nil || got != tc.want {
					t.Fatalf("read %d bytes, err %v; want %d", got, err, tc.want)
				}
				return
			}
			got, err := io.ReadAll(c)
			if len(got) != tc.want {
				t.Fatalf("read %d response bytes, want %d", len(got), tc.want)
			}
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	e := newEnv(t)
	const delay = 40 * time.Millisecond
	e.proxy.Set(faultproxy.Latency, faultproxy.FaultConfig{Delay: delay})

	start := time.Now()
	e.mustGet(t, "/")
	elapsed := time.Since(start)
	// The request is held delay on the way in, the response delay on the way
	// out, and the response cannot exist before the request arrives.
	if elapsed < 2*delay {
		t.Fatalf("round trip took %v, want at least %v", elapsed, 2*delay)
	}
}

func TestLatencyRespectsClose(t *testing.T) {
	e := newEnv(t)
	e.proxy.Set(faultproxy.Latency, faultproxy.FaultConfig{Delay: time.Hour})

	errc := make(chan error, 1)
	go func() {
		_, _, _, err := e.get(t.Context(), "/")
		errc <- err
	}()
	await(t, e.proxy, func(s faultproxy.Stats) bool { return s.Active == 1 })

	// Close must cut the hour-long hold short; a hang here fails by timeout.
	if err := e.proxy.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Fatal("GET through a closed Latency proxy: want error")
	}
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 1, Active: 0})
	if err := e.proxy.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := e.proxy.Up(); !errors.Is(err, faultproxy.ErrClosed) {
		t.Fatalf("Up after Close: err = %v, want ErrClosed", err)
	}
}

func TestSetAppliesToNewConnections(t *testing.T) {
	e := newEnv(t)
	e.mustGet(t, "/")

	e.proxy.Set(faultproxy.Refuse, faultproxy.FaultConfig{})
	if !e.mustGet(t, "/") {
		t.Fatal("second GET did not reuse the pooled connection")
	}
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 1, Active: 1})

	e.proxy.CloseConnections()
	if _, _, _, err := e.get(t.Context(), "/"); err == nil {
		t.Fatal("GET after CloseConnections under Refuse: want error")
	}
	if got := e.proxy.Stats().Accepted; got != 2 {
		t.Fatalf("Accepted = %d, want 2", got)
	}
}

func TestCloseConnections(t *testing.T) {
	e := newEnv(t)
	e.mustGet(t, "/")
	if !e.mustGet(t, "/") {
		t.Fatal("second GET did not reuse the pooled connection")
	}
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 1, Active: 1})

	e.proxy.CloseConnections()
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 1, Active: 0})

	if e.mustGet(t, "/") {
		t.Fatal("GET after CloseConnections reused a connection")
	}
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 2, Active: 1})
}

func TestCloseTearsDownEverything(t *testing.T) {
	e := newEnv(t)
	e.mustGet(t, "/") // a pooled Pass connection
	e.proxy.Set(faultproxy.Blackhole, faultproxy.FaultConfig{})
	c, err := net.Dial("tcp", e.proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	await(t, e.proxy, func(s faultproxy.Stats) bool { return s.Active == 2 })

	if err := e.proxy.Close(); err != nil {
		t.Fatal(err)
	}
	wantStats(t, e.proxy, faultproxy.Stats{Accepted: 2, Active: 0})
	// The proxy closed its end of the held connection.
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a connection after Close: want error")
	}
	if _, err := net.Dial("tcp", e.proxy.Addr()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Close: err = %v, want connection refused", err)
	}
}

func TestTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	p, err := faultproxy.New(faultproxy.Options{Target: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The dial to the target fails, so the proxy drops the client.
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read: want EOF or reset")
	}
	await(t, p, func(s faultproxy.Stats) bool { return s.Active == 0 })
}

func TestFaultString(t *testing.T) {
	if got := faultproxy.ResetMidResponse.String(); got != "ResetMidResponse" {
		t.Fatalf("String = %q", got)
	}
	if got := faultproxy.Fault(42).String(); got != "Fault(42)" {
		t.Fatalf("String = %q", got)
	}
}
