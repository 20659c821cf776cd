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

// Word-at-a-time constants: every byte 0x01, and every byte 0x80.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// verbatim reports whether protojson writes s between quotes unchanged:
// valid UTF-8 with no byte below 0x20, no '"' and no '\\'. (DEL and
// non-ASCII are not escaped by protojson, unlike encoding/json's HTML
// escaping.) An access token is a hundred-odd ASCII bytes, so the common
// case is checked eight bytes at a time.
func verbatim(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte below 0x20, equal to '"' or '\\', or at or above 0x80
		// sets its high bit in one of these terms (the classic "has less
		// than" and "has zero byte" tests); any hit sends the word to the
		// byte loop, which decides.
		q, bs := w^('"'*ones), w^('\\'*ones)
		if (w-' '*ones)&^w&highs|(q-ones)&^q&highs|(bs-ones)&^bs&highs|w&highs != 0 {
			break
		}
	}
	ascii := true
	for ; i < len(s); i++ {
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
