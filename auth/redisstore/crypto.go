package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// KeySize is the length of the encryption key: AES-256.
const KeySize = 32

// ErrUndecryptable is returned by Load for a stored token this store cannot
// read: encrypted under another key (a replica with a different
// redis.encryption_key), for another account, or altered. The caller
// treats it as "no shared token" (it wraps auth.ErrSharedUnreadable).
var ErrUndecryptable = fmt.Errorf("redisstore: stored token cannot be decrypted with this key: %w", auth.ErrSharedUnreadable)

// aadVersion starts the GCM additional data; a change of the record's
// format changes it, so old records fail to open instead of misparsing.
const aadVersion = "eeo-gateway/redis-token/v1"

// sealer encrypts token records with one key.
type sealer struct {
	aead  cipher.AEAD
	keyID string
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("redisstore: encryption key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	// Domain-separated, so the identifier is no hash an attacker could
	// find elsewhere; 4 bytes tell keys apart, not secure them.
	sum := sha256.Sum256(append([]byte("eeo-gateway redis key id\x00"), key...))
	return &sealer{aead: aead, keyID: hex.EncodeToString(sum[:4])}, nil
}

// record is the encrypted part of a stored token.
type record struct {
	AccessToken string `json:"t"`
	TokenType   string `json:"tt"`
	IssuedAt    int64  `json:"ia"` // Unix nanoseconds
	ExpiresAt   int64  `json:"ea"` // Unix nanoseconds
}

// additionalData binds a ciphertext to its account and key.
func (s *sealer) additionalData(account string) []byte {
	return []byte(aadVersion + "\x00" + account + "\x00" + s.keyID)
}

// seal returns nonce || ciphertext of r for account.
func (s *sealer) seal(account string, r record) ([]byte, error) {
	plain, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	// crypto/rand.Read never fails since Go 1.24 (it crashes instead).
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, s.additionalData(account)), nil
}

// open reverses seal; any mismatch is ErrUndecryptable.
func (s *sealer) open(account, keyID string, sealed []byte) (record, error) {
	var r record
	n := s.aead.NonceSize()
	if keyID != s.keyID || len(sealed) < n+s.aead.Overhead() {
		return r, ErrUndecryptable
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], s.additionalData(account))
	if err != nil {
		return r, ErrUndecryptable
	}
	if err := json.Unmarshal(plain, &r); err != nil {
		return r, ErrUndecryptable
	}
	return r, nil
}
