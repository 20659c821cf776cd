package auth

import (
	"fmt"
	"log/slog"
)

// redacted is what a Secret prints as, whatever the verb or logger.
const redacted = "[REDACTED]"

// Secret holds a credential: an EEO client secret or access token. It prints,
// logs and marshals as "[REDACTED]", so a Secret that slips into a log line,
// an error or a panic does not leak; Reveal is the one way to the value.
//
// The value sits behind a pointer so that even fmt's bad-verb path (%p),
// which bypasses Format, shows an address rather than the credential, and
// so that no conversion turns a Secret back into a string by accident.
// Secrets are immutable; copies share the value.
type Secret struct {
	value *string
}

// NewSecret wraps a credential.
func NewSecret(s string) Secret { return Secret{value: &s} }

// Reveal returns the credential itself. Call it only where the value leaves
// the process on purpose: an HTTP request to EEO or a GetToken response.
func (s Secret) Reveal() string {
	if s.value == nil {
		return ""
	}
	return *s.value
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

// Equal reports whether two secrets hold the same credential.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer, which %#v uses.
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb, %d and %x included,
// prints the redaction: fmt would otherwise show the raw value for a verb
// that does not fit a string.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", redacted)
		return
	}
	fmt.Fprint(f, redacted)
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler, which encoding/json and most
// encoders use.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
