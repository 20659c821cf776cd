package loadgen_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/bench/loadgen"
)

const tokenBody = `{"token":{"accessToken":"t","expireTime":"2026-01-01T00:00:00Z"}}`

// tokenServer is an httptest server whose handler is h; it counts the
// connections it accepted.
func tokenServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func newGen(t *testing.T, srv *httptest.Server) *loadgen.RawHTTP1 {
	t.Helper()
	g, err := loadgen.RawHTTP1GetToken(srv.URL, "secret-key", "demo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func TestRawHTTP1SendsTheRequestOnOneKeepAliveConnection(t *testing.T) {
	var bad atomic.Value
	srv, conns := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/accounts/demo/token" || r.Header.Get("Authorization") != "Bearer secret-key" {
			bad.Store(r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, tokenBody) // one write: Content-Length
	})
	g := newGen(t, srv)
	for i := range 100 {
		if err := g.Call(t.Context()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if v := bad.Load(); v != nil {
		t.Fatalf("server saw %v", v)
	}
	if conns.Load() != 1 || g.Reconnects() != 0 {
		t.Fatalf("%d connections, %d reconnects for 100 sequential calls; want 1, 0", conns.Load(), g.Reconnects())
	}
}

func TestRawHTTP1KeepsAConnectionPerWorker(t *testing.T) {
	srv, conns := tokenServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tokenBody) })
	g := newGen(t, srv)
	r := loadgen.Closed(t.Context(), 4, 200*time.Millisecond, g.Call)
	if err := r.Check(); err != nil || r.Errors != 0 {
		t.Fatalf("%v: %v", r, err)
	}
	if n := conns.Load(); n < 1 || n > 4 || g.Reconnects() != 0 {
		t.Fatalf("%d connections, %d reconnects for 4 workers; want at most 4, 0", n, g.Reconnects())
	}
}

func TestRawHTTP1CountsStatusErrorsAndKeepsTheConnection(t *testing.T) {
	var n atomic.Int64
	srv, conns := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			http.Error(w, `{"code":14,"message":"EEO is unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, tokenBody)
	})
	g := newGen(t, srv)
	r := loadgen.Closed(t.Context(), 1, 100*time.Millisecond, g.Call)
	if r.Calls < 2 || r.Errors != r.Calls/2 {
		t.Fatalf("%d calls, %d failed; want every second one to fail", r.Calls, r.Errors)
	}
	if !strings.Contains(r.FirstError.Error(), "HTTP 503") || !strings.Contains(r.FirstError.Error(), "EEO is unavailable") {
		t.Fatalf("first error %q; want the status and the body", r.FirstError)
	}
	if conns.Load() != 1 {
		t.Fatalf("%d connections; a framed error response must not cost the connection", conns.Load())
	}
}

func TestRawHTTP1ReadsChunkedBodies(t *testing.T) {
	srv, conns := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		// Flushing before the handler ends makes net/http chunk the body.
		half := len(tokenBody) / 2
		io.WriteString(w, tokenBody[:half])
		w.(http.Flusher).Flush()
		io.WriteString(w, tokenBody[half:])
	})
	g := newGen(t, srv)
	for i := range 10 {
		if err := g.Call(t.Context()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if conns.Load() != 1 {
		t.Fatalf("%d connections; a chunked body must be read to its end and the connection reused", conns.Load())
	}
}

func TestRawHTTP1ReconnectsAfterConnectionClose(t *testing.T) {
	srv, conns := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, tokenBody)
	})
	g := newGen(t, srv)
	for i := range 5 {
		if err := g.Call(t.Context()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if conns.Load() != 5 || g.Reconnects() != 5 {
		t.Fatalf("%d connections, %d reconnects; want a fresh connection per call after Connection: close", conns.Load(), g.Reconnects())
	}
}

func TestRawHTTP1ResendsWhenTheServerClosedAnIdleConnection(t *testing.T) {
	srv, conns := tokenServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tokenBody) })
	g := newGen(t, srv)
	if err := g.Call(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	if err := g.Call(t.Context()); err != nil {
		t.Fatalf("call on a connection the server closed while idle: %v", err)
	}
	if conns.Load() != 2 || g.Reconnects() != 1 {
		t.Fatalf("%d connections, %d reconnects; want 2, 1", conns.Load(), g.Reconnects())
	}
}

func TestRawHTTP1ValidatesTheBody(t *testing.T) {
	srv, _ := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"token":{}}`)
	})
	g := newGen(t, srv)
	if err := g.Call(t.Context()); err == nil || !strings.Contains(err.Error(), "not a GetToken response") {
		t.Fatalf("Call = %v; want a body without accessToken refused", err)
	}
}

// rawServer answers every request on each connection with resp, verbatim,
// and closes the connection after the first answer if closeAfter.
func rawServer(t *testing.T, resp string, closeAfter bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					if _, err := http.ReadRequest(r); err != nil {
						return
					}
					if _, err := io.WriteString(c, resp); err != nil || closeAfter {
						return
					}
				}
			})
		}
	})
	return "http://" + l.Addr().String()
}

func TestRawHTTP1FailsClearlyOnResponsesItCannotFrame(t *testing.T) {
	for _, tc := range []struct{ name, resp, want string }{
		{"no length on keep-alive", "HTTP/1.1 200 OK\r\n\r\n" + tokenBody, "neither Content-Length nor chunked"},
		{"gzip transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported Transfer-Encoding"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size"},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n", "malformed status line"},
		{"HTTP/2 preface", "HTTP/2 200\r\n\r\n", "malformed status line"},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "bad Content-Length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := loadgen.RawHTTP1GetToken(rawServer(t, tc.resp, false), "k", "demo")
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if err := g.Call(t.Context()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Call = %v; want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestRawHTTP1ReadsABodyDelimitedByClose(t *testing.T) {
	// HTTP/1.0 without keep-alive: the body ends when the server closes.
	g, err := loadgen.RawHTTP1GetToken(rawServer(t, "HTTP/1.0 200 OK\r\n\r\n"+tokenBody, true), "k", "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for i := range 3 {
		if err := g.Call(t.Context()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if g.Reconnects() != 3 {
		t.Fatalf("%d reconnects; want one per HTTP/1.0 response", g.Reconnects())
	}
}

func TestRawHTTP1DoesNotTakeAnUnendedBodyForComplete(t *testing.T) {
	// Truncated: the server sends half the promised body and keeps the
	// connection open; the call fails at its deadline.
	g, err := loadgen.RawHTTP1GetToken(rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"+tokenBody, false), "k", "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.Timeout = 50 * time.Millisecond
	if err := g.Call(t.Context()); err == nil || !strings.Contains(err.Error(), "reading the body") {
		t.Fatalf("Call = %v; want the short body reported", err)
	}
}

func TestRawHTTP1TimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	g, err := loadgen.RawHTTP1GetToken("http://"+l.Addr().String(), "k", "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.Timeout = time.Millisecond // nothing ever answers
	if err := g.Call(t.Context()); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Call = %v; want a timeout", err)
	}
}
