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
		{"jwks url with password", func(c *config.Config) {
			c.Access.JWT = &config.JWTConfig{Issuer: "i", Audience: "a", Algorithms: []string{"ES256"}, JWKSURL: "https://u:hunter2@idp/jwks"}
		}, "access.jwt.jwks_url: must not carry a user or password"},
		{"mtls without CA", func(c *config.Config) { c.Access.MTLS = true }, "access.mtls: needs tls.client_ca_file"},
		{"unknown permission", func(c *config.Config) {
			c.Access.Policies = []config.PolicyConfig{{Caller: "x509:cn:a", Accounts: []string{"*"}, Permissions: []string{"tokens:all"}}}
		}, `access.policies[0].permissions[0]: unknown permission "tokens:all"`},
		{"policy without accounts", func(c *config.Config) {
			c.Access.Policies = []config.PolicyConfig{{Caller: "x509:cn:a", Permissions: []string{"token:get"}}}
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
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error echoes a password: %v", tc.name, err)
		}
	}
}

// A policy names its caller with the kind of identity; anything that could
// match more than one kind, or nobody at all, is refused at load.
func TestPolicyCallerIdentityForms(t *testing.T) {
	withAuth := func(c *config.Config) {
		c.Access.APIKeys = []config.APIKeyConfig{{Caller: "bob", SHA256: keyHash}}
		c.Access.JWT = &config.JWTConfig{Issuer: "https://idp.example.com/", Audience: "gw", Algorithms: []string{"ES256"}, JWKSFile: "/k"}
	}
	policy := func(caller string) func(*config.Config) {
		return func(c *config.Config) {
			withAuth(c)
			c.Access.Policies = []config.PolicyConfig{{Caller: caller, Accounts: []string{"*"}, Permissions: []string{"token:get"}}}
		}
	}
	for _, tc := range []struct {
		name, caller, want string
	}{
		{"bare name", "bob", `access.policies[0].caller: "bob" does not say which kind of identity it is; write apikey:bob`},
		{"API key nobody holds", "apikey:alice", `access.policies[0].caller: "apikey:alice": no API key is configured for caller "alice"`},
		{"another issuer", "jwt:https://evil.example#bob", `access.policies[0].caller: "jwt:https://evil.example#bob": issuer "https://evil.example" is not the configured JWT issuer`},
		{"JWT without subject", "jwt:https://idp.example.com/", `access.policies[0].caller: "jwt:https://idp.example.com/": a JWT identity is jwt:<issuer>#<subject>`},
		{"certificate without mTLS", "x509:cn:bob", `access.policies[0].caller: "x509:cn:bob" names a client certificate (Subject CN) but client certificates are not accepted`},
		{"SPIFFE without mTLS", "spiffe://example.org/bob", `access.policies[0].caller: "spiffe://example.org/bob" names a client certificate (SPIFFE ID)`},
	} {
		c := validConfig()
		policy(tc.caller)(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}

	for _, caller := range []string{"apikey:bob", "jwt:https://idp.example.com/#bob"} {
		c := validConfig()
		policy(caller)(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", caller, err)
		}
	}

	c := validConfig()
	withAuth(&c)
	c.Access.Policies = []config.PolicyConfig{
		{Caller: "apikey:bob", Accounts: []string{"*"}, Permissions: []string{"token:get"}},
		{Caller: "apikey:bob", Accounts: []string{"*"}, Permissions: []string{"token:refresh"}},
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `access.policies[1].caller: access.policies[0] is already for "apikey:bob"`) {
		t.Errorf("two policies for one caller: %v", err)
	}

	c = validConfig()
	withAuth(&c)
	c.Access.JWT.Issuer = "https://idp.example.com/#x"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "access.jwt.issuer: must not contain '#'") {
		t.Errorf("issuer with '#': %v", err)
	}
	c = validConfig()
	c.Access.APIKeys = []config.APIKeyConfig{{Caller: "jwt:bob", SHA256: keyHash}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "access.api_keys[0].caller: API key caller name \"jwt:bob\"") {
		t.Errorf("API key caller that looks like another kind: %v", err)
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
