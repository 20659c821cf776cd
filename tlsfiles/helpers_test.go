package tlsfiles_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ---- files ----------------------------------------------------------------

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// writeAtomic replaces path the way rotation tools do: write a temporary
// file in the same directory, then rename it over path.
func writeAtomic(path string, data []byte) {
	f := must(os.CreateTemp(filepath.Dir(path), ".tmp-*"))
	if _, err := f.Write(data); err != nil {
		panic(err)
	}
	if err := f.Close(); err != nil {
		panic(err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		panic(err)
	}
}

// ---- clock and logs ------------------------------------------------------

// logBuffer collects text-handler output; handshakes log from server
// goroutines, so it is a testkit.SyncBuffer.
type logBuffer struct{ testkit.SyncBuffer }

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// count returns the number of log lines containing all of subs.
func (l *logBuffer) count(subs ...string) int {
	n := 0
lines:
	for line := range strings.Lines(l.String()) {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue lines
			}
		}
		n++
	}
	return n
}

// ---- TLS server and client --------------------------------------------------

type result struct {
	state tls.ConnectionState
	err   error
}

type tlsServer struct {
	addr    string
	results chan result
}

// serveTLS runs a TLS listener on 127.0.0.1:0 that completes the handshake,
// writes "ok" and closes; each connection's server-side outcome is sent on
// results.
func serveTLS(t *testing.T, cfg *tls.Config) *tlsServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsServer{addr: ln.Addr().String(), results: make(chan result, 128)}
	var wg sync.WaitGroup
	wg.Go(func() {
		tln := tls.NewListener(ln, cfg)
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
				err := tc.Handshake()
				if err == nil {
					_, err = tc.Write([]byte("ok"))
				}
				select {
				case s.results <- result{state: tc.ConnectionState(), err: err}:
				default: // nobody is looking; don't block shutdown
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return s
}

// next returns the server-side outcome of the next connection.
func (s *tlsServer) next(t *testing.T) result {
	t.Helper()
	select {
	case r := <-s.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no server-side handshake result")
		return result{}
	}
}

// dial handshakes with the server and reads its "ok", which is where a TLS
// 1.3 client learns that its certificate was rejected.
func dial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return tls.ConnectionState{}, err
	}
	if string(buf) != "ok" {
		return tls.ConnectionState{}, errors.New("unexpected greeting " + string(buf))
	}
	return conn.ConnectionState(), nil
}
