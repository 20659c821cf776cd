package config_test

import (
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/config"
)

const keyHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestAccessValidationNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*config.Config)
		want   string
	}{
		{"key not hashed", func(c *config.Config) {
			c.Access.APIKeys = []config.APIKeyConfig{{Caller: "a", SHA256: "my-plain-key"}}
		}, "access.api_keys[0].sha256: must be 64 lower-case hex digits"},
		{"key without caller", func(c *config.Config) {
			c.Access.APIKeys = []config.APIKeyConfig{{SHA256: keyHash}}
		}, "access.api_keys[0].caller: required"},
		{"same key twice", func(c *config.Config) {
			c.Access.APIKeys = []config.APIKeyConfig{{Caller: "a", SHA256: keyHash}, {Caller: "b", SHA256: keyHash}}
		}, "access.api_keys[1].sha256: the same key is configured twice"},
		{"jwt alg none", func(c *config.Config) {
			c.Access.JWT = &config.JWTConfig{Issuer: "i", Audience: "a", Algorithms: []string{"none"}, JWKSFile: "/k"}
		}, `access.jwt.algorithms[0]: "none" is not allowed`},
		{"jwt hmac", func(c *config.Config) {
			c.Access.JWT = &config.JWTConfig{Issuer: "i", Audience: "a", Algorithms: []string{"HS256"}, JWKSFile: "/k"}
		}, `access.jwt.algorithms[0]: "HS256" is not allowed`},
		{"jwt keys twice", func(c *config.Config) {
			c.Access.JWT = &config.JWTConfig{Issuer: "i", Audience: "a", Algorithms: []string{"ES256"}, JWKSFile: "/k", JWKSURL: "https://idp/jwks"}
		}, "access.jwt.jwks_file: set exactly one"},
		{"mtls without CA", func(c *config.Config) { c.Access.MTLS = true }, "access.mtls: needs tls.client_ca_file"},
		{"unknown permission", func(c *config.Config) {
			c.Access.Policies = []config.PolicyConfig{{Caller: "a", Accounts: []string{"*"}, Permissions: []string{"tokens:all"}}}
		}, `access.policies[0].permissions[0]: unknown permission "tokens:all"`},
		{"policy without accounts", func(c *config.Config) {
			c.Access.Policies = []config.PolicyConfig{{Caller: "a", Permissions: []string{"token:get"}}}
		}, "access.policies[0].accounts: required"},
		{"reflection", func(c *config.Config) { c.Access.Reflection = "sometimes" }, "access.reflection"},
		{"rate without burst", func(c *config.Config) { c.Access.RateLimit.PerSecond = 5 }, "access.rate_limit.burst"},
		{"tls half", func(c *config.Config) { c.TLS.CertFile = "/c" }, "tls.key_file: required"},
		{"client CA without TLS", func(c *config.Config) { c.TLS.ClientCAFile = "/ca" }, "tls.client_ca_file: needs tls.cert_file"},
	} {
		c := validConfig()
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestAccessConfigured(t *testing.T) {
	c := validConfig()
	if c.Access.Configured() {
		t.Fatal("default config claims caller authentication")
	}
	c.Access.APIKeys = []config.APIKeyConfig{{Caller: "a", SHA256: keyHash}}
	if !c.Access.Configured() || c.Validate() != nil {
		t.Fatalf("API keys: configured %v, validate %v", c.Access.Configured(), c.Validate())
	}
}
