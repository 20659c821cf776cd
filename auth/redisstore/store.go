package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// DefaultKeyPrefix starts every key unless Options.KeyPrefix says otherwise.
const DefaultKeyPrefix = "eeo-gateway:"

// Options configure a Store.
type Options struct {
	// Client is the Redis connection; required. The Store does not close
	// it. Its timeouts bound every call.
	Client redis.UniversalClient
	// KeyPrefix starts every key. Default DefaultKeyPrefix.
	KeyPrefix string
	// Key encrypts the stored tokens (AES-256-GCM): KeySize bytes, the
	// same on every replica.
	Key []byte
}

// Store is auth.SharedStore on Redis. It is safe for concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	sealer  *sealer
	scripts scripts
}

var _ auth.SharedStore = (*Store)(nil)

// New returns a Store; it does not contact Redis.
func New(opts Options) (*Store, error) {
	if opts.Client == nil {
		return nil, errors.New("redisstore: Options.Client is required")
	}
	s, err := newSealer(opts.Key)
	if err != nil {
		return nil, err
	}
	prefix := opts.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	return &Store{rdb: opts.Client, prefix: prefix, sealer: s, scripts: newScripts()}, nil
}

// KeyID identifies the store's encryption key without revealing it (the
// kid field of stored tokens), so operators can tell which key wrote one.
func (s *Store) KeyID() string { return s.sealer.keyID }

// Key names, with the account as a Redis Cluster hash tag.
func (s *Store) tokenKey(account string) string { return s.prefix + "{" + account + "}:token" }
func (s *Store) lockKey(account string) string  { return s.prefix + "{" + account + "}:lock" }
func (s *Store) fenceKey(account string) string { return s.prefix + "{" + account + "}:fence" }

// changesChannel is the pub/sub channel on which Store and InvalidateIf
// announce a changed account (see Watch).
func (s *Store) changesChannel() string { return s.prefix + "token-changes" }

// Load implements auth.SharedStore. A token this store cannot decrypt is
// reported as ErrUndecryptable with ok false.
func (s *Store) Load(ctx context.Context, account string) (auth.Token, bool, error) {
	vals, err := s.rdb.HMGet(ctx, s.tokenKey(account), "fp", "kid", "ct", "idl").Result()
	if err != nil {
		return auth.Token{}, false, fmt.Errorf("redisstore: load %s: %w", account, err)
	}
	if vals[0] == nil {
		return auth.Token{}, false, nil
	}
	fp, _ := vals[0].(string)
	kid, _ := vals[1].(string)
	ct, _ := vals[2].(string)
	idl, _ := vals[3].(string)
	r, err := s.sealer.open(account, kid, []byte(ct))
	if err != nil {
		return auth.Token{}, false, fmt.Errorf("redisstore: load %s (key id %s, this store's %s): %w", account, kid, s.sealer.keyID, err)
	}
	idleMS, err := strconv.ParseInt(idl, 10, 64)
	if err != nil {
		return auth.Token{}, false, fmt.Errorf("redisstore: load %s: idle deadline %q: %w", account, idl, ErrUndecryptable)
	}
	tok := auth.Token{
		Account:      account,
		AccessToken:  auth.NewSecret(r.AccessToken),
		TokenType:    r.TokenType,
		Fingerprint:  fp,
		IssuedAt:     time.Unix(0, r.IssuedAt),
		ExpiresAt:    time.Unix(0, r.ExpiresAt),
		IdleDeadline: time.UnixMilli(idleMS),
	}
	if auth.Fingerprint(tok.AccessToken) != fp {
		// The clear fingerprint is what compare-and-invalidate matches on;
		// it must name the encrypted token.
		return auth.Token{}, false, fmt.Errorf("redisstore: load %s: fingerprint does not match the token: %w", account, ErrUndecryptable)
	}
	return tok, true, nil
}

// Lock implements auth.SharedStore.
func (s *Store) Lock(ctx context.Context, account string, ttl time.Duration) (auth.FetchLease, error) {
	ms := ttl.Milliseconds()
	if ms <= 0 {
		return auth.FetchLease{}, fmt.Errorf("redisstore: lock TTL %v is under a millisecond", ttl)
	}
	res, err := s.scripts.lock.Run(ctx, s.rdb, []string{s.lockKey(account), s.fenceKey(account)}, ms).Int64Slice()
	if err != nil {
		return auth.FetchLease{}, fmt.Errorf("redisstore: lock %s: %w", account, err)
	}
	if len(res) != 2 {
		return auth.FetchLease{}, fmt.Errorf("redisstore: lock %s: unexpected reply %v", account, res)
	}
	if res[0] == 0 {
		return auth.FetchLease{Wait: time.Duration(max(res[1], 0)) * time.Millisecond}, nil
	}
	return auth.FetchLease{Held: true, Fence: res[0]}, nil
}

// Store implements auth.SharedStore.
func (s *Store) Store(ctx context.Context, account string, lease auth.FetchLease, tok auth.Token) error {
	if !lease.Held {
		return auth.ErrLeaseLost
	}
	if tok.AccessToken.IsZero() {
		return errors.New("redisstore: store: empty access token")
	}
	ct, err := s.sealer.seal(account, record{
		AccessToken: tok.AccessToken.Reveal(),
		TokenType:   tok.TokenType,
		IssuedAt:    tok.IssuedAt.UnixNano(),
		ExpiresAt:   tok.ExpiresAt.UnixNano(),
	})
	if err != nil {
		return fmt.Errorf("redisstore: store %s: %w", account, err)
	}
	ea, idl := tok.ExpiresAt.UnixMilli(), tok.IdleDeadline.UnixMilli()
	if tok.IdleDeadline.IsZero() {
		idl = ea
	}
	ok, err := s.scripts.store.Run(ctx, s.rdb, []string{s.lockKey(account), s.tokenKey(account)},
		lease.Fence, auth.Fingerprint(tok.AccessToken), s.sealer.keyID, ct, ea, idl, min(ea, idl), s.changesChannel(), account).Int()
	if err != nil {
		return fmt.Errorf("redisstore: store %s: %w", account, err)
	}
	if ok == 0 {
		return fmt.Errorf("redisstore: store %s with fence %d: %w", account, lease.Fence, auth.ErrLeaseLost)
	}
	return nil
}

// Unlock implements auth.SharedStore.
func (s *Store) Unlock(ctx context.Context, account string, lease auth.FetchLease) error {
	if !lease.Held {
		return nil
	}
	if err := s.scripts.unlock.Run(ctx, s.rdb, []string{s.lockKey(account)}, lease.Fence).Err(); err != nil {
		return fmt.Errorf("redisstore: unlock %s: %w", account, err)
	}
	return nil
}

// Touch implements auth.SharedStore.
func (s *Store) Touch(ctx context.Context, account, fingerprint string, idleDeadline time.Time) (bool, error) {
	ok, err := s.scripts.touch.Run(ctx, s.rdb, []string{s.tokenKey(account)}, fingerprint, idleDeadline.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: touch %s: %w", account, err)
	}
	return ok == 1, nil
}

// InvalidateIf implements auth.SharedStore.
func (s *Store) InvalidateIf(ctx context.Context, account, fingerprint string) (bool, error) {
	n, err := s.scripts.invalidate.Run(ctx, s.rdb, []string{s.tokenKey(account)}, fingerprint, s.changesChannel(), account).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: invalidate %s: %w", account, err)
	}
	return n == 1, nil
}
