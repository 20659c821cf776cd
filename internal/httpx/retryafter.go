// Package httpx holds the HTTP details the gateway's upstream clients (auth/
// for the token endpoint, eeo/ for imports and reports) and its REST facade
// read or write the same way: Retry-After and the error-code alphabets we
// are willing to repeat in our own messages.
package httpx

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// MaxRetryAfter caps a Retry-After: a server asking for more than a day is
// broken, and the cap keeps a huge value from overflowing a Duration.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3) received at
// now: delay-seconds or an HTTP date. It returns 0 for an empty, malformed,
// negative or past value, so a caller treats it as "not said". Seconds with
// more digits than fit in an int64 are a very long wait, not a parse
// failure, and are capped like any other value at MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil { // only ErrRange is possible for a run of digits
			return MaxRetryAfter
		}
		return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}

// FormatRetryAfter is the Retry-After delay-seconds for d, rounded up so a
// client that waits exactly that long is not early.
func FormatRetryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}

// isDigits reports whether s is a non-empty run of ASCII digits: the
// delay-seconds grammar, which has no sign.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
