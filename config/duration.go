package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Duration is a time.Duration that unmarshals from a Go duration string
// ("3599s", "250ms") or a JSON number of seconds, and marshals as a string.
//
// Both forms exist because EEO documents its timeouts in seconds ("3599")
// while Go users write "1h"; marshalling as a string keeps a dumped config
// readable and reloadable.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration, so %v of a Config shows "15s" rather
// than a count of nanoseconds.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON implements json.Marshaler: d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON implements json.Unmarshaler. It accepts a string holding a
// Go duration or a number of seconds, or a bare number of seconds. null
// leaves d unchanged, as encoding/json does for other types.
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := parseDuration(s)
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || ('0' <= b[0] && b[0] <= '9')) {
		v, err := seconds(string(b))
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
	return fmt.Errorf("invalid duration %s: want a string like \"30s\" or a number of seconds", b)
}

// parseDuration reads a Go duration ("1m30s") or a plain number of seconds
// ("90", "0.25"). Environment variables go through it too, so both places
// accept the same spellings.
func parseDuration(s string) (Duration, error) {
	if v, err := time.ParseDuration(s); err == nil {
		return Duration(v), nil
	}
	if v, err := seconds(s); err == nil {
		return v, nil
	}
	return 0, fmt.Errorf("invalid duration %q: want a Go duration like \"30s\" or a number of seconds", s)
}

// seconds converts a decimal number of seconds to a Duration, rejecting
// what strconv accepts but a config should not (Inf, NaN, hex floats) and
// anything beyond time.Duration's ~292 years.
func seconds(s string) (Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || !isDecimal(s) {
		return 0, fmt.Errorf("invalid duration %q: want a Go duration like \"30s\" or a number of seconds", s)
	}
	ns := math.Round(f * float64(time.Second))
	if ns >= math.MaxInt64 || ns < math.MinInt64 { // float64(MaxInt64) rounds up to 2^63
		return 0, fmt.Errorf("invalid duration %q: out of range", s)
	}
	return Duration(ns), nil
}

// isDecimal reports whether s is made of the characters of a decimal number
// with optional exponent, ruling out "Inf", "NaN", "0x1p4" and "1_000".
func isDecimal(s string) bool {
	for _, r := range s {
		switch {
		case '0' <= r && r <= '9', r == '.', r == '-', r == '+', r == 'e', r == 'E':
		default:
			return false
		}
	}
	return s != ""
}
