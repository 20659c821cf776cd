package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"
)

// validateUpstreamTransport refuses a plain http token_url or base_url to a
// host other than loopback unless the account sets allow_insecure_upstream:
// the client secret goes to the token endpoint and access tokens to both,
// so plain http off this machine hands them to anyone on the path.
func (c Config) validateUpstreamTransport(p *problems) {
	for i, a := range c.Accounts {
		if a.AllowInsecureUpstream {
			continue // warned about at start (Warnings)
		}
		for _, f := range []struct{ name, url string }{{"token_url", a.TokenURL}, {"base_url", a.BaseURL}} {
			if plainHTTPOffLoopback(f.url) {
				p.add(fmt.Sprintf("accounts[%d].%s", i, f.name), fmt.Errorf(
					"plain http to a host that is not loopback would send the client secret and access tokens unencrypted; use https, or set accounts[%d].allow_insecure_upstream: true if something else encrypts the path", i))
			}
		}
	}
}

// plainHTTPOffLoopback reports whether raw is an http URL to a host other
// than this machine.
func plainHTTPOffLoopback(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "http" && u.Host != "" && !isLoopbackHost(u.Hostname())
}

// hasAccount reports whether an account is named name.
func (c Config) hasAccount(name string) bool {
	return slices.ContainsFunc(c.Accounts, func(a Account) bool { return a.Name == name })
}

// accountNames lists the configured account names for error messages.
func (c Config) accountNames() string {
	names := make([]string, 0, len(c.Accounts))
	for _, a := range c.Accounts {
		names = append(names, a.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// FilePermissionWarnings reports files whose permissions let other users
// of the machine undermine the gateway, each as a *FieldError: a client
// secret file or the TLS key readable by group or others (they could read
// the secret), and a JWKS file writable by group or others (they could add
// a key and mint any caller). stat is os.Stat in production. A file that
// cannot be stat'ed is left to the code that reads it to report.
func (c Config) FilePermissionWarnings(stat func(string) (fs.FileInfo, error)) []error {
	type file struct {
		field, path string
		bad         fs.FileMode
		what        string
	}
	const readable, writable = 0o044, 0o022
	var files []file
	for i, a := range c.Accounts {
		if a.ClientSecretFile != "" {
			files = append(files, file{fmt.Sprintf("accounts[%d].client_secret_file", i), a.ClientSecretFile, readable, "readable"})
		}
	}
	if c.TLS.KeyFile != "" {
		files = append(files, file{"tls.key_file", c.TLS.KeyFile, readable, "readable"})
	}
	if j := c.Access.JWT; j != nil && j.JWKSFile != "" {
		files = append(files, file{"access.jwt.jwks_file", j.JWKSFile, writable, "writable"})
	}
	var out []error
	for _, f := range files {
		fi, err := stat(f.path)
		if err != nil {
			continue
		}
		if mode := fi.Mode().Perm(); mode&f.bad != 0 {
			out = append(out, fieldErr(f.field, fmt.Errorf("%s is %s by group or others (mode %#o); chmod go-rw it (Kubernetes: defaultMode 0400)", f.path, f.what, mode)))
		}
	}
	return out
}

// errInsecureUpstreamAllowed is the warning for an account that uses
// allow_insecure_upstream.
var errInsecureUpstreamAllowed = errors.New("plain http to a host that is not loopback, allowed by allow_insecure_upstream: client secrets and access tokens cross the network unencrypted unless something else encrypts the path")
