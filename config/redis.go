package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// Redis defaults. The timeouts are short because every Redis call sits in
// front of a token hand-out that the local cache or EEO could satisfy on
// its own: a slow Redis must cost little before the gateway gives up on it.
const (
	defaultRedisKeyPrefix    = "eeo-gateway:"
	defaultRedisDialTimeout  = 2 * time.Second
	defaultRedisReadTimeout  = time.Second
	defaultRedisWriteTimeout = time.Second
	// RedisEncryptionKeyBytes is the length of redis.encryption_key: an
	// AES-256 key.
	RedisEncryptionKeyBytes = 32
	maxRedisKeyPrefix       = 64
)

// RedisConfig selects the optional Redis (or Valkey) backend through which
// replicas share one EEO token per account and one idempotency record per
// request_id (issue 14). Absent means the embedded in-memory default, which
// needs nothing. While Redis is down each replica falls back to its own
// memory (README: "Running several replicas (Redis)").
type RedisConfig struct {
	// Addr is the server's host:port. Exactly one of Addr and URL is set.
	Addr string `json:"addr"`
	// URL is a redis:// or rediss:// (TLS) URL, optionally with a user
	// name and a database ("redis://gateway@cache:6379/2"). It must not
	// carry a password: use PasswordEnv or PasswordFile.
	URL string `json:"url"`
	// DB is the database number with Addr (with URL, the URL's path).
	DB int `json:"db"`
	// Username is the ACL user; empty means the default user.
	Username string `json:"username"`
	// PasswordEnv names the environment variable holding the password, or
	// PasswordFile a file holding it; at most one. Neither means no AUTH.
	// The file is read again for each new connection (when it changed), so
	// a rotated password takes effect without a restart.
	PasswordEnv  string `json:"password_env"`
	PasswordFile string `json:"password_file"`
	// TLS encrypts the connection (implied by a rediss:// URL).
	TLS RedisTLSConfig `json:"tls"`
	// KeyPrefix starts every key the gateway writes, so one Redis can
	// serve several deployments. Default "eeo-gateway:".
	KeyPrefix string `json:"key_prefix"`
	// DialTimeout, ReadTimeout and WriteTimeout bound each connection
	// attempt and each command. Defaults 2s, 1s, 1s.
	DialTimeout  Duration `json:"dial_timeout"`
	ReadTimeout  Duration `json:"read_timeout"`
	WriteTimeout Duration `json:"write_timeout"`
	// EncryptionKeyEnv names the environment variable holding the key
	// that encrypts tokens stored in Redis (AES-256-GCM), or
	// EncryptionKeyFile a file holding it; exactly one. The key is 32
	// bytes written as base64 or hex. Redis may be shared, so tokens are
	// never stored in clear; every replica needs the same key.
	EncryptionKeyEnv  string `json:"encryption_key_env"`
	EncryptionKeyFile string `json:"encryption_key_file"`

	// Password and EncryptionKey are filled by Load from the sources
	// above, never from the file itself (the json tags make them unknown
	// fields there). EncryptionKey holds the 32 decoded bytes.
	Password      auth.Secret `json:"-"`
	EncryptionKey auth.Secret `json:"-"`
}

// RedisTLSConfig is TLS toward Redis.
type RedisTLSConfig struct {
	// Enabled turns TLS on with the system's roots (or CAFile).
	Enabled bool `json:"enabled"`
	// CAFile is a PEM bundle of CAs to trust instead of the system's.
	CAFile string `json:"ca_file"`
	// CertFile and KeyFile are a client certificate, for servers that
	// require one; both or neither. They and CAFile are looked at again
	// for each new connection, so rotated files need no restart.
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// ServerName overrides the name the server's certificate must carry.
	ServerName string `json:"server_name"`
}

// UsesTLS reports whether connections to Redis use TLS.
func (r RedisConfig) UsesTLS() bool {
	return r.TLS.Enabled || strings.HasPrefix(strings.ToLower(r.URL), "rediss://")
}

// setDefaults fills the unset fields of a configured Redis section.
func (r *RedisConfig) setDefaults() {
	def(&r.KeyPrefix, defaultRedisKeyPrefix)
	def(&r.DialTimeout, Duration(defaultRedisDialTimeout))
	def(&r.ReadTimeout, Duration(defaultRedisReadTimeout))
	def(&r.WriteTimeout, Duration(defaultRedisWriteTimeout))
}

// resolveRedisSecrets fills the password and the encryption key from their
// sources. Errors name the variable or file, never the value.
func resolveRedisSecrets(r *RedisConfig, getenv func(string) string, readFile func(string) ([]byte, error)) []error {
	if r == nil {
		return nil
	}
	var errs []error
	switch {
	case r.PasswordEnv != "" && r.PasswordFile == "":
		var err error
		if r.Password, err = secretFromEnv(r.PasswordEnv, getenv); err != nil {
			errs = append(errs, fieldErr("redis.password_env", err))
		}
	case r.PasswordFile != "" && r.PasswordEnv == "":
		var err error
		if r.Password, err = secretFromFile(r.PasswordFile, readFile); err != nil {
			errs = append(errs, fieldErr("redis.password_file", err))
		}
	}
	var (
		raw   auth.Secret
		field string
		err   error
	)
	switch {
	case r.EncryptionKeyEnv != "" && r.EncryptionKeyFile == "":
		field = "redis.encryption_key_env"
		raw, err = secretFromEnv(r.EncryptionKeyEnv, getenv)
	case r.EncryptionKeyFile != "" && r.EncryptionKeyEnv == "":
		field = "redis.encryption_key_file"
		raw, err = secretFromFile(r.EncryptionKeyFile, readFile)
	default:
		return errs // Validate says which source is meant
	}
	if err == nil {
		var key []byte
		if key, err = ParseRedisEncryptionKey(raw.Reveal()); err == nil {
			r.EncryptionKey = auth.NewSecret(string(key))
		}
	}
	if err != nil {
		errs = append(errs, fieldErr(field, err))
	}
	return errs
}

// ParseRedisEncryptionKey decodes a redis encryption key written as 64 hex
// digits or as base64 (standard or URL alphabet, padded or not) of 32
// bytes, e.g. the output of `openssl rand -base64 32`. Surrounding
// whitespace is ignored. Errors never contain the key.
func ParseRedisEncryptionKey(s string) ([]byte, error) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if len(s) == 2*RedisEncryptionKeyBytes {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != RedisEncryptionKeyBytes {
				return nil, fmt.Errorf("encryption key is %d bytes, want %d (generate one with `openssl rand -base64 32`)", len(b), RedisEncryptionKeyBytes)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("encryption key is neither 64 hex digits nor base64 of %d bytes (generate one with `openssl rand -base64 32`)", RedisEncryptionKeyBytes)
}

// validate checks a configured Redis section.
func (r *RedisConfig) validate(p *problems) {
	if r == nil {
		return
	}
	switch {
	case r.Addr == "" && r.URL == "":
		p.add("redis.addr", errors.New("one of redis.addr or redis.url is required"))
	case r.Addr != "" && r.URL != "":
		p.add("redis.url", errors.New("set only one of redis.addr and redis.url"))
	case r.Addr != "":
		p.add("redis.addr", checkRedisAddr(r.Addr))
	default:
		p.add("redis.url", checkRedisURL(r.URL))
		if r.DB != 0 {
			p.add("redis.db", errors.New("with redis.url, the database is the URL's path (redis://host:6379/2)"))
		}
	}
	if r.DB < 0 {
		p.add("redis.db", fmt.Errorf("must not be negative, got %d", r.DB))
	}
	if r.PasswordEnv != "" && r.PasswordFile != "" {
		p.add("redis.password_file", errors.New("set only one of password_env and password_file"))
	}
	switch {
	case r.EncryptionKeyEnv != "" && r.EncryptionKeyFile != "":
		p.add("redis.encryption_key_file", errors.New("set only one of encryption_key_env and encryption_key_file"))
	case r.EncryptionKeyEnv == "" && r.EncryptionKeyFile == "" && r.EncryptionKey.IsZero():
		p.add("redis.encryption_key_env", errors.New("one of encryption_key_env or encryption_key_file is required: tokens are stored in Redis encrypted"))
	}
	if (r.TLS.CertFile == "") != (r.TLS.KeyFile == "") {
		p.add("redis.tls.key_file", errors.New("cert_file and key_file go together"))
	}
	if (r.TLS.CAFile != "" || r.TLS.CertFile != "" || r.TLS.ServerName != "") && !r.UsesTLS() {
		p.add("redis.tls.enabled", errors.New("TLS files or server_name are set but TLS is off: set enabled: true or use a rediss:// URL"))
	}
	p.add("redis.key_prefix", checkRedisKeyPrefix(r.KeyPrefix))
	p.add("redis.dial_timeout", checkPositive(r.DialTimeout))
	p.add("redis.read_timeout", checkPositive(r.ReadTimeout))
	p.add("redis.write_timeout", checkPositive(r.WriteTimeout))
}

// checkRedisAddr accepts host:port with a port.
func checkRedisAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("must be host:port, got %q", s)
	}
	return nil
}

// checkRedisURL accepts redis:// and rediss:// URLs with a host, an
// optional database path and no password.
func checkRedisURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse's error quotes the URL, which may hold a password.
		return errors.New("not a URL")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return fmt.Errorf("scheme must be redis or rediss, got %q", u.Scheme)
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return errors.New("must not carry a password: use redis.password_env or redis.password_file")
	}
	if u.Hostname() == "" {
		return errors.New("needs a host")
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		for _, c := range db {
			if c < '0' || c > '9' {
				return fmt.Errorf("path must be a database number, got %q", u.Path)
			}
		}
	}
	if u.RawQuery != "" {
		return errors.New("query parameters are not supported: use the redis fields")
	}
	return nil
}

// checkRedisKeyPrefix accepts a short prefix without spaces or control
// characters, which redis-cli users would trip over.
func checkRedisKeyPrefix(s string) error {
	if s == "" || len(s) > maxRedisKeyPrefix {
		return fmt.Errorf("must be 1 to %d bytes, got %d", maxRedisKeyPrefix, len(s))
	}
	for _, c := range s {
		if unicode.IsSpace(c) || unicode.IsControl(c) {
			return fmt.Errorf("must not contain spaces or control characters, got %q", s)
		}
	}
	return nil
}
