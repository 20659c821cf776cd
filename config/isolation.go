package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// eeoClient identifies an EEO API client: its client_id at one EEO host.
// EEO scopes imports and reports to the client, and fetches them by id
// alone, so two accounts with the same client would see, cancel and
// download each other's objects.
type eeoClient struct {
	host, clientID string
}

// validateIsolation refuses accounts that share an EEO client: the same
// client_id at the same token_url host or base_url host (compared without
// case and default ports, so spelling a URL differently does not slip
// through). Each account must be its own EEO client; that is what makes
// "another account's object is NOT_FOUND" hold for every object, including
// ones the gateway did not create or no longer remembers.
func (c Config) validateIsolation(p *problems) {
	first := map[eeoClient]int{}
	for i, a := range c.Accounts {
		if strings.TrimSpace(a.ClientID) == "" {
			continue // reported as required
		}
		seen := map[int]bool{}
		for _, raw := range []string{a.TokenURL, a.BaseURL} {
			host := clientHost(raw)
			if host == "" {
				continue // reported by checkURL
			}
			k := eeoClient{host, a.ClientID}
			j, dup := first[k]
			if !dup {
				first[k] = i
				continue
			}
			if j == i || seen[j] {
				continue
			}
			seen[j] = true
			p.add(fmt.Sprintf("accounts[%d].client_id", i), fmt.Errorf(
				"accounts[%d] (%q) uses the same EEO client (client_id %q at %s): EEO cannot tell the two accounts' imports and reports apart, so a caller of one could reach the other's; give each account its own EEO client",
				j, c.Accounts[j].Name, a.ClientID, host))
		}
	}
}

// clientHost is the lower-case host:port a URL reaches, with the scheme's
// default port filled in; "" if it is not an absolute http(s) URL.
func clientHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	case u.Scheme == "http":
		port = "80"
	default:
		return ""
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port)
}
