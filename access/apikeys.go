package access

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"unsafe"

	"github.com/eeo-gateway/eeo-gateway/access/identity"
)

// APIKey is a static bearer credential for one caller. Only the key's hash is
// configured, so a leaked config file does not leak the keys.
type APIKey struct {
	// Caller names whoever holds the key: letters, digits, '.', '_', '-'
	// or '@'. The key proves the identity "apikey:<Caller>", which is what
	// policies name.
	Caller string
	// SHA256 is the lower-case hex SHA-256 of the key, e.g. the output of
	// `printf %s "$KEY" | sha256sum`.
	SHA256 string
}

// apiKey is a validated APIKey with its hash decoded.
type apiKey struct {
	identity string // apikey:<Caller>
	hash     [sha256.Size]byte
}

// apiKeys matches presented bearer tokens against the configured hashes.
type apiKeys struct {
	keys []apiKey
}

// newAPIKeys validates the configured keys: every hash is 64 hex digits and
// unique (two callers sharing a key would make the caller ambiguous).
func newAPIKeys(cfg []APIKey) (*apiKeys, error) {
	ks := &apiKeys{keys: make([]apiKey, 0, len(cfg))}
	seen := make(map[[sha256.Size]byte]int, len(cfg))
	for i, k := range cfg {
		field := fmt.Sprintf("APIKeys[%d]", i)
		if err := identity.CheckAPIKeyName(k.Caller); err != nil {
			return nil, fmt.Errorf("%s.Caller: %w", field, err)
		}
		raw, err := hex.DecodeString(k.SHA256)
		if err != nil || len(raw) != sha256.Size {
			// The value is a hash, not a secret, but it is still not echoed:
			// a key pasted here by mistake must not end up in a log.
			return nil, fmt.Errorf("%s.SHA256: want %d hex digits (the SHA-256 of the key, not the key itself)", field, 2*sha256.Size)
		}
		e := apiKey{identity: identity.FromAPIKey(k.Caller), hash: [sha256.Size]byte(raw)}
		if j, dup := seen[e.hash]; dup {
			return nil, fmt.Errorf("%s.SHA256: same key hash as APIKeys[%d]", field, j)
		}
		seen[e.hash] = i
		ks.keys = append(ks.keys, e)
	}
	return ks, nil
}

// match returns the identity (apikey:<caller>) whose key is token. Every configured hash is
// compared in constant time, without stopping at a match, so the time taken
// says nothing about which key, or how much of one, matched.
func (ks *apiKeys) match(token string) (string, bool) {
	sum := sha256.Sum256(stringBytes(token))
	found := -1
	for i := range ks.keys {
		if subtle.ConstantTimeCompare(sum[:], ks.keys[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return ks.keys[found].identity, true
}

// stringBytes is s's bytes without a copy. []byte(s) copies onto the heap
// for strings longer than 32 bytes, once per call carrying such a key;
// sha256.Sum256 only reads its input and keeps no reference to it, so
// sharing the string's memory is sound here and must stay read-only.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
