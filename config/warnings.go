package config

import (
	"fmt"
	"net"
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
	return out
}

// isLoopbackHost reports whether host (no port) is this machine.
func isLoopbackHost(host string) bool {
	return host == "localhost" || net.ParseIP(host).IsLoopback()
}
