package httpx

// maxToken bounds an error code or field name we repeat: a longer one is
// not a code, and would let a server grow our messages.
const maxToken = 64

// IsErrorCode reports whether s is in the error-code alphabet we are willing
// to repeat in our own messages and metadata: [a-z_]{1,64}. It covers RFC
// 6749's OAuth error codes and EEO's; anything else (mixed case, spaces, a
// server echoing the request) is dropped rather than repeated.
func IsErrorCode(s string) bool {
	if len(s) == 0 || len(s) > maxToken {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// IsFieldName reports whether s is in the field-name alphabet we are
// willing to repeat: [A-Za-z0-9_.]{1,64}.
func IsFieldName(s string) bool {
	if len(s) == 0 || len(s) > maxToken {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '.' {
			return false
		}
	}
	return true
}
