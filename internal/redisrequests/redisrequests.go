// Package redisrequests keeps the gateway's idempotency records (the
// request_id log of CreateImport and CreateReport, server/request_log.go)
// in Redis, so a retry with the same request_id is deduplicated whichever
// replica it reaches, and after a restart (issue 14).
//
// server/ uses it when the gateway is configured with Redis, with its
// in-memory log as the fallback while Redis is down.
//
// A record goes through the states of server's in-memory log:
//
//   - Begin claims a request id with an in-progress marker that carries a
//     random owner token and a lease (SET NX PX): the claimant runs the
//     request, renewing the lease with Extend while it runs. If the
//     claimant dies, the lease runs out and a retry runs afresh instead of
//     waiting forever.
//   - Finish replaces the marker with the result (what was asked for and
//     the created object's id), kept for the record TTL (24 h by default);
//     Forget drops the marker after a failure, so a retry runs afresh. Both
//     act only while the caller's marker is still there (compared in Lua),
//     so a claimant whose lease ran out cannot overwrite a later one.
//
// Keys are P{account}:req:<kind>:<request id>, P the key prefix. Records
// hold no credentials: a fingerprint of the request's parameters and the
// id of the object EEO created.
package redisrequests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for Options.
const (
	DefaultKeyPrefix = "eeo-gateway:"
	DefaultTTL       = 24 * time.Hour
)

// Options configure a Store.
type Options struct {
	// Client is the Redis connection; required. The Store does not close it.
	Client redis.UniversalClient
	// KeyPrefix starts every key. Default DefaultKeyPrefix.
	KeyPrefix string
	// TTL is how long a finished record is kept. Default DefaultTTL.
	TTL time.Duration
}

// Store is the idempotency record store. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	finish *redis.Script
	forget *redis.Script
	extend *redis.Script
}

// pendingPrefix starts an in-progress marker; a finished record is JSON,
// which never does.
const pendingPrefix = "pending:"

// New returns a Store; it does not contact Redis.
func New(opts Options) (*Store, error) {
	if opts.Client == nil {
		return nil, errors.New("redisrequests: Options.Client is required")
	}
	s := &Store{rdb: opts.Client, prefix: opts.KeyPrefix, ttl: opts.TTL}
	if s.prefix == "" {
		s.prefix = DefaultKeyPrefix
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTTL
	}
	s.finish = redis.NewScript(finishSrc)
	s.forget = redis.NewScript(forgetSrc)
	s.extend = redis.NewScript(extendSrc)
	return s, nil
}

// Key names one request: its account, the kind of object it creates
// ("import", "report") and its request_id.
type Key struct {
	Account, Kind, ID string
}

func (s *Store) key(k Key) string {
	return s.prefix + "{" + k.Account + "}:req:" + k.Kind + ":" + k.ID
}

// Result is a finished request: what it asked for and what it created.
type Result struct {
	// Fingerprint identifies the request's parameters, so a reuse of the id
	// for a different request can be told apart from a retry.
	Fingerprint string `json:"fp"`
	// ResultID is the id of the object EEO created.
	ResultID string `json:"id"`
}

// Claim is a caller's in-progress marker, returned by Begin to its owner.
type Claim struct {
	key   Key
	token string
}

// ErrInProgress is returned by Begin while another caller (on any replica)
// holds the request id's in-progress marker.
var ErrInProgress = errors.New("redisrequests: request in progress")

// ErrClaimLost is returned by Extend, Finish and Forget when the caller's marker is
// gone: its lease ran out (and another caller may have claimed the id).
var ErrClaimLost = errors.New("redisrequests: in-progress claim lost")

// Begin claims k for lease. It returns the claim when the caller must run
// the request (then Finish or Forget), the prior Result when the request
// already finished, or ErrInProgress.
func (s *Store) Begin(ctx context.Context, k Key, lease time.Duration) (*Claim, *Result, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails since Go 1.24
	c := &Claim{key: k, token: pendingPrefix + hex.EncodeToString(b)}
	key := s.key(k)
	// Twice at most: a record that expires between SET NX and GET is
	// claimed on the second round.
	for range 2 {
		ok, err := s.rdb.SetNX(ctx, key, c.token, lease).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("redisrequests: begin: %w", err)
		}
		if ok {
			return c, nil, nil
		}
		v, err := s.rdb.Get(ctx, key).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("redisrequests: begin: %w", err)
		case strings.HasPrefix(v, pendingPrefix):
			return nil, nil, ErrInProgress
		}
		var r Result
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, nil, fmt.Errorf("redisrequests: begin: record of %s/%s/%s: %w", k.Account, k.Kind, k.ID, err)
		}
		return nil, &r, nil
	}
	return nil, nil, ErrInProgress
}

// finishSrc replaces the marker ARGV[1] at KEYS[1] with the record ARGV[2]
// for ARGV[3] ms.
const finishSrc = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`

// forgetSrc deletes KEYS[1] if it still holds the marker ARGV[1].
const forgetSrc = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`

// extendSrc renews the marker ARGV[1] at KEYS[1] to ARGV[2] ms.
const extendSrc = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`

// Extend renews the claim's lease to lease from now, so a request that
// runs longer than one lease (a large upload) keeps its claim; a claimant
// that dies stops renewing, and its claim runs out at most lease later.
func (s *Store) Extend(ctx context.Context, c *Claim, lease time.Duration) error {
	n, err := s.extend.Run(ctx, s.rdb, []string{s.key(c.key)}, c.token, lease.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("redisrequests: extend: %w", err)
	}
	if n == 0 {
		return ErrClaimLost
	}
	return nil
}

// Finish records the claimed request's result for the record TTL.
func (s *Store) Finish(ctx context.Context, c *Claim, r Result) error {
	rec, err := json.Marshal(r)
	if err != nil {
		return err
	}
	n, err := s.finish.Run(ctx, s.rdb, []string{s.key(c.key)}, c.token, rec, s.ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("redisrequests: finish: %w", err)
	}
	if n == 0 {
		return ErrClaimLost
	}
	return nil
}

// Forget drops the claim after the request failed, so a retry runs afresh.
func (s *Store) Forget(ctx context.Context, c *Claim) error {
	n, err := s.forget.Run(ctx, s.rdb, []string{s.key(c.key)}, c.token).Int()
	if err != nil {
		return fmt.Errorf("redisrequests: forget: %w", err)
	}
	if n == 0 {
		return ErrClaimLost
	}
	return nil
}
