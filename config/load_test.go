package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
)

func TestLoadMinimal(t *testing.T) {
	c, err := load(t, minimalYAML, env{"ACME_SECRET": secretValue})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := config.Default()
	want.Accounts = []config.Account{{
		Name:            "acme",
		TokenURL:        "https://eeo.example.com/oauth2/token",
		BaseURL:         "https://eeo.example.com/api",
		ClientID:        "acme-client",
		ClientSecretEnv: "ACME_SECRET",
		AuthStyle:       config.AuthStyleBasic,
		ClientSecret:    auth.NewSecret(secretValue),
	}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadEmptyPathStartsFromDefault(t *testing.T) {
	_, err := config.Load("", env{}.get, files{}.read)
	lines := errLines(err)
	if len(lines) != 1 || lines[0] != "accounts: at least one account is required" {
		t.Errorf(`Load("") error = %q, want only the missing accounts`, lines)
	}
}

func TestLoadFullFile(t *testing.T) {
	const yaml = `
grpc_addr: ":19090"
http_addr: "[::1]:18080"
log_level: debug
log_format: text
log:
  access_sampling:
    initial: 0
    thereafter: 50
shutdown_timeout: 20s
shutdown_drain_delay: 2.5   # seconds
token:
  idle_timeout: 1800
  idle_margin: 45s
  expiry_margin: 2m
  max_lifetime: 6h
  fetch_timeout: "5"
  backoff_initial: 100ms
  backoff_max: 1m
files:
  max_upload_bytes: 1048576
  watch_interval: 500ms
upstream:
  retry: {max_attempts: 4, max_elapsed: 1m, initial_backoff: 50ms, max_backoff: 2s}
  breaker: {consecutive_failures: 7, open_duration: 30s}
  max_in_flight: 8
  operation_timeout: 45s
  stream_idle_timeout: 5m
  dial_timeout: 3s
access:
  api_keys:
    - caller: payroll
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  policies:
    - caller: apikey:payroll
      accounts: [acme]
      permissions: [imports:write, imports:read]
  rate_limit: {per_second: 5, burst: 10}
accounts:
  - name: acme
    token_url: https://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com/api
    client_id: acme-client
    client_secret_env: ACME_SECRET
    scopes: [read, write]
  - name: globex-2
    token_url: http://localhost:8081/token
    base_url: http://localhost:8081
    client_id: 12345
    client_secret_file: /run/secrets/globex
    auth_style: form
`
	getenv := env{"ACME_SECRET": secretValue}.get
	readFile := files{
		"/etc/eeo.yaml":       yaml,
		"/run/secrets/globex": "globex-secret\n",
	}.read
	c, err := config.Load("/etc/eeo.yaml", getenv, readFile)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := config.Config{
		GRPCAddr:           ":19090",
		HTTPAddr:           "[::1]:18080",
		LogLevel:           "debug",
		LogFormat:          "text",
		Log:                config.LogConfig{AccessSampling: config.AccessSamplingConfig{Initial: new(0), Thereafter: 50}},
		ShutdownTimeout:    sec(20 * time.Second),
		ShutdownDrainDelay: sec(2500 * time.Millisecond),
		Token: config.TokenConfig{
			IdleTimeout:    sec(30 * time.Minute),
			IdleMargin:     sec(45 * time.Second),
			ExpiryMargin:   sec(2 * time.Minute),
			MaxLifetime:    sec(6 * time.Hour),
			FetchTimeout:   sec(5 * time.Second),
			BackoffInitial: sec(100 * time.Millisecond),
			BackoffMax:     sec(time.Minute),
		},
		Files: config.FilesConfig{MaxUploadBytes: 1 << 20, WatchInterval: sec(500 * time.Millisecond)},
		Upstream: config.UpstreamConfig{
			Retry: config.UpstreamRetryConfig{MaxAttempts: 4, MaxElapsed: sec(time.Minute),
				InitialBackoff: sec(50 * time.Millisecond), MaxBackoff: sec(2 * time.Second)},
			Breaker:           config.UpstreamBreakerConfig{ConsecutiveFailures: 7, OpenDuration: sec(30 * time.Second)},
			MaxInFlight:       8,
			OperationTimeout:  sec(45 * time.Second),
			StreamIdleTimeout: sec(5 * time.Minute),
			DialTimeout:       sec(3 * time.Second),
		},
		Access: config.AccessConfig{
			APIKeys:    []config.APIKeyConfig{{Caller: "payroll", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
			Reflection: "authenticated",
			Policies:   []config.PolicyConfig{{Caller: "apikey:payroll", Accounts: []string{"acme"}, Permissions: []string{"imports:write", "imports:read"}}},
			RateLimit:  config.RateLimitConfig{PerSecond: 5, Burst: 10},
		},
		HTTP: config.HTTPConfig{BodyReadTimeout: sec(30 * time.Second), UploadIdleTimeout: sec(2 * time.Minute)},
		Accounts: []config.Account{
			{
				Name:            "acme",
				TokenURL:        "https://eeo.example.com/oauth2/token",
				BaseURL:         "https://eeo.example.com/api",
				ClientID:        "acme-client",
				ClientSecretEnv: "ACME_SECRET",
				AuthStyle:       "basic",
				Scopes:          []string{"read", "write"},
				ClientSecret:    auth.NewSecret(secretValue),
			},
			{
				Name:             "globex-2",
				TokenURL:         "http://localhost:8081/token",
				BaseURL:          "http://localhost:8081",
				ClientID:         "12345", // a YAML number, read as a string
				ClientSecretFile: "/run/secrets/globex",
				AuthStyle:        "form",
				ClientSecret:     auth.NewSecret("globex-secret"),
			},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadExampleFile(t *testing.T) {
	const secretFile = "/run/secrets/eeo-globex-espp-client-secret"
	// The example names a real-looking secret path; serve it from memory and
	// everything else from disk.
	readFile := func(path string) ([]byte, error) {
		if path == secretFile {
			return []byte("globex-secret\n"), nil
		}
		return os.ReadFile(path)
	}
	getenv := env{"EEO_ACME_PLAN_CLIENT_SECRET": secretValue, "EEO_REDIS_PASSWORD": redisPassword, "EEO_REDIS_ENCRYPTION_KEY": redisKeyHex}.get
	c, err := config.Load(filepath.Join("testdata", "example.yaml"), getenv, readFile)
	if err != nil {
		t.Fatalf("Load(example.yaml): %v", err)
	}
	if len(c.Accounts) != 2 {
		t.Fatalf("got %d accounts, want 2", len(c.Accounts))
	}
	acme, globex := c.Accounts[0], c.Accounts[1]
	if acme.Name != "acme-plan" || acme.ClientSecret.Reveal() != secretValue || acme.AuthStyle != "basic" {
		t.Errorf("accounts[0] = %+v", acme)
	}
	if globex.Name != "globex-espp" || globex.ClientSecret.Reveal() != "globex-secret" || globex.AuthStyle != "form" {
		t.Errorf("accounts[1] = %+v", globex)
	}
	if r := c.Redis; r == nil || r.Addr != "redis.internal:6379" || !r.UsesTLS() || r.Password.Reveal() != redisPassword || r.EncryptionKey.Reveal() != string(redisKey) {
		t.Errorf("redis = %+v", c.Redis)
	}
	if c.Token.IdleTimeout.Std() != 3599*time.Second || c.ShutdownDrainDelay.Std() != 5*time.Second {
		t.Errorf("token.idle_timeout = %v, shutdown_drain_delay = %v", c.Token.IdleTimeout, c.ShutdownDrainDelay)
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := config.Load("/nope.yaml", env{}.get, files{}.read)
		assertErrContains(t, err, "/nope.yaml")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v does not wrap fs.ErrNotExist", err)
		}
	})

	for _, tc := range []struct {
		name  string
		yaml  string
		wants []string
	}{
		{
			name:  "unknown top-level field",
			yaml:  "grpc_adr: :9090\n" + minimalYAML,
			wants: []string{"grpc_adr: unknown field"},
		},
		{
			name:  "unknown token field",
			yaml:  "token:\n  idle_timout: 10s\n" + minimalYAML,
			wants: []string{"token.idle_timout: unknown field"},
		},
		{
			name:  "unknown account field",
			yaml:  minimalYAML + "    colour: blue\n",
			wants: []string{"accounts[0].colour: unknown field"},
		},
		{
			name:  "field name in the wrong case",
			yaml:  "GRPC_Addr: :9090\n" + minimalYAML,
			wants: []string{`GRPC_Addr: unknown field`, `did you mean "grpc_addr"?`},
		},
		{
			name:  "secret in the file",
			yaml:  minimalYAML + "    client_secret: " + secretValue + "\n",
			wants: []string{"accounts[0].client_secret: unknown field", "client_secret_env or client_secret_file"},
		},
		{
			name:  "bad duration",
			yaml:  "shutdown_timeout: abc\n" + minimalYAML,
			wants: []string{`shutdown_timeout: invalid duration "abc"`},
		},
		{
			name:  "not a whole number",
			yaml:  "files:\n  max_upload_bytes: lots\n" + minimalYAML,
			wants: []string{`files.max_upload_bytes: must be a whole number, got a string`},
		},
		{
			name:  "bad nested duration",
			yaml:  "token:\n  backoff_max: 3 minutes\n" + minimalYAML,
			wants: []string{`token.backoff_max: invalid duration "3 minutes"`},
		},
		{
			name:  "duration of the wrong kind",
			yaml:  "token:\n  fetch_timeout: [1, 2]\n" + minimalYAML,
			wants: []string{"token.fetch_timeout: must be a duration", "got a list"},
		},
		{
			name:  "accounts not a list",
			yaml:  "accounts:\n  name: acme\n",
			wants: []string{"accounts: must be a list, got a mapping"},
		},
		{
			name:  "scopes not a list of strings",
			yaml:  minimalYAML + "    scopes: [[a]]\n",
			wants: []string{"accounts[0].scopes[0]: must be a string, got a list"},
		},
		{
			name:  "token not a mapping",
			yaml:  "token: 5\n" + minimalYAML,
			wants: []string{"token: must be a mapping of fields, got a number"},
		},
		{
			name:  "document not a mapping",
			yaml:  "- a\n- b\n",
			wants: []string{"must be a mapping of fields, got a list"},
		},
		{
			name:  "several problems at once",
			yaml:  "color: x\nshutdown_timeout: abc\n" + minimalYAML + "    colour: blue\n",
			wants: []string{"color: unknown field", `shutdown_timeout: invalid duration "abc"`, "accounts[0].colour: unknown field"},
		},
		{
			name:  "YAML syntax",
			yaml:  "grpc_addr: [\n",
			wants: []string{"yaml: line"},
		},
		{
			name:  "duplicate key",
			yaml:  "log_level: info\nlog_level: debug\n" + minimalYAML,
			wants: []string{`"log_level" already set`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.yaml, env{"ACME_SECRET": secretValue})
			assertErrContains(t, err, tc.wants...)
			// A parse error names the file, on every line.
			for _, line := range errLines(err) {
				if strings.HasPrefix(line, "  ") {
					continue // continuation of a multi-line YAML error
				}
				if !strings.HasPrefix(line, "config file /etc/eeo.yaml: ") {
					t.Errorf("error line does not name the file: %q", line)
				}
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error contains the secret: %v", err)
			}
		})
	}
}
