// Package redisconn builds the go-redis client of the gateway's optional
// Redis (or Valkey) backend from the configuration's redis section (issue
// 14): one client per process, shared by the token store (auth/redisstore)
// and the idempotency records (internal/redisrequests).
//
// The client never connects up front: Redis being down when the gateway
// starts must not stop it, only make it fall back to its local state
// (internal/redishealth). Errors never carry the password.
package redisconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
)

// Pool settings. Every call into Redis stands in front of something the
// gateway can also do locally, so a slow Redis must cost little: one retry
// at most, and a wait for a pooled connection no longer than a command may
// take.
const (
	maxRetries      = 1
	minRetryBackoff = 8 * time.Millisecond
	maxRetryBackoff = 64 * time.Millisecond
	// connMaxIdleTime closes connections idle this long, so a replica
	// that went quiet does not hold sockets a proxy or firewall has
	// silently dropped.
	connMaxIdleTime = 5 * time.Minute
)

// New returns a client for cfg (a validated, defaulted section). It does
// not contact Redis. The caller closes it.
func New(cfg config.RedisConfig) (*Client, error) {
	opts, err := Options(cfg, os.ReadFile)
	if err != nil {
		return nil, err
	}
	c := &Client{Client: redis.NewClient(opts), conns: &connSet{}}
	c.AddHook(c.conns)
	return c, nil
}

// Options turns cfg into go-redis options: the address (redis.addr, or
// redis.url through redis.ParseURL), database, ACL user and password (from
// redis.password_file re-read for each new connection), TLS and timeouts.
// readFile reads the TLS files.
func Options(cfg config.RedisConfig, readFile func(string) ([]byte, error)) (*redis.Options, error) {
	opts := &redis.Options{Addr: cfg.Addr, DB: cfg.DB}
	if cfg.URL != "" {
		parsed, err := redis.ParseURL(cfg.URL)
		if err != nil {
			// ParseURL's errors may quote the URL; validation has
			// refused a password in it, but say nothing more than needed.
			return nil, errors.New("redis.url: not a redis:// or rediss:// URL with a host and a database number")
		}
		opts = parsed
	}
	if cfg.Username != "" {
		opts.Username = cfg.Username
	}
	opts.Password = cfg.Password.Reveal()
	if cfg.PasswordFile != "" {
		// Read again (if the file changed) for every new connection, so a
		// password rotated in the mounted secret takes effect without a
		// restart; an unreadable file keeps the last password.
		pw, err := auth.NewFileSecret(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("redis.password_file: %w", err)
		}
		user := opts.Username
		opts.CredentialsProviderContext = func(context.Context) (string, string, error) {
			_, _ = pw.Reload()
			return user, pw.Secret().Reveal(), nil
		}
	}
	opts.DialTimeout = cfg.DialTimeout.Std()
	opts.ReadTimeout = cfg.ReadTimeout.Std()
	opts.WriteTimeout = cfg.WriteTimeout.Std()
	// A caller's deadline shorter than the read timeout ends the command
	// early instead of being ignored.
	opts.ContextTimeoutEnabled = true
	opts.PoolTimeout = cfg.ReadTimeout.Std()
	opts.MaxRetries = maxRetries
	// go-redis retries a failed dial 5 times by default: against a Redis
	// that is down that is half a second per call before it gives up.
	opts.DialerRetries = 1
	opts.MinRetryBackoff, opts.MaxRetryBackoff = minRetryBackoff, maxRetryBackoff
	opts.ConnMaxIdleTime = connMaxIdleTime
	// CLIENT SETINFO is noise in Redis' CLIENT LIST and an error on
	// servers (and proxies) that lack it.
	opts.DisableIdentity = true
	opts.ClientName = "eeo-gateway"
	if cfg.UsesTLS() {
		tc, err := TLSConfig(cfg, opts.Addr, readFile)
		if err != nil {
			return nil, err
		}
		opts.TLSConfig = tc
	}
	return opts, nil
}

// TLSConfig is the client TLS configuration toward Redis at addr: TLS 1.2
// or later, the server verified against redis.tls.ca_file (else the
// system's roots) under redis.tls.server_name (else addr's host), and
// redis.tls.cert_file/key_file as the client certificate if set.
func TLSConfig(cfg config.RedisConfig, addr string, readFile func(string) ([]byte, error)) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLS.ServerName}
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		tc.ServerName = host
	}
	if f := cfg.TLS.CAFile; f != "" {
		pem, err := readFile(f)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis.tls.ca_file: %s holds no PEM certificate", f)
		}
		tc.RootCAs = pool
	}
	if cfg.TLS.CertFile != "" {
		certPEM, err := readFile(cfg.TLS.CertFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.cert_file: %w", err)
		}
		keyPEM, err := readFile(cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("redis.tls.key_file: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// X509KeyPair's errors describe the PEM blocks, never the key.
			return nil, fmt.Errorf("redis.tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
