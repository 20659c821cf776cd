package eeo

import (
	"encoding/hex"
	"mime"
	"strings"
)

// isHeaderToken reports whether s can travel as a header value unchanged:
// at most maxLen printable ASCII characters, without leading or trailing
// space (which receivers trim).
func isHeaderToken(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := range len(s) {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// hexSHA256 returns v in lower case if it is a hex SHA-256, else "": the
// X-Content-SHA256 header's form, which an upload sends and a download
// receives.
func hexSHA256(v string) string {
	if b, err := hex.DecodeString(v); err != nil || len(b) != 32 {
		return ""
	}
	return strings.ToLower(v)
}

// attachmentName returns the file name a Content-Disposition suggests,
// reduced to its last path element so that it cannot name a directory, or
// "" when there is none or it is unusable.
func attachmentName(disposition string) string {
	if disposition == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(disposition)
	if err != nil {
		return ""
	}
	name := params["filename"] // ParseMediaType has already decoded filename*
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "." || name == ".." || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return ""
	}
	return name
}
