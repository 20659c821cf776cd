package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
)

// Warnings reports what is valid but risky, each as a *FieldError: an
// account whose token_url or base_url is plain http to a host other than
// loopback, which validation refuses unless allow_insecure_upstream is set.
// The sandbox and test set-ups use http on loopback, so that is not warned
// about.
func (c Config) Warnings() []error {
	var out []error
	for i, a := range c.Accounts {
		for _, f := range []struct{ name, url string }{{"token_url", a.TokenURL}, {"base_url", a.BaseURL}} {
			if a.AllowInsecureUpstream && plainHTTPOffLoopback(f.url) {
				out = append(out, fieldErr(fmt.Sprintf("accounts[%d].%s", i, f.name), errInsecureUpstreamAllowed))
			}
		}
	}
	if r := c.Redis; r != nil {
		if !r.UsesTLS() && !redisOnLoopback(*r) {
			out = append(out, fieldErr("redis", errRedisPlaintext))
		}
	}
	return out
}

// errRedisPlaintext warns about the redis section.
var (
	errRedisPlaintext = errors.New("plaintext Redis off loopback: the password and the (encrypted) tokens cross the network in clear; set redis.tls.enabled or use a rediss:// URL")
)

// redisOnLoopback reports whether r's server is on this machine.
func redisOnLoopback(r RedisConfig) bool {
	host := r.Addr
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil {
			return false
		}
		host = u.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return isLoopbackHost(host)
}

// isLoopbackHost reports whether host (no port) is this machine.
func isLoopbackHost(host string) bool {
	return host == "localhost" || net.ParseIP(host).IsLoopback()
}
