package e2e_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
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
