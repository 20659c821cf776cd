package server

import (
	"strings"
	"testing"
	"unicode/utf8"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
)

// A long account is clipped for its span without splitting a rune: an
// invalid UTF-8 attribute would make the OTLP exporter drop the batch.
func TestAccountOfClipsOnARuneBoundary(t *testing.T) {
	long := strings.Repeat("a", maxAttrAccount-1) + "é" + "tail"
	got, ok := accountOf(&eeov1.GetTokenRequest{Account: long})
	if !ok || !utf8.ValidString(got) || len(got) > maxAttrAccount || !strings.HasPrefix(long, got) {
		t.Fatalf("accountOf(%d-byte account) = %q, %v; want a valid UTF-8 prefix of at most %d bytes", len(long), got, ok, maxAttrAccount)
	}
	if got, _ := accountOf(&eeov1.GetTokenRequest{Account: "demo"}); got != "demo" {
		t.Errorf("accountOf(demo) = %q", got)
	}
	if _, ok := accountOf(&eeov1.GetTokenRequest{}); ok {
		t.Error("accountOf(no account) reported one")
	}
}
