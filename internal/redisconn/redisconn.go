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
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/tlsfiles"
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

// keepAlive is the TCP keep-alive of every connection to Redis, plain or
// TLS: go-redis's own default (probes after 30 s idle, 3 unanswered 5 s
// apart), below the idle timeouts of common load balancers and NATs, so a
// Redis gone silent is noticed within a minute whichever way the gateway
// connects. Go's default (15 s, 9 probes 15 s apart) takes two and a half.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}

// netDialer is the TCP dialer of every connection to Redis: the TLS paths
// wrap it, so they differ from the plain one only in the handshake.
func netDialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAliveConfig: keepAlive}
}

// New returns a client for cfg (a validated, defaulted section). It does
// not contact Redis. logger (nil: none) receives the TLS files' reloads.
// The caller closes the client.
func New(cfg config.RedisConfig, logger *slog.Logger) (*Client, error) {
	opts, err := Options(cfg, logger)
	if err != nil {
		return nil, err
	}
	c := &Client{Client: redis.NewClient(opts), conns: &connSet{}}
	c.AddHook(c.conns)
	return c, nil
}

// Options turns cfg into go-redis options: the address (redis.addr, or
// redis.url through redis.ParseURL), database, ACL user and password (from
// redis.password_file re-read for each new connection), TLS (its files
// looked at again for each new connection too) and timeouts. logger (nil:
// none) receives the TLS files' reloads.
func Options(cfg config.RedisConfig, logger *slog.Logger) (*redis.Options, error) {
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
	// Dialed here, not by go-redis's default dialer, so that the plain and
	// the TLS connections share one net.Dialer (netDialer) whatever go-redis
	// does, and the TLS handshake honours the dial's context.
	dialer := netDialer(opts.DialTimeout)
	opts.Dialer = dialer.DialContext
	if cfg.UsesTLS() {
		if err := setTLS(opts, cfg, dialer, logger); err != nil {
			return nil, err
		}
	}
	return opts, nil
}

// setTLS makes opts speak TLS 1.2 or later to Redis, verifying the server
// against redis.tls.ca_file (else the system's roots) under
// redis.tls.server_name (else the address's host), with
// redis.tls.cert_file/key_file as the client certificate if set. Those
// files are loaded with tlsfiles and looked at again (a stat each) for
// every new connection, as the password file is, so a rotated certificate
// or CA bundle is used without a restart; a rotation caught half-way keeps
// the last good files. A connection's root CAs are fixed when it is made,
// so with files the connections are dialed here, each with the current
// configuration; opts.TLSConfig says TLS is on either way. Every
// connection is dialed with dialer.
func setTLS(opts *redis.Options, cfg config.RedisConfig, dialer *net.Dialer, logger *slog.Logger) error {
	serverName := cfg.TLS.ServerName
	if serverName == "" {
		host, _, err := net.SplitHostPort(opts.Addr)
		if err != nil {
			host = opts.Addr
		}
		serverName = host
	}
	opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if cfg.TLS.CAFile == "" && cfg.TLS.CertFile == "" {
		opts.Dialer = (&tls.Dialer{NetDialer: dialer, Config: opts.TLSConfig}).DialContext
		return nil
	}
	if logger != nil {
		logger = logger.With("component", "redis-tls")
	}
	files, err := tlsfiles.NewClient(tlsfiles.ClientOptions{
		CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile, CAFile: cfg.TLS.CAFile,
		// New connections are few (a pool, kept for minutes): a look at
		// the files for each costs nothing worth saving.
		CheckEvery: time.Nanosecond,
		Logger:     logger,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", tlsField(err), err)
	}
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		tc := files.ClientConfig()
		tc.ServerName = serverName
		return (&tls.Dialer{NetDialer: dialer, Config: tc}).DialContext(ctx, network, addr)
	}
	return nil
}

// tlsField names the setting whose file err is about.
func tlsField(err error) string {
	var fe *tlsfiles.FileError
	if errors.As(err, &fe) {
		switch fe.Role {
		case tlsfiles.RoleCA:
			return "redis.tls.ca_file"
		case tlsfiles.RoleCertificate:
			return "redis.tls.cert_file"
		case tlsfiles.RoleKey:
			return "redis.tls.key_file"
		}
	}
	return "redis.tls"
}
