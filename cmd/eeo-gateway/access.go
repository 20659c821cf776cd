package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"

	"github.com/eeo-gateway/eeo-gateway/access"
	"github.com/eeo-gateway/eeo-gateway/access/identity"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/internal/permission"
)

// devCaller is the one API key caller of `serve --dev`, allowed
// everything; policies and audit events see it as "apikey:dev".
const devCaller = "dev"

// devAPIKeyEnv names the variable that fixes dev mode's API key, so scripts
// can use a known one; otherwise a new key is made at each start.
const devAPIKeyEnv = "EEO_GATEWAY_DEV_API_KEY"

// errNoCallerAuth is the refusal to serve production traffic to anyone who
// can reach the port.
var errNoCallerAuth = errors.New("no caller authentication configured: add access.api_keys, access.jwt or access.mtls " +
	"to the config (the gateway hands out live EEO credentials), or pass --insecure-allow-unauthenticated " +
	"if something in front of it authenticates callers")

// errInsecureWithRules refuses to ignore access rules silently: with
// --insecure-allow-unauthenticated nobody is authenticated, so no policy
// could apply.
var errInsecureWithRules = errors.New("--insecure-allow-unauthenticated turns caller authentication and every policy off, " +
	"but the config has access rules (access.api_keys, access.jwt, access.mtls or access.policies) that would be ignored: " +
	"drop the flag to enforce them, or remove them if something in front of the gateway authenticates callers")

// devAccess is dev mode's access: one API key for caller "apikey:dev" with every
// permission on every account, and public reflection so grpcurl list and
// describe work without it.
func devAccess(getenv func(string) string) (key string, cfg access.Config) {
	key = getenv(devAPIKeyEnv)
	if key == "" {
		key = "dev-" + rand.Text()
	}
	sum := sha256.Sum256([]byte(key))
	return key, access.Config{
		APIKeys:    []access.APIKey{{Caller: devCaller, SHA256: hex.EncodeToString(sum[:])}},
		Policies:   []access.Policy{{Caller: identity.FromAPIKey(devCaller), Accounts: []string{access.AllAccounts}, Permissions: permission.All()}},
		Reflection: access.ReflectionPublic,
	}
}

// accessFromConfig turns the access section into the guard's config.
func accessFromConfig(c config.AccessConfig, insecure bool, logger *slog.Logger) (access.Config, error) {
	if !c.Configured() && !insecure {
		return access.Config{}, errNoCallerAuth
	}
	if insecure && (c.Configured() || len(c.Policies) > 0) {
		return access.Config{}, errInsecureWithRules
	}
	out := access.Config{
		MTLS:                            c.MTLS,
		RateLimit:                       access.RateLimit{PerSecond: c.RateLimit.PerSecond, Burst: c.RateLimit.Burst},
		MaxConcurrentTransfersPerCaller: c.MaxConcurrentTransfersPerCaller,
		Unauthenticated: access.Unauthenticated{PerSecond: c.Unauthenticated.PerSecond, Burst: c.Unauthenticated.Burst,
			AuditBurst: c.Unauthenticated.AuditBurst, AuditInterval: c.Unauthenticated.AuditInterval.Std()},
		AllowUnauthenticated: insecure,
		Audit:                logger.With("component", "audit"),
		AuditTokenCacheHits:  c.AuditTokenCacheHits,
	}
	switch c.Reflection {
	case "public":
		out.Reflection = access.ReflectionPublic
	case "off":
		out.Reflection = access.ReflectionOff
	}
	for _, k := range c.APIKeys {
		out.APIKeys = append(out.APIKeys, access.APIKey{Caller: k.Caller, SHA256: k.SHA256})
	}
	if j := c.JWT; j != nil {
		out.JWT = &access.JWTConfig{Issuer: j.Issuer, Audience: j.Audience, Algorithms: j.Algorithms,
			JWKSFile: j.JWKSFile, JWKSURL: j.JWKSURL, CallerClaim: j.CallerClaim, Leeway: j.Leeway.Std(),
			MaxLifetime: j.MaxLifetime.Std()}
	}
	for _, p := range c.Policies {
		pol := access.Policy{Caller: p.Caller, Accounts: p.Accounts}
		for _, perm := range p.Permissions {
			pol.Permissions = append(pol.Permissions, access.Permission(perm))
		}
		out.Policies = append(out.Policies, pol)
	}
	if insecure {
		logger.Warn("INSECURE: --insecure-allow-unauthenticated: every caller that reaches the gateway can get live EEO tokens and act on every account")
	}
	return out, nil
}
