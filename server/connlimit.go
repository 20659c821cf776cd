package server

import (
	"net"
	"net/netip"
	"sync"
)

// limitListener closes, as soon as it accepts them, connections beyond
// Limits.MaxConnectionsPerPeer for their peer address or beyond
// Limits.MaxConnections in all. Unlike netutil.LimitListener it never
// blocks Accept: a peer holding its share of connections cannot make others
// queue behind it, and a refused connection costs one accept and one close.
type limitListener struct {
	net.Listener
	limits  *Limits
	perPeer *peerCounter

	mu    sync.Mutex
	total int // guarded by mu
}

func newLimitListener(l net.Listener, limits *Limits) *limitListener {
	return &limitListener{Listener: l, limits: limits, perPeer: newPeerCounter(limits.MaxConnectionsPerPeer)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := addrIP(c.RemoteAddr())
		if !l.acquire(addr) {
			l.limits.refused(ReasonPeerConnectionLimit)
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

func (l *limitListener) acquire(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.limits.MaxConnections || !l.perPeer.acquire(addr) {
		return false
	}
	l.total++
	return true
}

func (l *limitListener) release(addr netip.Addr) {
	l.perPeer.release(addr)
	l.mu.Lock()
	l.total--
	l.mu.Unlock()
}

// limitedConn gives its place back when closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// NetConn returns the wrapped connection, for code that unwraps conns.
func (c *limitedConn) NetConn() net.Conn { return c.Conn }
