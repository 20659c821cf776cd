package eeo_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// memListener is a net.Listener whose connections are in-memory pipes, so
// that a real http.Server and http.Transport can run in a synctest bubble,
// which cannot use real sockets.
type memListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *memListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }

// dial is the client transport's DialContext: one end of a new pipe, the
// other accepted by the server.
func (l *memListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// memHarness is a client for testAccount whose EEO is a handler served by
// a real http.Server over in-memory connections, for tests in a bubble.
type memHarness struct {
	client   *eeo.Client
	requests atomic.Int64 // requests the server received
}

// newMemHarness starts a memHarness; call it in a bubble. opts adjust the
// client's options.
func newMemHarness(t *testing.T, handler http.HandlerFunc, opts ...func(*eeo.Options)) *memHarness {
	t.Helper()
	h := &memHarness{}
	l := newMemListener()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		handler(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	tr := &http.Transport{DialContext: l.dial, ExpectContinueTimeout: time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	o := eeo.Options{HTTPClient: &http.Client{Transport: tr}, Logger: slog.New(slog.DiscardHandler)}
	for _, f := range opts {
		f(&o)
	}
	c, err := eeo.New(testAccount, "http://eeo.test", staticTokens{}, o)
	if err != nil {
		t.Fatal(err)
	}
	h.client = c
	return h
}

// newMemClient is newMemHarness's client.
func newMemClient(t *testing.T, handler http.HandlerFunc) *eeo.Client {
	t.Helper()
	return newMemHarness(t, handler).client
}
