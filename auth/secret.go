package auth

import "log/slog"

// redacted is what a Secret prints as, whatever the verb or logger.
const redacted = "[REDACTED]"

// Secret holds a credential: an EEO client secret or access token. It prints,
// logs and marshals as "[REDACTED]", so a Secret that slips into a log line,
// an error or a panic does not leak; Reveal is the one way to the value.
type Secret string

// Reveal returns the credential itself. Call it only where the value leaves
// the process on purpose: an HTTP request to EEO or a GetToken response.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer, which %#v uses.
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler, which encoding/json and most
// encoders use.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
