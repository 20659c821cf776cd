package config

import (
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/server"
)

// Defaults, kept in one place so Default, the package documentation and the
// example file agree.
const (
	defaultGRPCAddr = "127.0.0.1:9090"
	defaultHTTPAddr = "127.0.0.1:8080"
	// DevAdminAddr is the admin listener of `serve --dev`; a config file
	// has none unless it sets admin_addr.
	DevAdminAddr           = "127.0.0.1:9091"
	defaultLogLevel        = "info"
	defaultLogFormat       = "json"
	defaultShutdownTimeout = server.DefaultShutdownTimeout

	// The token defaults are the cache's own, so the two cannot drift.
	defaultIdleTimeout    = auth.DefaultIdleTimeout
	defaultExpiryMargin   = auth.DefaultExpiryMargin
	defaultMaxLifetime    = auth.DefaultMaxLifetime
	defaultFetchTimeout   = auth.DefaultFetchTimeout
	defaultBackoffInitial = auth.DefaultBackoffInitial
	defaultBackoffMax     = auth.DefaultBackoffMax

	defaultAuthStyle = AuthStyleBasic

	// The server's defaults are its own too (the upstream ones are eeo's,
	// see UpstreamConfig).
	defaultMaxUploadBytes = server.DefaultMaxUploadBytes

	// defaultJWTMaxLifetime caps exp − iat of caller JWTs.
	defaultJWTMaxLifetime = 24 * time.Hour
	defaultWatchInterval  = server.DefaultWatchInterval

	defaultBodyReadTimeout   = server.DefaultBodyReadTimeout
	defaultUploadIdleTimeout = server.DefaultUploadIdleTimeout
)

// Values of Account.AuthStyle.
const (
	// AuthStyleBasic sends the client ID and secret in an HTTP Basic
	// Authorization header, as RFC 6749 section 2.3.1 prefers. The default.
	AuthStyleBasic = "basic"
	// AuthStyleForm sends client_id and client_secret in the form body, for
	// token endpoints that do not accept Basic authentication.
	AuthStyleForm = "form"
)

// Config is the whole service configuration. The json tags are the YAML
// field names: the file is converted to JSON before it is decoded.
type Config struct {
	// GRPCAddr is the host:port the gRPC server listens on.
	// Default "127.0.0.1:9090", loopback so that a bare start exposes nothing.
	GRPCAddr string `json:"grpc_addr"`
	// HTTPAddr is the host:port the REST gateway listens on.
	// Default "127.0.0.1:8080".
	HTTPAddr string `json:"http_addr"`
	// AdminAddr is the host:port of the plaintext admin listener: /metrics,
	// /livez, /readyz and, with Admin.Pprof, /debug/pprof/. It never
	// serves the API. Empty (the default for a config file) means no admin
	// listener; `serve --dev` uses DevAdminAddr.
	AdminAddr string `json:"admin_addr"`
	// Admin tunes the admin listener.
	Admin AdminConfig `json:"admin"`
	// LogLevel is one of debug, info, warn, error. Default info.
	LogLevel string `json:"log_level"`
	// LogFormat is json or text. Default json, for log collectors.
	LogFormat string `json:"log_format"`
	// Log tunes the access log: its sampling.
	Log LogConfig `json:"log"`
	// ShutdownTimeout bounds a graceful shutdown; in-flight requests still
	// running after it are cut off. Default 15s.
	ShutdownTimeout Duration `json:"shutdown_timeout"`
	// ShutdownDrainDelay is the time between reporting health NOT_SERVING
	// and closing the listeners, so load balancers stop routing to the
	// instance before it stops accepting. Default 0.
	ShutdownDrainDelay Duration `json:"shutdown_drain_delay"`
	// Token tunes the access-token cache, shared by all accounts.
	Token TokenConfig `json:"token"`
	// Files tunes imports and reports.
	Files FilesConfig `json:"files"`
	// TLS serves both listeners over TLS; absent means plaintext.
	TLS TLSConfig `json:"tls"`
	// Access is caller authentication, authorization and rate limits.
	Access AccessConfig `json:"access"`
	// HTTP tunes the REST facade.
	HTTP HTTPConfig `json:"http"`
	// Limits bound connections and not-yet-authenticated gRPC calls.
	Limits LimitsConfig `json:"limits"`
	// Upstream tunes the calls to EEO's import and report API: retries,
	// circuit breaker, in-flight limit and timeouts.
	Upstream UpstreamConfig `json:"upstream"`
	// Redis, if set, is the optional Redis backend shared by replicas
	// (see RedisConfig); absent keeps everything in memory.
	Redis *RedisConfig `json:"redis"`
	// Accounts are the EEO accounts the gateway hands out tokens for.
	// At least one is required.
	Accounts []Account `json:"accounts"`
}

// AdminConfig tunes the admin listener.
type AdminConfig struct {
	// Pprof serves Go's profiler under /debug/pprof/ on the admin
	// listener. Off by default: profiles show memory contents' shapes and
	// cost CPU, so an operator turns them on deliberately.
	Pprof bool `json:"pprof"`
}

// TokenConfig tunes the access-token cache.
type TokenConfig struct {
	// IdleTimeout is EEO's inactivity rule: a token unused for this long is
	// dead whatever its expiry says. Default 3599s.
	IdleTimeout Duration `json:"idle_timeout"`
	// IdleMargin is how long before IdleTimeout the cache stops serving an
	// idle token, so a token is not handed out just as EEO drops it.
	// Default 0, which lets the cache choose min(30s, IdleTimeout/10).
	IdleMargin Duration `json:"idle_margin"`
	// ExpiryMargin is taken off EEO's expires_in so tokens are replaced
	// before they expire in a caller's hands. Default 60s.
	ExpiryMargin Duration `json:"expiry_margin"`
	// MaxLifetime caps how long a token is served whatever expires_in says.
	// Default 12h.
	MaxLifetime Duration `json:"max_lifetime"`
	// FetchTimeout bounds one request to EEO's token endpoint. Default 10s.
	FetchTimeout Duration `json:"fetch_timeout"`
	// BackoffInitial is the first pause after a failed token request.
	// Default 500ms.
	BackoffInitial Duration `json:"backoff_initial"`
	// BackoffMax caps the pause between failed token requests. Default 30s.
	BackoffMax Duration `json:"backoff_max"`
}

// FilesConfig tunes imports and reports.
type FilesConfig struct {
	// MaxUploadBytes caps one import file; a larger one is refused with
	// RESOURCE_EXHAUSTED (HTTP 413) without reading the rest. Default 2 GiB.
	MaxUploadBytes int64 `json:"max_upload_bytes"`
	// WatchInterval is how often WatchImport and WatchReport poll EEO.
	// Default 2s.
	WatchInterval Duration `json:"watch_interval"`
}

// Account is one EEO API client the gateway holds credentials for.
type Account struct {
	// Name identifies the account in API paths (/v1/accounts/{name}/token),
	// so it must match ^[a-z][a-z0-9-]{0,62}$. Required, unique.
	Name string `json:"name"`
	// TokenURL is EEO's Get Access Token endpoint, an absolute http(s) URL.
	// Required.
	TokenURL string `json:"token_url"`
	// BaseURL is the EEO API base URL, absolute http(s). Required.
	BaseURL string `json:"base_url"`
	// ClientID is the OAuth client ID EEO issued. Required.
	ClientID string `json:"client_id"`
	// ClientSecretEnv names the environment variable holding the client
	// secret. Exactly one of ClientSecretEnv and ClientSecretFile is set.
	ClientSecretEnv string `json:"client_secret_env"`
	// ClientSecretFile is the path of a file holding the client secret, as
	// mounted from a secret store; trailing whitespace and newlines are
	// trimmed. Exactly one of ClientSecretEnv and ClientSecretFile is set.
	ClientSecretFile string `json:"client_secret_file"`
	// AuthStyle is how the client authenticates to the token endpoint:
	// AuthStyleBasic (the default) or AuthStyleForm.
	AuthStyle string `json:"auth_style"`
	// Scopes are requested with every token, space-separated on the wire.
	// Optional.
	Scopes []string `json:"scopes"`
	// AllowInsecureUpstream permits a plain http token_url or base_url to a
	// host other than loopback. Without it such a URL is refused: the
	// client secret and every access token would cross the network in
	// clear. Set it only where something else encrypts the path (a sidecar
	// or a tunnel); the gateway still warns at start.
	AllowInsecureUpstream bool `json:"allow_insecure_upstream"`
	// ClientSecret is filled by Load from ClientSecretEnv or
	// ClientSecretFile. It is never read from the file itself: the json tag
	// makes "client_secret" an unknown field there.
	ClientSecret auth.Secret `json:"-"`
}

// Default returns a Config with every default set and no accounts.
func Default() Config {
	var c Config
	c.setDefaults()
	return c
}

// setDefaults fills the fields still at their zero value. A zero that is
// also the default (ShutdownDrainDelay, IdleMargin) needs no entry; a zero
// that makes no sense (a zero timeout) is read as "not set" so that a file
// only has to mention what it changes.
func (c *Config) setDefaults() {
	def(&c.GRPCAddr, defaultGRPCAddr)
	def(&c.HTTPAddr, defaultHTTPAddr)
	def(&c.LogLevel, defaultLogLevel)
	def(&c.LogFormat, defaultLogFormat)
	c.Log.AccessSampling.setDefaults()
	def(&c.ShutdownTimeout, Duration(defaultShutdownTimeout))

	t := &c.Token
	def(&t.IdleTimeout, Duration(defaultIdleTimeout))
	def(&t.ExpiryMargin, Duration(defaultExpiryMargin))
	def(&t.MaxLifetime, Duration(defaultMaxLifetime))
	def(&t.FetchTimeout, Duration(defaultFetchTimeout))
	def(&t.BackoffInitial, Duration(defaultBackoffInitial))
	def(&t.BackoffMax, Duration(defaultBackoffMax))

	def(&c.Access.Reflection, "authenticated")
	if c.Access.JWT != nil {
		def(&c.Access.JWT.MaxLifetime, Duration(defaultJWTMaxLifetime))
	}
	def(&c.Files.MaxUploadBytes, defaultMaxUploadBytes)
	def(&c.Files.WatchInterval, Duration(defaultWatchInterval))
	def(&c.HTTP.BodyReadTimeout, Duration(defaultBodyReadTimeout))
	def(&c.HTTP.UploadIdleTimeout, Duration(defaultUploadIdleTimeout))
	c.Upstream.setDefaults()
	if c.Redis != nil {
		c.Redis.setDefaults()
	}

	for i := range c.Accounts {
		def(&c.Accounts[i].AuthStyle, defaultAuthStyle)
	}
}

// def sets *p to v if *p is the zero value.
func def[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
