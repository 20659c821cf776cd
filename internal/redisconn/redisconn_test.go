package redisconn_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/internal/redisconn"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

const password = "pa55-w0rd-never-logged"

// section is a defaulted redis section, as config.Load leaves it.
func section(mutate func(*config.RedisConfig)) config.RedisConfig {
	c := config.RedisConfig{
		KeyPrefix:   "eeo-gateway:",
		DialTimeout: config.Duration(2 * time.Second), ReadTimeout: config.Duration(time.Second), WriteTimeout: config.Duration(time.Second),
	}
	mutate(&c)
	return c
}

// The fields of the section reach go-redis: address or URL (database and
// user from either), password, timeouts; TLS only when asked for.
func TestOptionsFromConfig(t *testing.T) {
	o, err := redisconn.Options(section(func(c *config.RedisConfig) {
		c.Addr, c.DB, c.Username, c.Password = "cache:6379", 3, "gateway", auth.NewSecret(password)
		c.ReadTimeout = config.Duration(250 * time.Millisecond)
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != "cache:6379" || o.DB != 3 || o.Username != "gateway" || o.Password != password ||
		o.ReadTimeout != 250*time.Millisecond || o.DialTimeout != 2*time.Second || o.TLSConfig != nil || !o.ContextTimeoutEnabled {
		t.Errorf("options from addr: %+v", o)
	}
	o, err = redisconn.Options(section(func(c *config.RedisConfig) { c.URL = "rediss://gateway@cache.internal:6380/2" }), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != "cache.internal:6380" || o.DB != 2 || o.Username != "gateway" || o.TLSConfig == nil ||
		o.TLSConfig.ServerName != "cache.internal" || o.TLSConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("options from rediss URL: %+v", o)
	}
}

// Errors about the TLS files name the field and the file, and no error
// carries the password.
func TestOptionErrors(t *testing.T) {
	for _, c := range []struct {
		mutate func(*config.RedisConfig)
		want   string
	}{
		{func(c *config.RedisConfig) { c.TLS = config.RedisTLSConfig{Enabled: true, CAFile: "/nope/ca.pem"} }, "redis.tls.ca_file"},
		{func(c *config.RedisConfig) {
			c.TLS = config.RedisTLSConfig{Enabled: true, CertFile: "/nope/c.pem", KeyFile: "/nope/k.pem"}
		}, "redis.tls.cert_file"},
		{func(c *config.RedisConfig) { c.Addr, c.URL = "", "redis://[bad" }, "redis.url"},
	} {
		_, err := redisconn.Options(section(func(r *config.RedisConfig) {
			r.Addr, r.Password = "cache:6379", auth.NewSecret(password)
			c.mutate(r)
		}), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), password) {
			t.Errorf("error %v, want one naming %s without the password", err, c.want)
		}
	}
}

// A client built from the section talks to a real redis-server that
// requires a password; a wrong password is refused, and the error does not
// carry it.
func TestClientAgainstRedisWithPassword(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Password: password})
	for _, pw := range []string{password, "wrong-" + password} {
		c, err := redisconn.New(section(func(c *config.RedisConfig) { c.Addr, c.Password = srv.Addr, auth.NewSecret(pw) }), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Ping(t.Context()).Err()
		c.Close()
		switch {
		case pw == password && err != nil:
			t.Errorf("PING with the right password: %v", err)
		case pw != password && err == nil:
			t.Error("PING with a wrong password succeeded")
		case err != nil && strings.Contains(err.Error(), password):
			t.Errorf("error carries the password: %v", err)
		}
	}
}

// Redis being down is no error when the client is built: the gateway
// starts and falls back; the first command fails quickly (one dial, not
// go-redis's default five).
func TestNoConnectionAtConstruction(t *testing.T) {
	lis := testkit.Listen(t)
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now
	c, err := redisconn.New(section(func(c *config.RedisConfig) { c.Addr = addr }), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(t.Context()).Err(); err == nil {
		t.Fatal("PING to a closed port succeeded")
	}
}

// TLS toward a real redis-server: the CA file verifies it, server_name
// overrides the name checked, a client certificate is presented when the
// server requires one, and an unknown CA or a wrong name is refused.
func TestTLSAgainstRedis(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewCA("redis test CA")
	srvCert := ca.Server("redis", testkit.DNS("redis.internal"))
	client := ca.Client("eeo-gateway")
	other := testkit.NewCA("someone else")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile, otherCA := write("ca.pem", ca.CertPEM), write("other-ca.pem", other.CertPEM)
	certFile, keyFile := write("client.pem", client.CertPEM), write("client-key.pem", client.KeyPEM)
	tlsPort := freePort(t)
	redistest.Start(t, redistest.Options{Args: []string{
		"--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", write("server.pem", srvCert.CertPEM), "--tls-key-file", write("server-key.pem", srvCert.KeyPEM),
		"--tls-ca-cert-file", caFile, "--tls-auth-clients", "yes",
	}})
	tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))

	for _, c := range []struct {
		name string
		tls  config.RedisTLSConfig
		ok   bool
	}{
		{"CA, client cert, server_name", config.RedisTLSConfig{Enabled: true, CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "redis.internal"}, true},
		{"CA, client cert, address as name", config.RedisTLSConfig{Enabled: true, CAFile: caFile, CertFile: certFile, KeyFile: keyFile}, true},
		{"no client cert", config.RedisTLSConfig{Enabled: true, CAFile: caFile}, false},
		{"unknown CA", config.RedisTLSConfig{Enabled: true, CAFile: otherCA, CertFile: certFile, KeyFile: keyFile}, false},
		{"wrong name", config.RedisTLSConfig{Enabled: true, CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "elsewhere.internal"}, false},
	} {
		rdb, err := redisconn.New(section(func(r *config.RedisConfig) { r.Addr, r.TLS = tlsAddr, c.tls }), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err = rdb.Ping(t.Context()).Err()
		rdb.Close()
		if (err == nil) != c.ok {
			t.Errorf("%s: PING = %v, want success %v", c.name, err, c.ok)
		}
	}
}

// The TLS files are looked at again for every new connection: a CA bundle
// and a client certificate rotated on disk (renamed over, as cert-manager
// does) are used by the same client without a restart, each on its own.
func TestTLSFilesRotateWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	ca, other := testkit.NewCA("redis test CA"), testkit.NewCA("someone else")
	srvCert := ca.Server("redis", testkit.DNS("redis.internal"))
	good, stranger := ca.Client("eeo-gateway"), other.Client("eeo-gateway")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tlsPort := freePort(t)
	redistest.Start(t, redistest.Options{Args: []string{
		"--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", write("server.pem", srvCert.CertPEM), "--tls-key-file", write("server-key.pem", srvCert.KeyPEM),
		"--tls-ca-cert-file", write("server-ca.pem", ca.CertPEM), "--tls-auth-clients", "yes",
	}})
	// At first the gateway trusts the wrong CA and holds a certificate
	// Redis does not: both refused.
	caFile := write("ca.pem", other.CertPEM)
	certFile, keyFile := write("client.pem", stranger.CertPEM), write("client-key.pem", stranger.KeyPEM)
	rdb, err := redisconn.New(section(func(r *config.RedisConfig) {
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort))
		r.TLS = config.RedisTLSConfig{Enabled: true, CAFile: caFile, CertFile: certFile, KeyFile: keyFile, ServerName: "redis.internal"}
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Ping(t.Context()).Err(); err == nil {
		t.Fatal("PING trusting the wrong CA succeeded")
	}

	write("ca.pem", ca.CertPEM)
	if err := rdb.Ping(t.Context()).Err(); err == nil {
		t.Fatal("PING with a certificate from an unknown CA succeeded")
	}
	write("client.pem", good.CertPEM)
	write("client-key.pem", good.KeyPEM)
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING after the CA bundle and the certificate were rotated: %v", err)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	lis := testkit.Listen(t)
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port
}

// Example: what cmd/eeo-gateway does with a configured redis section.
func ExampleNew() {
	cfg := config.RedisConfig{Addr: "127.0.0.1:6379", KeyPrefix: "eeo-gateway:",
		DialTimeout: config.Duration(2 * time.Second), ReadTimeout: config.Duration(time.Second), WriteTimeout: config.Duration(time.Second)}
	client, err := redisconn.New(cfg, nil) // no connection yet
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fmt.Println(client.Options().Addr, client.Options().MaxRetries)
	// Output: 127.0.0.1:6379 1
}

// A password in redis.password_file is read again for new connections: a
// rotated password takes effect without a restart.
func TestPasswordFileRotation(t *testing.T) {
	const first, second = "first-pa55", "second-longer-pa55"
	srv := redistest.Start(t, redistest.Options{Password: first})
	path := filepath.Join(t.TempDir(), "redis-password")
	if err := os.WriteFile(path, []byte(first+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := redisconn.New(section(func(c *config.RedisConfig) {
		c.Addr, c.PasswordFile, c.Password = srv.Addr, path, auth.NewSecret(first)
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING with the file's password: %v", err)
	}
	// Rotate: Redis takes the new password, the file gets it, and every
	// existing connection is dropped so the client must dial again.
	if err := c.ConfigSet(t.Context(), "requirepass", second).Err(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(second+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = c.ClientKillByFilter(t.Context(), "TYPE", "normal", "SKIPME", "no").Err()
	if err := c.Ping(t.Context()).Err(); err != nil {
		// The one retry may have met the killed connection; a new one
		// must now authenticate with the rotated password.
		if err := c.Ping(t.Context()).Err(); err != nil {
			t.Fatalf("PING after the rotation: %v", err)
		}
	}
}
