package redisconn_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/internal/redisconn"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// keepAliveOf is the TCP keep-alive the kernel applies to conn's socket:
// idle seconds before the first probe, seconds between probes, probes.
func keepAliveOf(t *testing.T, conn net.Conn) [3]int {
	t.Helper()
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got [3]int
	var sockErr error
	err = raw.Control(func(fd uintptr) {
		for i, opt := range []int{syscall.TCP_KEEPIDLE, syscall.TCP_KEEPINTVL, syscall.TCP_KEEPCNT} {
			if got[i], sockErr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, opt); sockErr != nil {
				return
			}
		}
	})
	if err != nil || sockErr != nil {
		t.Fatal(err, sockErr)
	}
	return got
}

// A connection to Redis over TLS has the same TCP keep-alive as a plain one
// (30 s idle, then 3 probes 5 s apart): a Redis gone silent behind a
// load balancer is noticed as soon whichever way the gateway connects.
func TestTLSConnectionsKeepAliveAsPlainOnes(t *testing.T) {
	ca := testkit.NewCA("redis test CA")
	srv := ca.Server("redis", testkit.DNS("redis.internal"))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	lis := testkit.Listen(t)
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{srv.TLS()}})
				if tc.Handshake() == nil {
					_, _ = tc.Read(make([]byte, 1)) // until the client closes
				}
			}()
		}
	}()
	addr := lis.Addr().String()

	want := [3]int{30, 5, 3}
	for _, c := range []struct {
		name string
		tls  config.RedisTLSConfig
	}{
		{"plain", config.RedisTLSConfig{}},
		{"TLS with a CA file", config.RedisTLSConfig{Enabled: true, CAFile: caFile, ServerName: "redis.internal"}},
	} {
		opts, err := redisconn.Options(section(func(r *config.RedisConfig) { r.Addr, r.TLS = addr, c.tls }), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		dial := opts.Dialer
		if dial == nil {
			dial = redis.NewDialer(opts) // what go-redis dials with then
		}
		conn, err := dial(t.Context(), "tcp", addr)
		if err != nil {
			t.Fatalf("%s: dial: %v", c.name, err)
		}
		if got := keepAliveOf(t, conn); got != want {
			t.Errorf("%s: keep-alive idle %ds, interval %ds, %d probes; want %v", c.name, got[0], got[1], got[2], want)
		}
		conn.Close()
	}
}
