package access_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/access"
)

// Matching a presented API key is on every API-key call's path: it must not
// allocate, whatever the key's length (a 64-byte key is common, e.g. 32
// random bytes in hex), and it still tells the right key from a near miss.
func TestAPIKeyMatchDoesNotAllocate(t *testing.T) {
	hash := func(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }
	short, long := "short-key", strings.Repeat("0123456789abcdef", 4)
	match, err := access.MatchAPIKey([]access.APIKey{
		{Caller: "short", SHA256: hash(short)},
		{Caller: "long", SHA256: hash(long)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ token, want string }{
		{short, "apikey:short"},
		{long, "apikey:long"},
		{long[:63] + "0", ""},
		{long + "0", ""},
		{"", ""},
	} {
		got, ok := match(c.token)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("match(%d-byte token) = %q, %v; want %q", len(c.token), got, ok, c.want)
		}
		if n := testing.AllocsPerRun(100, func() { match(c.token) }); n != 0 {
			t.Errorf("match(%d-byte token): %v allocations, want 0", len(c.token), n)
		}
	}
}
