package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
)

// Warnings reports what is valid but probably a mistake, each as a
// *FieldError: an account whose token_url or base_url is plain http to a
// host other than loopback, which sends the client secret and every access
// token across the network unencrypted. The sandbox and test set-ups use
// http on loopback, so that is not warned about.
func (c Config) Warnings() []error {
	var out []error
	for i, a := range c.Accounts {
		for _, f := range []struct{ name, url string }{{"token_url", a.TokenURL}, {"base_url", a.BaseURL}} {
			if u, err := url.Parse(f.url); err == nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
				out = append(out, fieldErr(fmt.Sprintf("accounts[%d].%s", i, f.name),
					errors.New("plain http to a host that is not loopback: client secrets and access tokens would cross the network unencrypted; use https")))
			}
		}
	}
	return out
}

// isLoopbackHost reports whether host (no port) is this machine.
func isLoopbackHost(host string) bool {
	return host == "localhost" || net.ParseIP(host).IsLoopback()
}
