package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
)

// validConfig is a Config that passes Validate, built in code as a test or
// the sandbox would: defaults, one account, the secret set directly.
func validConfig() config.Config {
	c := config.Default()
	c.Accounts = []config.Account{{
		Name:            "acme",
		TokenURL:        "https://eeo.example.com/oauth2/token",
		BaseURL:         "https://eeo.example.com/api",
		ClientID:        "acme-client",
		ClientSecretEnv: "ACME_SECRET",
		AuthStyle:       config.AuthStyleBasic,
		ClientSecret:    auth.NewSecret(secretValue),
	}}
	return c
}

func TestValidConfig(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c := validConfig()
	c.Accounts[0].ClientSecretEnv = "" // a secret set in code needs no source
	c.Accounts[0].Scopes = []string{"read:plans", "participants.write"}
	c.GRPCAddr, c.HTTPAddr = ":0", ":0" // any free port, for tests
	c.Accounts = append(c.Accounts, c.Accounts[0])
	c.Accounts[1].Name = "b-2"
	c.Accounts[1].ClientID = "b-2-client"
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

// Two accounts on one EEO client would see each other's imports and
// reports (EEO fetches them by id and cannot tell the accounts apart), so
// such a config is refused, however the URLs are spelt.
func TestAccountsSharingAnEEOClientRefused(t *testing.T) {
	second := func(edit func(*config.Account)) config.Config {
		c := validConfig()
		b := c.Accounts[0]
		b.Name = "acme-two"
		edit(&b)
		c.Accounts = append(c.Accounts, b)
		return c
	}
	for name, edit := range map[string]func(*config.Account){
		"identical":           func(*config.Account) {},
		"same token endpoint": func(a *config.Account) { a.BaseURL = "https://other.example.com/api" },
		"same API host":       func(a *config.Account) { a.TokenURL = "https://login.example.com/token" },
		"spelt differently":   func(a *config.Account) { a.TokenURL = "https://EEO.example.com:443/oauth2/token/" },
	} {
		err := second(edit).Validate()
		want := `accounts[1].client_id: accounts[0] ("acme") uses the same EEO client (client_id "acme-client" at eeo.example.com:443)`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
		if err != nil && strings.Count(err.Error(), "same EEO client") != 1 {
			t.Errorf("%s: reported more than once: %v", name, err)
		}
	}
	for name, edit := range map[string]func(*config.Account){
		"another client at the same EEO": func(a *config.Account) { a.ClientID = "acme-two-client" },
		"same client id at another EEO": func(a *config.Account) {
			a.TokenURL, a.BaseURL = "https://eeo-uat.example.com/oauth2/token", "https://eeo-uat.example.com/api"
		},
	} {
		if err := second(edit).Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*config.Config)
		wants  []string
	}{
		{"grpc_addr empty", func(c *config.Config) { c.GRPCAddr = "" }, []string{"grpc_addr: required"}},
		{"grpc_addr no port", func(c *config.Config) { c.GRPCAddr = "localhost" }, []string{"grpc_addr: must be host:port", "missing port"}},
		{"http_addr bad port", func(c *config.Config) { c.HTTPAddr = "localhost:99999" }, []string{"http_addr: must be host:port with a port number"}},
		{"same address", func(c *config.Config) { c.HTTPAddr = c.GRPCAddr }, []string{"http_addr: must differ from grpc_addr"}},
		{"admin_addr bad", func(c *config.Config) { c.AdminAddr = "9091" }, []string{"admin_addr: must be host:port"}},
		{"admin_addr same as http", func(c *config.Config) { c.AdminAddr = c.HTTPAddr }, []string{"admin_addr: must differ from grpc_addr and http_addr"}},
		{"trusted proxy", func(c *config.Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "proxy.local"} }, []string{`http.trusted_proxies[1]: must be an IP address or CIDR prefix, got "proxy.local"`}},
		{"log_level", func(c *config.Config) { c.LogLevel = "INFO" }, []string{`log_level: must be one of debug, info, warn, error; got "INFO"`}},
		{"log_format", func(c *config.Config) { c.LogFormat = "" }, []string{"log_format: must be one of json, text"}},
		{"shutdown_timeout zero", func(c *config.Config) { c.ShutdownTimeout = 0 }, []string{"shutdown_timeout: must be positive, got 0s"}},
		{"shutdown_drain_delay negative", func(c *config.Config) { c.ShutdownDrainDelay = sec(-time.Second) }, []string{"shutdown_drain_delay: must not be negative"}},
		{"idle_timeout zero", func(c *config.Config) { c.Token.IdleTimeout = 0 }, []string{"token.idle_timeout: must be positive"}},
		{"idle_margin negative", func(c *config.Config) { c.Token.IdleMargin = sec(-1) }, []string{"token.idle_margin: must not be negative"}},
		{"idle_margin not below idle_timeout", func(c *config.Config) { c.Token.IdleMargin = c.Token.IdleTimeout }, []string{"token.idle_margin: must be less than token.idle_timeout (59m59s), got 59m59s"}},
		{"expiry_margin negative", func(c *config.Config) { c.Token.ExpiryMargin = sec(-time.Second) }, []string{"token.expiry_margin: must not be negative"}},
		{"idle_margin within the clock resolution", func(c *config.Config) { c.Token.IdleMargin = sec(5 * time.Millisecond) }, []string{"token.idle_margin: must exceed the token cache's clock resolution (10ms), got 5ms"}},
		{"expiry_margin within the clock resolution", func(c *config.Config) { c.Token.ExpiryMargin = sec(time.Millisecond) }, []string{"token.expiry_margin: must exceed the token cache's clock resolution (10ms), got 1ms"}},
		{"max_lifetime zero", func(c *config.Config) { c.Token.MaxLifetime = 0 }, []string{"token.max_lifetime: must be positive"}},
		{"fetch_timeout negative", func(c *config.Config) { c.Token.FetchTimeout = sec(-time.Second) }, []string{"token.fetch_timeout: must be positive, got -1s"}},
		{"backoff_initial zero", func(c *config.Config) { c.Token.BackoffInitial = 0 }, []string{"token.backoff_initial: must be positive"}},
		{"backoff_max zero", func(c *config.Config) { c.Token.BackoffMax = 0 }, []string{"token.backoff_max: must be positive"}},
		{"backoff_initial above backoff_max", func(c *config.Config) { c.Token.BackoffInitial = sec(time.Minute) }, []string{"token.backoff_initial: must not exceed token.backoff_max (30s), got 1m0s"}},
		{"http.body_read_timeout zero", func(c *config.Config) { c.HTTP.BodyReadTimeout = 0 }, []string{"http.body_read_timeout: must be positive"}},
		{"http.upload_idle_timeout negative", func(c *config.Config) { c.HTTP.UploadIdleTimeout = sec(-time.Second) }, []string{"http.upload_idle_timeout: must be positive, got -1s"}},
		{"limits.max_connections negative", func(c *config.Config) { c.Limits.MaxConnections = -1 }, []string{"limits.max_connections: must not be negative"}},
		{"limits.max_connections_per_peer above max_connections", func(c *config.Config) { c.Limits.MaxConnections, c.Limits.MaxConnectionsPerPeer = 10, 20 }, []string{"limits.max_connections_per_peer: must not exceed limits.max_connections (10), got 20"}},
		{"limits.pending_stream_timeout negative", func(c *config.Config) { c.Limits.PendingStreamTimeout = sec(-time.Second) }, []string{"limits.pending_stream_timeout: must not be negative"}},
		{"access.max_concurrent_transfers_per_caller negative", func(c *config.Config) { c.Access.MaxConcurrentTransfersPerCaller = -2 }, []string{"access.max_concurrent_transfers_per_caller: must not be negative"}},
		{"access.unauthenticated.audit_burst negative", func(c *config.Config) { c.Access.Unauthenticated.AuditBurst = -1 }, []string{"access.unauthenticated.audit_burst: must not be negative"}},
		{"no accounts", func(c *config.Config) { c.Accounts = nil }, []string{"accounts: at least one account is required"}},
		{"name empty", func(c *config.Config) { c.Accounts[0].Name = "" }, []string{"accounts[0].name: required"}},
		{"name upper case", func(c *config.Config) { c.Accounts[0].Name = "Acme" }, []string{`accounts[0].name: must match ^[a-z][a-z0-9-]{0,62}$`, `got "Acme"`}},
		{"name with slash", func(c *config.Config) { c.Accounts[0].Name = "a/b" }, []string{"accounts[0].name: must match"}},
		{"name starts with digit", func(c *config.Config) { c.Accounts[0].Name = "1acme" }, []string{"accounts[0].name: must match"}},
		{"name too long", func(c *config.Config) { c.Accounts[0].Name = "a" + strings.Repeat("b", 63) }, []string{"accounts[0].name: must match"}},
		{"name duplicate", func(c *config.Config) { c.Accounts = append(c.Accounts, c.Accounts[0]) }, []string{`accounts[1].name: "acme" is already the name of accounts[0]`}},
		{"token_url empty", func(c *config.Config) { c.Accounts[0].TokenURL = "" }, []string{"accounts[0].token_url: required"}},
		{"token_url relative", func(c *config.Config) { c.Accounts[0].TokenURL = "/oauth2/token" }, []string{"accounts[0].token_url: must be an absolute http or https URL"}},
		{"token_url ftp", func(c *config.Config) { c.Accounts[0].TokenURL = "ftp://eeo.example.com/t" }, []string{"accounts[0].token_url: must be an absolute http or https URL"}},
		{"token_url unparsable", func(c *config.Config) { c.Accounts[0].TokenURL = "https://eeo.example.com:x/" }, []string{"accounts[0].token_url: must be an absolute http or https URL"}},
		{"base_url no host", func(c *config.Config) { c.Accounts[0].BaseURL = "https:///api" }, []string{"accounts[0].base_url: must be an absolute http or https URL"}},
		{"base_url with credentials", func(c *config.Config) { c.Accounts[0].BaseURL = "https://u:" + secretValue + "@eeo.example.com/" }, []string{"accounts[0].base_url: must not contain user info"}},
		{"client_id empty", func(c *config.Config) { c.Accounts[0].ClientID = " " }, []string{"accounts[0].client_id: required"}},
		{"auth_style", func(c *config.Config) { c.Accounts[0].AuthStyle = "header" }, []string{`accounts[0].auth_style: must be one of basic, form; got "header"`}},
		{"scope with space", func(c *config.Config) { c.Accounts[0].Scopes = []string{"ok", "a b"} }, []string{"accounts[0].scopes[1]: must be a non-empty OAuth scope"}},
		{"scope empty", func(c *config.Config) { c.Accounts[0].Scopes = []string{""} }, []string{"accounts[0].scopes[0]: must be a non-empty OAuth scope"}},
		{"both secret sources", func(c *config.Config) { c.Accounts[0].ClientSecretFile = "/run/secret" }, []string{"accounts[0].client_secret_file: set only one of client_secret_env and client_secret_file"}},
		{"no secret at all", func(c *config.Config) {
			c.Accounts[0].ClientSecretEnv = ""
			c.Accounts[0].ClientSecret = auth.Secret{}
		}, []string{"accounts[0].client_secret_env: one of client_secret_env or client_secret_file is required"}},
		{"secret source never resolved", func(c *config.Config) { c.Accounts[0].ClientSecret = auth.Secret{} }, []string{"accounts[0].client_secret: empty"}},
		{"second account", func(c *config.Config) {
			c.Accounts = append(c.Accounts, c.Accounts[0])
			c.Accounts[1].Name = "globex"
			c.Accounts[1].BaseURL = "eeo.example.com"
		}, []string{"accounts[1].base_url: must be an absolute http or https URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			assertErrContains(t, err, tc.wants...)
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error contains the secret: %v", err)
			}
		})
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := validConfig()
	c.LogLevel = "loud"
	c.Token.FetchTimeout = 0
	c.Accounts[0].TokenURL = "nope"
	err := c.Validate()
	assertErrContains(t, err, "log_level:", "token.fetch_timeout:", "accounts[0].token_url:")
	if n := len(errLines(err)); n != 3 {
		t.Errorf("got %d problems, want 3:\n%v", n, err)
	}
}

func TestLoadValidates(t *testing.T) {
	yaml := strings.Replace(minimalYAML, "https://eeo.example.com/oauth2/token", "eeo.example.com/token", 1) +
		"token:\n  idle_margin: 2h\n"
	_, err := load(t, yaml, env{"ACME_SECRET": secretValue})
	assertErrContains(t, err,
		"accounts[0].token_url: must be an absolute http or https URL",
		"token.idle_margin: must be less than token.idle_timeout")
}
