package redistest

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// Silent is a Redis that never answers: it accepts connections and reads
// what clients send, and writes nothing, as a hung Redis (or one behind a
// partition) whose TCP connections stay up. Unlike a paused Server it
// needs no redis-server, and it tells when a client is waiting for it.
type Silent struct {
	// Addr is its host:port on loopback.
	Addr string
	// Spoke receives one value each time a connection sends its first
	// bytes (a client is now waiting for an answer); values that find it
	// full are dropped.
	Spoke <-chan struct{}

	lis   net.Listener
	spoke chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn // guarded by mu
}

// StartSilent starts a Silent for the test and closes it when the test
// ends.
func StartSilent(t testing.TB) *Silent {
	t.Helper()
	lis := testkit.Listen(t)
	s := &Silent{Addr: lis.Addr().String(), lis: lis, spoke: make(chan struct{}, 64)}
	s.Spoke = s.spoke
	s.wg.Go(s.accept)
	t.Cleanup(func() {
		s.Close()
		s.wg.Wait()
	})
	return s
}

func (s *Silent) accept() {
	for {
		c, err := s.lis.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Go(func() {
			if _, err := c.Read(make([]byte, 512)); err != nil {
				return
			}
			select {
			case s.spoke <- struct{}{}:
			default:
			}
			io.Copy(io.Discard, c)
		})
	}
}

// Close stops accepting and closes every connection, so clients' reads
// fail at once. It may be called more than once.
func (s *Silent) Close() {
	s.lis.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}
