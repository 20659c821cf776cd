package config_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/config"
)

// redisKey is a 32-byte encryption key the tests plant, and its encodings.
var (
	redisKey       = bytes.Repeat([]byte{0xA5, 0x5A, 0x0F, 0xF0}, 8)
	redisKeyBase64 = base64.StdEncoding.EncodeToString(redisKey)
	redisKeyHex    = hex.EncodeToString(redisKey)
)

const redisPassword = "r3d1s-Pa55-x7"

func withRedis(section string) string { return minimalYAML + section }

// Without a redis section the gateway keeps everything in memory.
func TestRedisAbsentByDefault(t *testing.T) {
	c, err := load(t, minimalYAML, env{"ACME_SECRET": secretValue})
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis != nil {
		t.Fatalf("Redis = %+v, want nil (in-memory default)", c.Redis)
	}
}

func TestRedisLoadsWithDefaultsAndSecrets(t *testing.T) {
	c, err := load(t, withRedis(`
redis:
  addr: 127.0.0.1:6379
  password_env: REDIS_PASSWORD
  encryption_key_env: REDIS_KEY
`), env{"ACME_SECRET": secretValue, "REDIS_PASSWORD": redisPassword, "REDIS_KEY": redisKeyBase64 + "\n"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	r := c.Redis
	if r.Password.Reveal() != redisPassword {
		t.Error("password not read from REDIS_PASSWORD")
	}
	if !bytes.Equal([]byte(r.EncryptionKey.Reveal()), redisKey) {
		t.Error("encryption key not decoded from base64")
	}
	if r.KeyPrefix != "eeo-gateway:" || r.DialTimeout.Std() != 2*time.Second || r.ReadTimeout.Std() != time.Second || r.WriteTimeout.Std() != time.Second {
		t.Errorf("defaults: prefix %q, timeouts %v/%v/%v", r.KeyPrefix, r.DialTimeout, r.ReadTimeout, r.WriteTimeout)
	}
	if r.UsesTLS() {
		t.Error("UsesTLS() on a plain addr")
	}
}

func TestRedisSecretsFromFilesAndURL(t *testing.T) {
	yaml := withRedis(`
redis:
  url: rediss://gateway@cache.internal:6380/2
  password_file: /run/secrets/redis-password
  encryption_key_file: /run/secrets/redis-key
  key_prefix: "prod:eeo:"
  read_timeout: 250ms
`)
	fsys := files{
		"/etc/eeo.yaml":               yaml,
		"/run/secrets/redis-password": redisPassword + "\n",
		"/run/secrets/redis-key":      redisKeyHex + "\n",
	}
	c, err := config.Load("/etc/eeo.yaml", env{"ACME_SECRET": secretValue}.get, fsys.read)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	r := c.Redis
	if r.Password.Reveal() != redisPassword || !bytes.Equal([]byte(r.EncryptionKey.Reveal()), redisKey) {
		t.Error("password or hex key not read from their files")
	}
	if !r.UsesTLS() || r.KeyPrefix != "prod:eeo:" || r.ReadTimeout.Std() != 250*time.Millisecond {
		t.Errorf("UsesTLS %v, prefix %q, read_timeout %v", r.UsesTLS(), r.KeyPrefix, r.ReadTimeout)
	}
}

// Every mistake is reported against the YAML field that holds it.
func TestRedisValidationNamesTheField(t *testing.T) {
	e := env{"ACME_SECRET": secretValue, "K": redisKeyBase64}
	for _, c := range []struct {
		name, section string
		want          string
	}{
		{"no address", "redis:\n  encryption_key_env: K\n", "redis.addr: one of redis.addr or redis.url is required"},
		{"both", "redis:\n  addr: a:1\n  url: redis://a:1\n  encryption_key_env: K\n", "redis.url: set only one"},
		{"bad addr", "redis:\n  addr: cache\n  encryption_key_env: K\n", "redis.addr: must be host:port"},
		{"bad scheme", "redis:\n  url: http://cache:6379\n  encryption_key_env: K\n", "redis.url: scheme must be redis or rediss"},
		{"db path", "redis:\n  url: redis://cache:6379/two\n  encryption_key_env: K\n", "redis.url: path must be a database number"},
		{"db twice", "redis:\n  url: redis://cache:6379/2\n  db: 3\n  encryption_key_env: K\n", "redis.db: with redis.url"},
		{"no key", "redis:\n  addr: a:1\n", "redis.encryption_key_env: one of encryption_key_env or encryption_key_file is required"},
		{"two keys", "redis:\n  addr: a:1\n  encryption_key_env: K\n  encryption_key_file: /k\n", "redis.encryption_key_file: set only one"},
		{"two passwords", "redis:\n  addr: a:1\n  encryption_key_env: K\n  password_env: P\n  password_file: /p\n", "redis.password_file: set only one"},
		{"half a client cert", "redis:\n  addr: a:1\n  encryption_key_env: K\n  tls: {enabled: true, cert_file: /c}\n", "redis.tls.key_file: cert_file and key_file go together"},
		{"TLS files without TLS", "redis:\n  addr: a:1\n  encryption_key_env: K\n  tls: {ca_file: /ca}\n", "redis.tls.enabled: TLS files or server_name are set but TLS is off"},
		{"prefix with space", "redis:\n  addr: a:1\n  encryption_key_env: K\n  key_prefix: \"a b\"\n", "redis.key_prefix: must not contain spaces"},
		{"zero timeout", "redis:\n  addr: a:1\n  encryption_key_env: K\n  read_timeout: -1s\n", "redis.read_timeout: must be positive"},
		{"unset key variable", "redis:\n  addr: a:1\n  encryption_key_env: NOPE\n", "redis.encryption_key_env: environment variable NOPE is unset or empty"},
		{"misspelt field", "redis:\n  adr: a:1\n", "redis.adr"},
	} {
		_, err := load(t, withRedis(c.section), e)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

// A password in the URL is refused, and the error does not repeat it.
func TestRedisURLPasswordRefusedWithoutEcho(t *testing.T) {
	_, err := load(t, withRedis("redis:\n  url: redis://user:"+redisPassword+"@cache:6379\n  encryption_key_env: K\n"),
		env{"ACME_SECRET": secretValue, "K": redisKeyBase64})
	assertErrContains(t, err, "redis.url: must not carry a password")
	if strings.Contains(err.Error(), redisPassword) {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestParseRedisEncryptionKey(t *testing.T) {
	for _, s := range []string{redisKeyBase64, strings.TrimRight(redisKeyBase64, "="), base64.RawURLEncoding.EncodeToString(redisKey), redisKeyHex, strings.ToUpper(redisKeyHex), " " + redisKeyHex + "\n"} {
		got, err := config.ParseRedisEncryptionKey(s)
		if err != nil || !bytes.Equal(got, redisKey) {
			t.Errorf("ParseRedisEncryptionKey(%q) = %x, %v", s, got, err)
		}
	}
	short := base64.StdEncoding.EncodeToString(redisKey[:16])
	for _, s := range []string{short, redisKeyHex[:62], "not a key!", ""} {
		_, err := config.ParseRedisEncryptionKey(s)
		if err == nil {
			t.Errorf("ParseRedisEncryptionKey(%q) accepted", s)
			continue
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q repeats the key", err)
		}
	}
}

// A plaintext Redis off loopback is warned about; a section that is fine
// is not.
func TestRedisWarnings(t *testing.T) {
	for _, c := range []struct {
		section   string
		plaintext bool
	}{
		{"redis:\n  addr: 127.0.0.1:6379\n  encryption_key_env: K\n", false},
		{"redis:\n  addr: cache.internal:6379\n  encryption_key_env: K\n", true},
		{"redis:\n  addr: cache.internal:6379\n  encryption_key_env: K\n  tls: {enabled: true}\n", false},
		{"redis:\n  url: rediss://cache.internal:6379\n  encryption_key_env: K\n", false},
	} {
		cfg, err := load(t, withRedis(c.section), env{"ACME_SECRET": secretValue, "K": redisKeyBase64})
		if err != nil {
			t.Fatal(err)
		}
		var text []string
		for _, w := range cfg.Warnings() {
			text = append(text, w.Error())
		}
		all := strings.Join(text, "\n")
		if got := strings.Contains(all, "plaintext Redis"); got != c.plaintext || (!c.plaintext && all != "") {
			t.Errorf("%q: warnings %q, want the plaintext one: %v", c.section, all, c.plaintext)
		}
	}
}

// Neither the password nor the key shows when a Config is printed.
func TestRedisSecretsRedacted(t *testing.T) {
	c, err := load(t, withRedis("redis:\n  addr: a:1\n  password_env: P\n  encryption_key_env: K\n"),
		env{"ACME_SECRET": secretValue, "P": redisPassword, "K": redisKeyHex})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(c)
	out := fmt.Sprintf("%+v %#v %v %s", *c.Redis, *c.Redis, c, js)
	for _, secret := range []string{redisPassword, string(redisKey), redisKeyHex} {
		if strings.Contains(out, secret) {
			t.Errorf("printed config shows a Redis secret: %s", out)
		}
	}
}
