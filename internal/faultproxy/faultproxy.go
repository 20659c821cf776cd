// Package faultproxy is a small TCP proxy on loopback that injects network
// faults between a client (the gateway) and a target (the EEO sandbox), for
// fault-matrix tests.
//
// A fault is chosen per connection, at accept time: Set changes what NEW
// connections get and never touches connections already open. To make a
// fault reach the keep-alive connections an http.Transport has pooled, call
// CloseConnections after Set.
//
// The proxy is meant for tests only. Every goroutine it starts is tracked and
// Close waits for all of them, so a test using it stays goleak-clean.
package faultproxy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Fault is what the proxy does to a connection.
type Fault int

const (
	// Pass forwards bytes both ways.
	Pass Fault = iota
	// Refuse accepts a connection and closes it at once, without dialing the
	// target. The client sees EOF, or a reset if its request had already
	// arrived. For a refusal at the TCP level use Down.
	Refuse
	// Blackhole accepts a connection, reads and discards whatever the client
	// sends, never answers and never closes it: the connection is held until
	// CloseConnections or Close. The target is not dialed. Stats.Heard
	// counts the held connections a client has written to.
	Blackhole
	// ResetMidResponse forwards the request, and after FaultConfig.ResetAfter
	// bytes of the response (target to client) resets the client connection
	// (SO_LINGER 0 then close, so the client gets an RST: ECONNRESET).
	ResetMidResponse
	// TruncateResponse forwards the request, and after
	// FaultConfig.TruncateAfter bytes of the response closes the client side
	// cleanly (FIN) and drops the target connection. The proxy keeps reading
	// the client until it closes its end, so the close stays a FIN, not an RST.
	TruncateResponse
	// Latency holds each chunk of data, in each direction, for
	// FaultConfig.Delay before forwarding it. A chunk that arrives while an
	// earlier one is held waits behind it, so Delay is a lower bound on the
	// added latency per direction, not an exact figure.
	Latency
)

// String returns the fault's name.
func (f Fault) String() string {
	switch f {
	case Pass:
		return "Pass"
	case Refuse:
		return "Refuse"
	case Blackhole:
		return "Blackhole"
	case ResetMidResponse:
		return "ResetMidResponse"
	case TruncateResponse:
		return "TruncateResponse"
	case Latency:
		return "Latency"
	default:
		return fmt.Sprintf("Fault(%d)", int(f))
	}
}

// FaultConfig parameterizes a fault. Each field is read only by the fault
// named in its comment; negative values count as zero.
type FaultConfig struct {
	// ResetAfter is the number of response bytes ResetMidResponse forwards
	// before the reset. With 0 the reset comes as the first response byte
	// arrives from the target, before any is forwarded.
	ResetAfter int
	// TruncateAfter is the number of response bytes TruncateResponse
	// forwards before closing. With 0 the close comes as the first response
	// byte arrives from the target.
	TruncateAfter int
	// Delay is how long Latency holds data in each direction.
	Delay time.Duration
}

// Options configures New.
type Options struct {
	// Target is the host:port connections are forwarded to. Required. It is
	// dialed per connection, so it need not be up when New is called.
	Target string
	// Listen is the address to listen on; default "127.0.0.1:0".
	Listen string
	// Logger receives per-connection debug events; default discards.
	Logger *slog.Logger
}

// Stats counts connections.
type Stats struct {
	// Accepted is the number of connections accepted since New.
	Accepted int64
	// Active is the number of accepted connections not yet torn down.
	Active int64
	// Heard is the number of Blackhole connections whose client has sent
	// something since New: each one a client now waiting for an answer
	// that will not come.
	Heard int64
}

// ErrClosed is returned by Up after Close.
var ErrClosed = errors.New("faultproxy: proxy closed")

// Proxy is a fault-injecting TCP proxy. Its methods are safe for concurrent
// use.
type Proxy struct {
	target string
	addr   string // the resolved listen address, fixed at New
	log    *slog.Logger
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // accept loops and connection handlers

	mu       sync.Mutex
	ln       *listener          // guarded by mu; nil while Down or closed
	closed   bool               // guarded by mu
	fault    Fault              // guarded by mu
	cfg      FaultConfig        // guarded by mu
	conns    map[*conn]struct{} // guarded by mu
	accepted int64              // guarded by mu
	active   int64              // guarded by mu
	heard    int64              // guarded by mu
	changed  chan struct{}      // guarded by mu; closed and replaced when stats change
}

// New listens on opts.Listen and starts forwarding to opts.Target with the
// Pass fault.
func New(opts Options) (*Proxy, error) {
	if opts.Target == "" {
		return nil, errors.New("faultproxy: Options.Target is required")
	}
	ln, err := net.Listen("tcp", cmp.Or(opts.Listen, "127.0.0.1:0"))
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		target:  opts.Target,
		addr:    ln.Addr().String(),
		log:     logger,
		ctx:     ctx,
		cancel:  cancel,
		conns:   make(map[*conn]struct{}),
		changed: make(chan struct{}),
	}
	p.mu.Lock()
	p.startLocked(ln)
	p.mu.Unlock()
	return p, nil
}

// Addr returns the host:port to point a client at. It stays the same across
// Down and Up.
func (p *Proxy) Addr() string { return p.addr }

// URL returns "http://" + Addr().
func (p *Proxy) URL() string { return "http://" + p.addr }

// Set makes NEW connections get fault f with cfg. Connections already open
// keep the fault they were accepted with; see CloseConnections.
func (p *Proxy) Set(f Fault, cfg FaultConfig) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.cfg = f, cfg
	p.log.Debug("faultproxy: set", "fault", f, "reset_after", cfg.ResetAfter,
		"truncate_after", cfg.TruncateAfter, "delay", cfg.Delay)
}

// Down closes the listener, so new connections are refused at the TCP level
// (ECONNREFUSED). Connections already open are left alone; call
// CloseConnections as well to cut them. It is a no-op when already down.
//
// The port is released while down: another listener (another process, or an
// unrelated listener on port 0 in the same test binary) could take it, and
// Up would then fail. This is acceptable for tests only.
func (p *Proxy) Down() {
	p.mu.Lock()
	l := p.ln
	p.ln = nil
	p.mu.Unlock()
	if l != nil {
		l.stop()
		<-l.done
		p.log.Debug("faultproxy: down", "addr", p.addr)
	}
}

// Up listens again on the same address as before. It is a no-op when
// already up, and returns ErrClosed after Close.
func (p *Proxy) Up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("faultproxy: listen again on %s: %w", p.addr, err)
	}
	p.startLocked(ln)
	p.log.Debug("faultproxy: up", "addr", p.addr)
	return nil
}

// Stats returns the connection counts.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statsLocked()
}

// Await blocks until cond holds for the proxy's Stats, or ctx ends. It lets a
// test wait for an event (say, the client's connection being accepted)
// without sleeping. cond is called without the proxy's lock held.
func (p *Proxy) Await(ctx context.Context, cond func(Stats) bool) error {
	for {
		p.mu.Lock()
		s, changed := p.statsLocked(), p.changed
		p.mu.Unlock()
		if cond(s) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("faultproxy: await (last stats %+v): %w", s, ctx.Err())
		}
	}
}

// CloseConnections cuts every open connection (both sides are closed) and
// returns once their goroutines have exited. The listener is not touched.
// Use it after Set so the new fault reaches pooled keep-alive connections at
// once: the client must dial again.
func (p *Proxy) CloseConnections() {
	p.mu.Lock()
	cs := p.snapshotLocked()
	p.mu.Unlock()
	for _, c := range cs {
		c.kill()
	}
	for _, c := range cs {
		<-c.finished
	}
}

// Close stops listening, tears down every connection, and waits for all the
// proxy's goroutines, sleeping Latency ones included, to exit. Calling it
// again returns nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	l := p.ln
	p.ln = nil
	cs := p.snapshotLocked()
	p.mu.Unlock()

	p.cancel()
	var err error
	if l != nil {
		err = l.stop()
	}
	for _, c := range cs {
		c.kill()
	}
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (p *Proxy) statsLocked() Stats {
	return Stats{Accepted: p.accepted, Active: p.active, Heard: p.heard}
}

func (p *Proxy) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Proxy) snapshotLocked() []*conn {
	cs := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		cs = append(cs, c)
	}
	return cs
}

// listener is one listening socket and its accept loop.
type listener struct {
	ln       net.Listener
	stopOnce sync.Once
	stopped  chan struct{} // closed by stop, ends an accept back-off
	done     chan struct{} // closed when the accept loop has exited
}

func (l *listener) stop() error {
	var err error
	l.stopOnce.Do(func() {
		close(l.stopped)
		err = l.ln.Close()
	})
	return err
}

// startLocked starts an accept loop on ln. p.mu must be held and p.closed
// false, which orders the wg.Go before Close's wg.Wait.
func (p *Proxy) startLocked(ln net.Listener) {
	l := &listener{ln: ln, stopped: make(chan struct{}), done: make(chan struct{})}
	p.ln = l
	p.wg.Go(func() { p.acceptLoop(l) })
}

func (p *Proxy) acceptLoop(l *listener) {
	defer close(l.done)
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error such as EMFILE: back off as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), 100*time.Millisecond)
			p.log.Warn("faultproxy: accept", "err", err, "backoff", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.stopped:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		p.admit(nc)
	}
}

// admit registers an accepted connection and starts its handler with the
// fault in force now.
func (p *Proxy) admit(nc net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = nc.Close()
		return
	}
	ctx, cancel := context.WithCancel(p.ctx)
	c := &conn{client: nc, ctx: ctx, cancel: cancel, finished: make(chan struct{})}
	p.conns[c] = struct{}{}
	p.accepted++
	p.active++
	p.notifyLocked()
	f, cfg := p.fault, p.cfg
	p.log.Debug("faultproxy: accepted", "fault", f, "client", nc.RemoteAddr().String())
	p.wg.Go(func() { p.serve(c, f, cfg) })
}

// release tears c down and unregisters it.
func (p *Proxy) release(c *conn) {
	c.kill()
	p.mu.Lock()
	delete(p.conns, c)
	p.active--
	p.notifyLocked()
	p.mu.Unlock()
	close(c.finished)
}

func (p *Proxy) serve(c *conn, f Fault, cfg FaultConfig) {
	defer p.release(c)
	switch f {
	case Refuse:
		return
	case Blackhole:
		var first [1]byte
		if n, _ := c.client.Read(first[:]); n > 0 {
			p.mu.Lock()
			p.heard++
			p.notifyLocked()
			p.mu.Unlock()
			_, _ = io.Copy(io.Discard, c.client)
		}
		<-c.ctx.Done() // hold the connection open until cut
		return
	}

	var d net.Dialer
	up, err := d.DialContext(c.ctx, "tcp", p.target)
	if err != nil {
		p.log.Debug("faultproxy: dial target", "target", p.target, "err", err)
		return
	}
	if !c.setUpstream(up) {
		return
	}

	var delay time.Duration
	limit := -1 // response bytes to forward before the fault; -1 = no limit
	switch f {
	case Latency:
		delay = max(cfg.Delay, 0)
	case ResetMidResponse:
		limit = max(cfg.ResetAfter, 0)
	case TruncateResponse:
		limit = max(cfg.TruncateAfter, 0)
	}

	var wg sync.WaitGroup
	wg.Go(func() { // request: client to target
		_, err := pump(c.ctx, up, c.client, delay, -1)
		if errors.Is(err, io.EOF) {
			closeWrite(up) // pass the client's half-close on
			return
		}
		c.kill()
	})
	wg.Go(func() { // response: target to client
		hit, err := pump(c.ctx, c.client, up, delay, limit)
		switch {
		case hit && f == ResetMidResponse:
			p.log.Debug("faultproxy: reset mid-response", "after", limit)
			c.reset()
		case hit:
			p.log.Debug("faultproxy: truncate response", "after", limit)
			closeWrite(c.client) // FIN; keep reading so the close stays clean
			_ = up.Close()
		case errors.Is(err, io.EOF):
			closeWrite(c.client)
		default:
			c.kill()
		}
	})
	wg.Wait()
}

// conn is one proxied connection.
type conn struct {
	client   net.Conn
	ctx      context.Context // cancelled by kill; ends dials, sleeps and holds
	cancel   context.CancelFunc
	finished chan struct{} // closed once the handler has exited

	mu       sync.Mutex
	upstream net.Conn // guarded by mu; nil until dialed
	killed   bool     // guarded by mu
}

// setUpstream records the target connection, or closes it and reports false
// if c was killed while dialing.
func (c *conn) setUpstream(up net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		_ = up.Close()
		return false
	}
	c.upstream = up
	return true
}

// kill closes both sides; every blocked read, write, dial and sleep of the
// connection returns.
func (c *conn) kill() {
	c.cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		return
	}
	c.killed = true
	_ = c.client.Close()
	if c.upstream != nil {
		_ = c.upstream.Close()
	}
}

// reset kills c with an RST to the client rather than a FIN.
func (c *conn) reset() {
	if tc, ok := c.client.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.kill()
}

// pump copies src to dst, holding each chunk for delay first. With limit >= 0
// it stops once limit bytes have been written and reports hit. Otherwise it
// returns the first read or write error (io.EOF for a clean end of src).
func pump(ctx context.Context, dst, src net.Conn, delay time.Duration, limit int) (hit bool, err error) {
	buf := make([]byte, 32<<10)
	written := 0
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if delay > 0 && !sleep(ctx, delay) {
				return false, ctx.Err()
			}
			chunk := buf[:n]
			if limit >= 0 && written+n >= limit {
				chunk, hit = chunk[:limit-written], true
			}
			if len(chunk) > 0 {
				if _, err := dst.Write(chunk); err != nil {
					return false, err
				}
				written += len(chunk)
			}
			if hit {
				return true, nil
			}
		}
		if rerr != nil {
			return false, rerr
		}
	}
}

// sleep waits for d, or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
