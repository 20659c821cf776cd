package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// namePattern is what Account.Name must match, spelt out in error messages.
// checkName implements it without a regexp so the package has no globals.
const namePattern = "^[a-z][a-z0-9-]{0,62}$"

// Validate reports every problem with c, joined with errors.Join, each
// prefixed with the field it concerns (such as "accounts[1].token_url").
// Load calls it; call it yourself on a Config built in code. It expects
// defaults to be applied already: an empty log_level is an error here.
func (c Config) Validate() error {
	return errors.Join(c.validate(nil)...)
}

// validate is Validate for Load, which has already reported the accounts
// whose secret it could not read (unresolved, by index) and does not want
// them reported twice.
func (c Config) validate(unresolved map[int]bool) []error {
	var p problems
	p.add("grpc_addr", checkAddr(c.GRPCAddr))
	p.add("http_addr", checkAddr(c.HTTPAddr))
	if c.GRPCAddr == c.HTTPAddr && c.GRPCAddr != "" && !strings.HasSuffix(c.GRPCAddr, ":0") {
		p.add("http_addr", fmt.Errorf("must differ from grpc_addr, both are %q", c.HTTPAddr))
	}
	if c.AdminAddr != "" {
		p.add("admin_addr", checkAddr(c.AdminAddr))
		if !strings.HasSuffix(c.AdminAddr, ":0") && (c.AdminAddr == c.GRPCAddr || c.AdminAddr == c.HTTPAddr) {
			p.add("admin_addr", fmt.Errorf("must differ from grpc_addr and http_addr, got %q", c.AdminAddr))
		}
	}
	p.add("log_level", checkLogLevel(c.LogLevel))
	p.add("log_format", checkLogFormat(c.LogFormat))
	c.Log.AccessSampling.validate(&p)
	p.add("shutdown_timeout", checkPositive(c.ShutdownTimeout))
	p.add("shutdown_drain_delay", checkNonNegative(c.ShutdownDrainDelay))

	t := c.Token
	p.add("token.idle_timeout", checkPositive(t.IdleTimeout))
	p.add("token.idle_margin", checkNonNegative(t.IdleMargin))
	if t.IdleTimeout > 0 && t.IdleMargin >= t.IdleTimeout {
		// The cache would consider every token idle the moment it arrives.
		p.add("token.idle_margin", fmt.Errorf("must be less than token.idle_timeout (%v), got %v", t.IdleTimeout, t.IdleMargin))
	}
	p.add("token.expiry_margin", checkNonNegative(t.ExpiryMargin))
	// The cache reads a coarse clock; its margins must cover the resolution.
	for _, m := range []struct {
		field string
		d     Duration
	}{{"token.idle_margin", t.IdleMargin}, {"token.expiry_margin", t.ExpiryMargin}} {
		if m.d > 0 && m.d.Std() <= auth.DefaultClockResolution {
			p.add(m.field, fmt.Errorf("must exceed the token cache's clock resolution (%v), got %v", auth.DefaultClockResolution, m.d.Std()))
		}
	}
	p.add("token.max_lifetime", checkPositive(t.MaxLifetime))
	p.add("token.fetch_timeout", checkPositive(t.FetchTimeout))
	p.add("token.backoff_initial", checkPositive(t.BackoffInitial))
	p.add("token.backoff_max", checkPositive(t.BackoffMax))
	if t.BackoffInitial > 0 && t.BackoffInitial > t.BackoffMax {
		p.add("token.backoff_initial", fmt.Errorf("must not exceed token.backoff_max (%v), got %v", t.BackoffMax, t.BackoffInitial))
	}

	if c.Files.MaxUploadBytes <= 0 {
		p.add("files.max_upload_bytes", fmt.Errorf("must be positive, got %d", c.Files.MaxUploadBytes))
	}
	p.add("files.watch_interval", checkPositive(c.Files.WatchInterval))
	c.Upstream.validate(&p)

	p.add("http.body_read_timeout", checkPositive(c.HTTP.BodyReadTimeout))
	p.add("http.upload_idle_timeout", checkPositive(c.HTTP.UploadIdleTimeout))
	c.validateAccess(&p)
	c.Redis.validate(&p)
	c.Access.validateBounds(&p)
	c.Limits.validate(&p)

	if len(c.Accounts) == 0 {
		p.add("accounts", errors.New("at least one account is required"))
	}
	firstNamed := make(map[string]int, len(c.Accounts))
	for i, a := range c.Accounts {
		at := fmt.Sprintf("accounts[%d]", i)
		if err := checkName(a.Name); err != nil {
			p.add(at+".name", err)
		} else if j, dup := firstNamed[a.Name]; dup {
			p.add(at+".name", fmt.Errorf("%q is already the name of accounts[%d]", a.Name, j))
		} else {
			firstNamed[a.Name] = i
		}
		p.add(at+".token_url", checkURL(a.TokenURL))
		p.add(at+".base_url", checkURL(a.BaseURL))
		if strings.TrimSpace(a.ClientID) == "" {
			p.add(at+".client_id", errors.New("required"))
		}
		p.add(at+".auth_style", checkOneOf(a.AuthStyle, AuthStyleBasic, AuthStyleForm))
		for j, s := range a.Scopes {
			p.add(fmt.Sprintf("%s.scopes[%d]", at, j), checkScope(s))
		}
		switch {
		case a.ClientSecretEnv != "" && a.ClientSecretFile != "":
			p.add(at+".client_secret_file", errors.New("set only one of client_secret_env and client_secret_file"))
		case a.ClientSecretEnv == "" && a.ClientSecretFile == "" && a.ClientSecret.IsZero():
			p.add(at+".client_secret_env", errors.New("one of client_secret_env or client_secret_file is required"))
		case a.ClientSecret.IsZero() && !unresolved[i]:
			// A Config built in code that names a source but was never
			// through Load.
			p.add(at+".client_secret", errors.New("empty: Load reads it from client_secret_env or client_secret_file"))
		}
	}
	c.validateIsolation(&p)
	c.validateUpstreamTransport(&p)
	return p
}

// problems collects validation errors in field order.
type problems []error

// add records err, if any, against field.
func (p *problems) add(field string, err error) {
	if err != nil {
		*p = append(*p, fieldErr(field, err))
	}
}

// FieldError is a problem with one field of the configuration. Every error
// Load and Validate return that concerns the file's content is, or wraps,
// a *FieldError, so a caller can find where in the file it is (Check does).
type FieldError struct {
	// Path is the field as the file spells it: "accounts[1].token_url",
	// "access.jwt.jwks_url".
	Path string
	// Err is the problem, without the path.
	Err error
}

// Error returns "path: problem".
func (e *FieldError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *FieldError) Unwrap() error { return e.Err }

// fieldErr prefixes err with the field it concerns; an empty field is the
// document as a whole. The rules below return bare messages ("required") so
// that the environment and the file can each put their own name in front.
func fieldErr(field string, err error) error {
	if field == "" {
		return err
	}
	return &FieldError{Path: field, Err: err}
}

// fieldErrorf is fieldErr with a formatted message.
func fieldErrorf(field, format string, args ...any) error {
	return fieldErr(field, fmt.Errorf(format, args...))
}

// checkAddr accepts a listen address: host:port with a numeric port, the
// host optionally empty (all interfaces), port 0 meaning any free port.
func checkAddr(s string) error {
	if s == "" {
		return errors.New("required")
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("must be host:port: %w", err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return fmt.Errorf("must be host:port with a port number from 0 to 65535, got %q", s)
	}
	return nil
}

// checkOneOf accepts exactly one of allowed; case matters, as it does for
// field names.
func checkOneOf(s string, allowed ...string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return fmt.Errorf("must be one of %s; got %q", strings.Join(allowed, ", "), s)
}

// checkLogLevel accepts the slog level names, lower case.
func checkLogLevel(s string) error { return checkOneOf(s, "debug", "info", "warn", "error") }

// checkLogFormat accepts the two slog handlers the service can use.
func checkLogFormat(s string) error { return checkOneOf(s, "json", "text") }

// checkPositive rejects durations for which zero or less makes no sense: a
// timeout that has always passed, a backoff that never pauses.
func checkPositive(d Duration) error {
	if d <= 0 {
		return fmt.Errorf("must be positive, got %v", d)
	}
	return nil
}

// checkNonNegative rejects negative margins and delays, where zero is a
// meaningful choice.
func checkNonNegative(d Duration) error {
	if d < 0 {
		return fmt.Errorf("must not be negative, got %v", d)
	}
	return nil
}

// checkName enforces namePattern: the name is a path segment in the REST
// API, so it is kept to characters that need no escaping.
func checkName(s string) error {
	if s == "" {
		return errors.New("required")
	}
	ok := len(s) <= 63 && 'a' <= s[0] && s[0] <= 'z'
	for i := 1; ok && i < len(s); i++ {
		c := s[i]
		ok = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("must match %s (it appears in URL paths), got %q", namePattern, s)
	}
	return nil
}

// checkURL accepts an absolute http or https URL without credentials in it.
// It never echoes a password: url.Parse's own error quotes the whole URL, so
// only its cause is kept, and a parsed URL is shown Redacted.
func checkURL(s string) error {
	const want = "must be an absolute http or https URL"
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("%s: %w", want, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s, got %q", want, u.Redacted())
	}
	if u.User != nil {
		// Credentials in a URL end up in logs; secrets have their own fields.
		return fmt.Errorf("must not contain user info (user:password@), got %q", u.Redacted())
	}
	return nil
}

// checkScope accepts an RFC 6749 scope-token: one or more printable ASCII
// characters other than space, double quote and backslash. Scopes are sent
// space-separated, so a space inside one would silently become two.
func checkScope(s string) error {
	ok := s != ""
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c == 0x21 || 0x23 <= c && c <= 0x5B || 0x5D <= c && c <= 0x7E
	}
	if !ok {
		return fmt.Errorf("must be a non-empty OAuth scope: printable ASCII without spaces, quotes or backslashes; got %q", s)
	}
	return nil
}
