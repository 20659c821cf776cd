package protojsonfast

import "unicode/utf8"

// appendString appends s as a JSON string when protojson would write it
// verbatim, and otherwise reports false: protojson escapes control
// characters, '"' and '\\' (with its own choice of escapes) and refuses
// invalid UTF-8 with an error, and neither is worth reproducing for values
// that a token response never carries.
func appendString(b []byte, s string) ([]byte, bool) {
	if !verbatim(s) {
		return b, false
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// verbatim reports whether protojson writes s between quotes unchanged:
// valid UTF-8 with no byte below 0x20, no '"' and no '\\'. (DEL and
// non-ASCII are not escaped by protojson, unlike encoding/json's HTML
// escaping.)
func verbatim(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < ' ', c == '"', c == '\\':
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	// Only multi-byte sequences can be invalid; checking them separately
	// keeps the common all-ASCII value to one pass.
	return ascii || utf8.ValidString(s)
}
