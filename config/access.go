package config

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/access/identity"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
)

// TLSConfig serves both listeners over TLS. Files are re-read when they
// change, so certificates rotate without a restart.
type TLSConfig struct {
	// CertFile and KeyFile are the server's PEM certificate chain and key.
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// ClientCAFile, if set, makes both listeners require client
	// certificates signed by one of these CAs (mTLS).
	ClientCAFile string `json:"client_ca_file"`
}

// Enabled reports whether TLS is configured.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// AccessConfig is who may call the gateway and what they may do. With no
// api_keys, jwt or mtls the service refuses to start unless
// --insecure-allow-unauthenticated is given.
type AccessConfig struct {
	// APIKeys are bearer keys, stored only as SHA-256 hashes.
	APIKeys []APIKeyConfig `json:"api_keys"`
	// JWT accepts bearer JWTs from an identity provider.
	JWT *JWTConfig `json:"jwt"`
	// MTLS accepts a verified client certificate as the caller's identity:
	// its URI SAN (spiffe://… or x509:uri:…), else its DNS SAN
	// (x509:dns:…), else its CN (x509:cn:…). Needs tls.client_ca_file.
	MTLS bool `json:"mtls"`
	// Reflection is "authenticated" (default), "public" or "off".
	Reflection string `json:"reflection"`
	// Policies grant callers permissions on accounts; anything not granted
	// is denied.
	Policies []PolicyConfig `json:"policies"`
	// RateLimit bounds each caller's request rate.
	RateLimit RateLimitConfig `json:"rate_limit"`
	// MaxConcurrentTransfersPerCaller bounds each caller's open uploads,
	// downloads and watches; more are 429 CALLER_TRANSFER_LIMIT. Default
	// 32.
	MaxConcurrentTransfersPerCaller int `json:"max_concurrent_transfers_per_caller"`
	// Unauthenticated bounds what failed authentication costs per client
	// address: a JWT failure rate and audit aggregation.
	Unauthenticated UnauthenticatedConfig `json:"unauthenticated"`
	// AuditTokenCacheHits audits GetToken calls served from the token
	// cache too. Default false: issuance that reached EEO, refreshes,
	// invalidations, failures and refusals are audited, routine hits only
	// appear in the access log.
	AuditTokenCacheHits bool `json:"audit_token_cache_hits"`
}

// Configured reports whether any caller authentication is set up.
func (a AccessConfig) Configured() bool { return len(a.APIKeys) > 0 || a.JWT != nil || a.MTLS }

// APIKeyConfig is one caller's API key.
type APIKeyConfig struct {
	// Caller names whoever holds the key (letters, digits, '.', '_', '-',
	// '@'). Policies and audit logs see the key's holder as
	// "apikey:<caller>".
	Caller string `json:"caller"`
	// SHA256 is the lower-case hex SHA-256 of the key: the key itself is
	// never stored. `printf %s "$KEY" | sha256sum` computes it.
	SHA256 string `json:"sha256"`
}

// JWTConfig validates bearer JWTs.
type JWTConfig struct {
	Issuer   string `json:"issuer"`
	Audience string `json:"audience"`
	// Algorithms allowed, e.g. [RS256, ES256]; "none" and HMAC are refused.
	Algorithms []string `json:"algorithms"`
	// JWKSFile or JWKSURL holds the signing keys (exactly one). A URL is
	// https (http only to loopback); redirects are followed only on the
	// same scheme and host.
	JWKSFile string `json:"jwks_file"`
	JWKSURL  string `json:"jwks_url"`
	// CallerClaim names the claim that identifies the caller; default "sub".
	CallerClaim string `json:"caller_claim"`
	// Leeway tolerates clock skew on exp and nbf; default 0. An iat in the
	// future is tolerated up to the larger of leeway and 60s.
	Leeway Duration `json:"leeway"`
	// MaxLifetime caps a token's exp − iat (exp − now without iat);
	// default 24h.
	MaxLifetime Duration `json:"max_lifetime"`
}

// PolicyConfig grants one caller permissions on accounts.
type PolicyConfig struct {
	// Caller is an identity with its kind: apikey:<api_keys caller>,
	// jwt:<jwt.issuer>#<caller claim>, spiffe://…, x509:uri:<URI SAN>,
	// x509:dns:<DNS SAN> or x509:cn:<Subject CN>. A bare name is refused,
	// since it could match more than one kind.
	Caller string `json:"caller"`
	// Accounts are account names, or "*" for all.
	Accounts []string `json:"accounts"`
	// Permissions are names from internal/permission: token:get,
	// token:refresh, token:invalidate, imports:write, imports:read,
	// reports:write, reports:read, accounts:list.
	Permissions []string `json:"permissions"`
}

// RateLimitConfig is a per-caller token bucket; per_second 0 means none.
type RateLimitConfig struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

// HTTPConfig tunes the REST facade.
type HTTPConfig struct {
	// AllowedMetadataHeaders are extra request headers passed to the gRPC
	// server as metadata; by default only Authorization and X-Request-Id.
	AllowedMetadataHeaders []string `json:"allowed_metadata_headers"`
	// CORSAllowedOrigins are browser origins allowed to call the REST API;
	// none by default.
	CORSAllowedOrigins []string `json:"cors_allowed_origins"`
	// AllowMethodOverride honours X-HTTP-Method-Override and the POST-for-GET
	// fallback of form-encoded bodies. Both parse the form before routing
	// and caller authentication; off by default.
	AllowMethodOverride bool `json:"allow_method_override"`
	// BodyReadTimeout bounds reading a whole request body other than an
	// upload's. Default 30s.
	BodyReadTimeout Duration `json:"body_read_timeout"`
	// UploadIdleTimeout cuts off an upload whose body sends nothing for
	// this long; uploads have no total deadline. Default 2m.
	UploadIdleTimeout Duration `json:"upload_idle_timeout"`
	// TrustedProxies are the addresses (IPs or CIDR prefixes) of reverse
	// proxies in front of the REST listener. Only a request arriving from
	// one of them has its X-Forwarded-For believed for the client address
	// that logs and audit events show; none by default, so the address is
	// always the connection's peer.
	TrustedProxies []string `json:"trusted_proxies"`
	// H2C serves HTTP/2 without TLS (prior knowledge, no Upgrade) to
	// clients that ask for it, such as sidecars, next to HTTP/1.1. Off by
	// default: one connection may then carry 100 requests at once. With
	// TLS configured it changes nothing (ALPN negotiates HTTP/2 there).
	H2C bool `json:"h2c"`
}

// TrustedProxyPrefixes parses TrustedProxies, a bare IP being a prefix of
// one address. Validate reports the entries it cannot parse.
func (h HTTPConfig) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(h.TrustedProxies))
	for i, s := range h.TrustedProxies {
		p, err := parseProxy(s)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("http.trusted_proxies[%d]", i), err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("must be an IP address or CIDR prefix, got %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("must be an IP address or CIDR prefix, got %q", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func (c Config) validateAccess(p *problems) {
	t := c.TLS
	if t.Enabled() {
		if t.CertFile == "" {
			p.add("tls.cert_file", fmt.Errorf("required with tls.key_file"))
		}
		if t.KeyFile == "" {
			p.add("tls.key_file", fmt.Errorf("required with tls.cert_file"))
		}
	} else if t.ClientCAFile != "" {
		p.add("tls.client_ca_file", fmt.Errorf("needs tls.cert_file and tls.key_file"))
	}

	a := c.Access
	seen := map[string]bool{}
	for i, k := range a.APIKeys {
		at := fmt.Sprintf("access.api_keys[%d]", i)
		p.add(at+".caller", identity.CheckAPIKeyName(k.Caller))
		if b, err := hex.DecodeString(k.SHA256); err != nil || len(b) != 32 || k.SHA256 != strings.ToLower(k.SHA256) {
			p.add(at+".sha256", fmt.Errorf("must be 64 lower-case hex digits: the SHA-256 of the key, never the key"))
		} else if seen[k.SHA256] {
			p.add(at+".sha256", fmt.Errorf("the same key is configured twice"))
		}
		seen[k.SHA256] = true
	}
	if j := a.JWT; j != nil {
		p.add("access.jwt.issuer", identity.CheckIssuer(j.Issuer))
		if j.Audience == "" {
			p.add("access.jwt.audience", fmt.Errorf("required"))
		}
		if len(j.Algorithms) == 0 {
			p.add("access.jwt.algorithms", fmt.Errorf("required, e.g. [RS256, ES256]"))
		}
		for i, alg := range j.Algorithms {
			if up := strings.ToUpper(alg); up == "NONE" || strings.HasPrefix(up, "HS") {
				p.add(fmt.Sprintf("access.jwt.algorithms[%d]", i), fmt.Errorf("%q is not allowed: use an asymmetric algorithm", alg))
			}
		}
		switch {
		case (j.JWKSFile == "") == (j.JWKSURL == ""):
			p.add("access.jwt.jwks_file", fmt.Errorf("set exactly one of jwks_file and jwks_url"))
		case j.JWKSURL != "":
			// Keys fetched in the clear could be swapped by anyone on the path.
			u, err := url.Parse(j.JWKSURL)
			loopback := err == nil && isLoopbackHost(u.Hostname())
			switch {
			case err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && loopback):
				p.add("access.jwt.jwks_url", fmt.Errorf("must be an https URL (http only to loopback)"))
			case u.User != nil:
				// The URL is logged and shown by check-config; credentials
				// in it would leak there. JWKS endpoints are public anyway.
				p.add("access.jwt.jwks_url", fmt.Errorf("must not carry a user or password"))
			}
		}
		p.add("access.jwt.leeway", checkNonNegative(j.Leeway))
		p.add("access.jwt.max_lifetime", checkNonNegative(j.MaxLifetime)) // 0: the default
	}
	if a.MTLS && c.TLS.ClientCAFile == "" {
		p.add("access.mtls", fmt.Errorf("needs tls.client_ca_file to verify client certificates"))
	}
	p.add("access.reflection", checkOneOf(a.Reflection, "authenticated", "public", "off"))
	on := identity.Enabled{Certificates: a.MTLS}
	for _, k := range a.APIKeys {
		on.APIKeyCallers = append(on.APIKeyCallers, k.Caller)
	}
	if a.JWT != nil {
		on.JWTIssuer = a.JWT.Issuer
	}
	policyOf := map[string]int{}
	for i, pol := range a.Policies {
		at := fmt.Sprintf("access.policies[%d]", i)
		if caller, err := identity.CheckPolicyCaller(pol.Caller, on); err != nil {
			p.add(at+".caller", err)
		} else if j, dup := policyOf[caller]; dup {
			p.add(at+".caller", fmt.Errorf("access.policies[%d] is already for %q; merge the two", j, caller))
		} else {
			policyOf[caller] = i
		}
		if len(pol.Accounts) == 0 {
			p.add(at+".accounts", fmt.Errorf(`required: account names, or "*" for all`))
		}
		for j, name := range pol.Accounts {
			if name != "*" && !c.hasAccount(name) {
				// A typo here would leave the caller without the access
				// it was meant to have, or name an account added later.
				p.add(fmt.Sprintf("%s.accounts[%d]", at, j), fmt.Errorf("unknown account %q (configured: %s)", name, c.accountNames()))
			}
		}
		for j, perm := range pol.Permissions {
			if !permission.Permission(perm).Known() {
				p.add(fmt.Sprintf("%s.permissions[%d]", at, j), fmt.Errorf("unknown permission %q", perm))
			}
		}
	}
	if _, err := c.HTTP.TrustedProxyPrefixes(); err != nil {
		*p = append(*p, err)
	}
	if a.RateLimit.PerSecond < 0 || a.RateLimit.Burst < 0 {
		p.add("access.rate_limit", fmt.Errorf("per_second and burst must not be negative"))
	}
	if a.RateLimit.PerSecond > 0 && a.RateLimit.Burst == 0 {
		p.add("access.rate_limit.burst", fmt.Errorf("must be at least 1 when per_second is set"))
	}
}
