package protojsonfast

import (
	"bytes"
	"strconv"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// wellKnown names the well-known types whose special JSON mapping this
// package reproduces.
type wellKnown uint8

const (
	notWellKnown wellKnown = iota
	timestamp              // google.protobuf.Timestamp: an RFC 3339 string
	duration               // google.protobuf.Duration: seconds with an "s"
)

// The limits protojson enforces before it writes a Timestamp or Duration;
// outside them it fails, so the encoder declines.
const (
	minTimestampSeconds  = -62135596800 // 0001-01-01T00:00:00Z
	maxTimestampSeconds  = 253402300799 // 9999-12-31T23:59:59Z
	maxNanos             = 999999999
	maxSecondsInDuration = 315576000000 // 10,000 years
)

// Both types number their fields the same way.
const (
	secondsNumber protoreflect.FieldNumber = 1
	nanosNumber   protoreflect.FieldNumber = 2
)

// wellKnownOf recognises Timestamp and Duration by name, as protojson does.
func wellKnownOf(name protoreflect.FullName) wellKnown {
	switch name {
	case "google.protobuf.Timestamp":
		return timestamp
	case "google.protobuf.Duration":
		return duration
	}
	return notWellKnown
}

// buildWellKnown compiles a Timestamp or Duration, checking that its
// descriptor has the fields protojson reads.
func buildWellKnown(md protoreflect.MessageDescriptor, wk wellKnown) *plan {
	secs, nanos := md.Fields().ByNumber(secondsNumber), md.Fields().ByNumber(nanosNumber)
	if secs == nil || nanos == nil || secs.Kind() != protoreflect.Int64Kind || nanos.Kind() != protoreflect.Int32Kind ||
		secs.Cardinality() == protoreflect.Repeated || nanos.Cardinality() == protoreflect.Repeated {
		return nil
	}
	return &plan{wellKnown: wk, seconds: secs, nanos: nanos}
}

// timestampLayout is protojson's: nine fractional digits, trimmed after.
const timestampLayout = "2006-01-02T15:04:05.000000000"

// appendTimestamp writes secs and nanos as protojson does: quoted RFC 3339
// in UTC with 0, 3, 6 or 9 fractional digits and a "Z". It formats into b
// rather than through a string, which is the allocation saved.
func appendTimestamp(b []byte, secs, nanos int64) ([]byte, bool) {
	if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos > maxNanos {
		return b, false
	}
	b = append(b, '"')
	b = time.Unix(secs, nanos).UTC().AppendFormat(b, timestampLayout)
	b = trimFraction(b)
	return append(b, 'Z', '"'), true
}

// appendDuration writes secs and nanos as protojson does: quoted, signed
// seconds with 0, 3, 6 or 9 fractional digits and an "s".
func appendDuration(b []byte, secs, nanos int64) ([]byte, bool) {
	if secs < -maxSecondsInDuration || secs > maxSecondsInDuration || nanos < -maxNanos || nanos > maxNanos ||
		(secs > 0 && nanos < 0) || (secs < 0 && nanos > 0) {
		return b, false
	}
	b = append(b, '"')
	if secs < 0 || nanos < 0 {
		b = append(b, '-')
		secs, nanos = -secs, -nanos
	}
	b = strconv.AppendInt(b, secs, 10)
	b = append(b, '.')
	b = appendNineDigits(b, nanos)
	b = trimFraction(b)
	return append(b, 's', '"'), true
}

// appendNineDigits appends n, in [0, 999999999], zero-padded to nine
// digits: fmt's %09d without fmt.
func appendNineDigits(b []byte, n int64) []byte {
	var d [9]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:]...)
}

// trimFraction shortens a nine-digit fraction at the end of b to 6, 3 or no
// digits, with protojson's three TrimSuffix calls.
func trimFraction(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("000"))
	b = bytes.TrimSuffix(b, []byte("000"))
	return bytes.TrimSuffix(b, []byte(".000"))
}
