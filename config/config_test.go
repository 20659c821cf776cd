package config_test

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/server"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// secretValue is the client secret the tests plant; no output may show it.
const secretValue = "s3cr3t-Value-9f8e7d"

// minimalYAML is the smallest file Load accepts: one account, everything
// else defaulted.
const minimalYAML = `
accounts:
  - name: acme
    token_url: https://eeo.example.com/oauth2/token
    base_url: https://eeo.example.com/api
    client_id: acme-client
    client_secret_env: ACME_SECRET
`

// env is a fake environment for Load's getenv.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// files is a fake file system for Load's readFile.
type files map[string]string

func (f files) read(path string) ([]byte, error) {
	if s, ok := f[path]; ok {
		return []byte(s), nil
	}
	return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
}

// load runs Load on an in-memory config file at /etc/eeo.yaml.
func load(t *testing.T, yaml string, e env) (config.Config, error) {
	t.Helper()
	return config.Load("/etc/eeo.yaml", e.get, files{"/etc/eeo.yaml": yaml}.read)
}

// assertErrContains fails unless err is non-nil and contains every want.
func assertErrContains(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

// errLines splits a joined error into its one-problem lines.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func sec(d time.Duration) config.Duration { return config.Duration(d) }

func TestDefault(t *testing.T) {
	c := config.Default()
	for _, tc := range []struct {
		field     string
		got, want any
	}{
		{"grpc_addr", c.GRPCAddr, "127.0.0.1:9090"},
		{"http_addr", c.HTTPAddr, "127.0.0.1:8080"},
		{"admin_addr (off)", c.AdminAddr, ""},
		{"admin.pprof", c.Admin.Pprof, false},
		{"access.audit_token_cache_hits", c.Access.AuditTokenCacheHits, false},
		{"log_level", c.LogLevel, "info"},
		{"log_format", c.LogFormat, "json"},
		{"log.access_sampling", c.Log.AccessSampling.Server(), server.AccessLogSampling{Initial: 100, Thereafter: 100}},
		{"shutdown_timeout", c.ShutdownTimeout, sec(15 * time.Second)},
		{"shutdown_drain_delay", c.ShutdownDrainDelay, sec(0)},
		{"token.idle_timeout", c.Token.IdleTimeout, sec(3599 * time.Second)},
		{"token.idle_margin", c.Token.IdleMargin, sec(0)},
		{"token.expiry_margin", c.Token.ExpiryMargin, sec(60 * time.Second)},
		{"token.max_lifetime", c.Token.MaxLifetime, sec(12 * time.Hour)},
		{"token.fetch_timeout", c.Token.FetchTimeout, sec(10 * time.Second)},
		{"token.backoff_initial", c.Token.BackoffInitial, sec(500 * time.Millisecond)},
		{"token.backoff_max", c.Token.BackoffMax, sec(30 * time.Second)},
		{"len(accounts)", len(c.Accounts), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("Default() %s = %v, want %v", tc.field, tc.got, tc.want)
		}
	}

	// The defaults are valid; only the accounts are missing.
	lines := errLines(c.Validate())
	if len(lines) != 1 || lines[0] != "accounts: at least one account is required" {
		t.Errorf("Default().Validate() = %q, want only the missing accounts", lines)
	}
}

func TestDevServesAdmin(t *testing.T) {
	acct := config.Account{Name: "demo", TokenURL: "http://127.0.0.1:1/t", BaseURL: "http://127.0.0.1:1", ClientID: "c", ClientSecret: auth.NewSecret("s")}
	c, err := config.Dev(func(string) string { return "" }, acct)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminAddr != "127.0.0.1:9091" {
		t.Errorf("dev admin_addr = %q, want 127.0.0.1:9091", c.AdminAddr)
	}
	c, err = config.Dev(env{"EEO_GATEWAY_ADMIN_ADDR": "off"}.get, acct)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminAddr != "" {
		t.Errorf("dev admin_addr with EEO_GATEWAY_ADMIN_ADDR=off = %q, want empty", c.AdminAddr)
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		json    string
		want    time.Duration
		wantErr string
	}{
		{json: `"3599s"`, want: 3599 * time.Second},
		{json: `"250ms"`, want: 250 * time.Millisecond},
		{json: `"1h30m"`, want: 90 * time.Minute},
		{json: `"90"`, want: 90 * time.Second},
		{json: `3599`, want: 3599 * time.Second},
		{json: `0.25`, want: 250 * time.Millisecond},
		{json: `0`, want: 0},
		{json: `-5`, want: -5 * time.Second},
		{json: `"abc"`, wantErr: `invalid duration "abc"`},
		{json: `"NaN"`, wantErr: `invalid duration "NaN"`},
		{json: `"Inf"`, wantErr: `invalid duration "Inf"`},
		{json: `"0x10"`, wantErr: `invalid duration "0x10"`},
		{json: `1e300`, wantErr: `out of range`},
		{json: `true`, wantErr: `invalid duration true`},
		{json: `{}`, wantErr: `invalid duration {}`},
	} {
		t.Run(tc.json, func(t *testing.T) {
			var d config.Duration
			err := d.UnmarshalJSON([]byte(tc.json))
			if tc.wantErr != "" {
				assertErrContains(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("UnmarshalJSON(%s): %v", tc.json, err)
			}
			if d.Std() != tc.want {
				t.Errorf("UnmarshalJSON(%s) = %v, want %v", tc.json, d.Std(), tc.want)
			}
		})
	}

	t.Run("null leaves the value", func(t *testing.T) {
		d := sec(time.Minute)
		if err := d.UnmarshalJSON([]byte("null")); err != nil || d != sec(time.Minute) {
			t.Errorf("after null: %v, %v; want 1m0s, nil", d, err)
		}
	})

	t.Run("marshal", func(t *testing.T) {
		b, err := sec(3599 * time.Second).MarshalJSON()
		if err != nil || string(b) != `"59m59s"` {
			t.Errorf("MarshalJSON = %s, %v; want \"59m59s\"", b, err)
		}
		if s := sec(15 * time.Second).String(); s != "15s" {
			t.Errorf("String = %q, want 15s", s)
		}
	})
}

func TestLoadNeedsFuncs(t *testing.T) {
	_, err := config.Load("", nil, files{}.read)
	assertErrContains(t, err, "getenv")
	_, err = config.Load("", env{}.get, nil)
	assertErrContains(t, err, "readFile")
}
