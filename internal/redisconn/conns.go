package redisconn

import (
	"context"
	"net"
	"sync"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Client is the gateway's go-redis client. Its Close also closes every
// connection the client dialed that is still open, so that a call blocked
// on a Redis that does not answer ends at once: go-redis ends such a call
// only at its read timeout (a cancelled context does not), and its own
// Close leaves out a pub/sub connection still in its handshake.
type Client struct {
	*redis.Client
	conns *connSet
}

// Close closes the client, then whatever connection it left open.
func (c *Client) Close() error {
	err := c.Client.Close()
	c.conns.closeAll()
	return err
}

// connSet is the set of open connections a client dialed; as a go-redis
// hook it tracks each new one.
type connSet struct {
	mu    sync.Mutex
	open  map[*trackedConn]struct{} // guarded by mu
	ended bool                      // guarded by mu: closeAll ran
}

var _ redis.Hook = (*connSet)(nil)

// DialHook tracks every connection the client dials, the pub/sub ones
// included.
func (s *connSet) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return s.track(conn), nil
	}
}

// ProcessHook adds nothing.
func (s *connSet) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

// ProcessPipelineHook adds nothing.
func (s *connSet) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// track wraps conn so that closing it removes it from s. A connection
// dialed after closeAll is closed at once.
func (s *connSet) track(conn net.Conn) net.Conn {
	tc := &trackedConn{Conn: conn, set: s}
	s.mu.Lock()
	ended := s.ended
	if !ended {
		if s.open == nil {
			s.open = make(map[*trackedConn]struct{})
		}
		s.open[tc] = struct{}{}
	}
	s.mu.Unlock()
	if ended {
		conn.Close()
	}
	if _, ok := conn.(syscall.Conn); ok {
		// go-redis checks an idle connection's health through its
		// socket; hiding it would turn that check off.
		return syscallConn{tc}
	}
	return tc
}

// closeAll closes every open connection, and any dialed later.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.ended = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for tc := range open {
		tc.Conn.Close()
	}
}

// trackedConn is a connection in a connSet until it is closed.
type trackedConn struct {
	net.Conn
	set *connSet
}

// Close removes the connection from its set and closes it.
func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.open, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}

// syscallConn is a trackedConn over a connection with a socket.
type syscallConn struct{ *trackedConn }

// SyscallConn returns the underlying socket.
func (c syscallConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}
