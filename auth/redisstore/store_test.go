package redisstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/redisstore"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
)

const account = "acme"

var (
	key      = bytes.Repeat([]byte{0x42}, redisstore.KeySize)
	otherKey = bytes.Repeat([]byte{0x24}, redisstore.KeySize)
)

// fixture is a redis-server, a raw client to inspect it, and a way to make
// stores (replicas) on it.
type fixture struct {
	srv *redistest.Server
	raw *redis.Client
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	srv := redistest.Start(t, redistest.Options{})
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { raw.Close() })
	return &fixture{srv: srv, raw: raw}
}

// store returns a Store with its own client, as a replica would have.
func (f *fixture) store(t testing.TB, k []byte) *redisstore.Store {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: f.srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	s, err := redisstore.New(redisstore.Options{Client: c, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// token returns a token as the cache would store it, issued now.
func token(value string, now time.Time) auth.Token {
	sec := auth.NewSecret(value)
	return auth.Token{
		Account: account, AccessToken: sec, TokenType: "Bearer", Fingerprint: auth.Fingerprint(sec),
		IssuedAt: now, ExpiresAt: now.Add(time.Hour), IdleDeadline: now.Add(30 * time.Minute),
	}
}

// lockAndStore stores tok as a replica that fetched it would.
func lockAndStore(t testing.TB, s *redisstore.Store, tok auth.Token) auth.FetchLease {
	t.Helper()
	ctx := context.Background()
	lease, err := s.Lock(ctx, account, time.Minute)
	if err != nil || !lease.Held {
		t.Fatalf("Lock = %+v, %v; want held", lease, err)
	}
	if err := s.Store(ctx, account, lease, tok); err != nil {
		t.Fatalf("Store: %v", err)
	}
	if err := s.Unlock(ctx, account, lease); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	return lease
}

// A token stored by one replica is loaded by another with the same key,
// and what Redis holds does not contain the token in any usual encoding.
func TestStoredTokenIsSharedAndEncrypted(t *testing.T) {
	f := newFixture(t)
	a, b := f.store(t, key), f.store(t, key)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	const secret = "eeosbx_Sup3rSecretTokenValue-do-not-store"
	tok := token(secret, now)
	lockAndStore(t, a, tok)

	got, ok, err := b.Load(ctx, account)
	if err != nil || !ok {
		t.Fatalf("Load on another replica = %v, %v", ok, err)
	}
	if got.AccessToken.Reveal() != secret || got.TokenType != "Bearer" || got.Fingerprint != tok.Fingerprint ||
		!got.IssuedAt.Equal(tok.IssuedAt) || !got.ExpiresAt.Equal(tok.ExpiresAt) || !got.IdleDeadline.Equal(tok.IdleDeadline) {
		t.Errorf("Load = %+v, want %+v", got, tok)
	}

	keys, err := f.raw.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		var dump string
		switch typ := f.raw.Type(ctx, k).Val(); typ {
		case "hash":
			for field, v := range f.raw.HGetAll(ctx, k).Val() {
				dump += field + "=" + v + "\n"
			}
		case "string":
			dump = f.raw.Get(ctx, k).Val()
		default:
			t.Errorf("key %s has unexpected type %s", k, typ)
		}
		for _, enc := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), "Sup3rSecret"} {
			if strings.Contains(dump, enc) || strings.Contains(k, enc) {
				t.Errorf("Redis key %s holds the token in clear", k)
			}
		}
	}
	if kid := f.raw.HGet(ctx, "eeo-gateway:{acme}:token", "kid").Val(); kid != a.KeyID() {
		t.Errorf("stored kid %q, want the store's key id %q", kid, a.KeyID())
	}
}

// A replica with another key, a value altered in Redis, or one copied to
// another account's key reads nothing — never a wrong token.
func TestUnreadableTokensAreMisses(t *testing.T) {
	f := newFixture(t)
	a := f.store(t, key)
	ctx := context.Background()
	lockAndStore(t, a, token("tok-1", time.Now()))

	if _, ok, err := f.store(t, otherKey).Load(ctx, account); ok || !errors.Is(err, redisstore.ErrUndecryptable) {
		t.Errorf("Load with another key = %v, %v; want ErrUndecryptable", ok, err)
	}

	// The same record under another account's key: the additional data
	// binds it to acme.
	fields := f.raw.HGetAll(ctx, "eeo-gateway:{acme}:token").Val()
	for k, v := range fields {
		f.raw.HSet(ctx, "eeo-gateway:{other}:token", k, v)
	}
	if _, ok, err := a.Load(ctx, "other"); ok || !errors.Is(err, redisstore.ErrUndecryptable) {
		t.Errorf("Load of a record copied to another account = %v, %v; want ErrUndecryptable", ok, err)
	}

	ct := []byte(fields["ct"])
	ct[len(ct)-1] ^= 1
	f.raw.HSet(ctx, "eeo-gateway:{acme}:token", "ct", string(ct))
	if _, ok, err := a.Load(ctx, account); ok || !errors.Is(err, redisstore.ErrUndecryptable) {
		t.Errorf("Load of an altered record = %v, %v; want ErrUndecryptable", ok, err)
	}
}

// The key lives until the earlier of expiry and idle deadline; Touch slides
// the idle deadline forward only, never past the expiry, and only for the
// current token.
func TestTTLFollowsTheExpiryModel(t *testing.T) {
	f := newFixture(t)
	s := f.store(t, key)
	ctx := context.Background()
	now := time.Now()
	tok := token("tok-1", now)
	tok.IdleDeadline, tok.ExpiresAt = now.Add(10*time.Minute), now.Add(time.Hour)
	lockAndStore(t, s, tok)
	tokenKey := "eeo-gateway:{acme}:token"

	// PTTL is measured against the real clock, so the bounds allow for the
	// time the test itself takes (generously, for a loaded machine).
	within := func(what string, want time.Duration) {
		t.Helper()
		got := f.raw.PTTL(ctx, tokenKey).Val()
		if got > want || got < want-time.Minute {
			t.Errorf("%s: TTL %v, want about %v", what, got, want)
		}
	}
	within("stored", 10*time.Minute)

	if ok, err := s.Touch(ctx, account, tok.Fingerprint, now.Add(20*time.Minute)); err != nil || !ok {
		t.Fatalf("Touch = %v, %v", ok, err)
	}
	within("after a use", 20*time.Minute)
	got, _, _ := s.Load(ctx, account)
	if !got.IdleDeadline.Equal(now.Add(20 * time.Minute).Truncate(time.Millisecond)) {
		t.Errorf("shared idle deadline %v, want %v", got.IdleDeadline, now.Add(20*time.Minute))
	}

	s.Touch(ctx, account, tok.Fingerprint, now.Add(15*time.Minute))
	within("after an older use", 20*time.Minute)

	s.Touch(ctx, account, tok.Fingerprint, now.Add(3*time.Hour))
	within("after a use past expiry", time.Hour)

	if ok, err := s.Touch(ctx, account, auth.Fingerprint(auth.NewSecret("another")), now.Add(2*time.Hour)); err != nil || ok {
		t.Errorf("Touch of a token that is not the shared one = %v, %v; want false", ok, err)
	}
}

// Of replicas asking for the lock together, exactly one gets it; the others
// learn how long it has left.
func TestLockIsExclusive(t *testing.T) {
	f := newFixture(t)
	const replicas = 20
	stores := make([]*redisstore.Store, replicas)
	for i := range stores {
		stores[i] = f.store(t, key)
	}
	leases := make([]auth.FetchLease, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-start
			leases[i], errs[i] = s.Lock(context.Background(), account, time.Minute)
		})
	}
	close(start)
	wg.Wait()
	held := 0
	for i, l := range leases {
		if errs[i] != nil {
			t.Fatalf("Lock %d: %v", i, errs[i])
		}
		if l.Held {
			held++
			continue
		}
		if l.Wait <= 0 || l.Wait > time.Minute {
			t.Errorf("lease %d not held, Wait %v: want the holder's remaining TTL", i, l.Wait)
		}
	}
	if held != 1 {
		t.Fatalf("%d replicas got the lock, want exactly 1", held)
	}
}

// A holder that dies lets another replica take over once its lock expires;
// the new lease is fenced above the old one, so the old holder, if it was
// only stalled, can neither store over the new token nor release the new
// holder's lock.
func TestLockExpiryHandsOver(t *testing.T) {
	f := newFixture(t)
	a, b := f.store(t, key), f.store(t, key)
	ctx := context.Background()
	leaseA, err := a.Lock(ctx, account, time.Minute)
	if err != nil || !leaseA.Held {
		t.Fatalf("A Lock = %+v, %v", leaseA, err)
	}
	if l, _ := b.Lock(ctx, account, time.Minute); l.Held {
		t.Fatal("B took a lock A holds")
	}

	// A's minute runs out: shorten the TTL on the server rather than wait.
	f.raw.PExpire(ctx, "eeo-gateway:{acme}:lock", time.Millisecond)
	var leaseB auth.FetchLease
	for deadline := time.Now().Add(5 * time.Second); !leaseB.Held; {
		if time.Now().After(deadline) {
			t.Fatal("B never got the lock after A's expired")
		}
		if leaseB, err = b.Lock(ctx, account, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if leaseB.Fence <= leaseA.Fence {
		t.Fatalf("fences A %d, B %d: the later lease must be fenced higher", leaseA.Fence, leaseB.Fence)
	}

	tokB := token("tok-B", time.Now())
	if err := b.Store(ctx, account, leaseB, tokB); err != nil {
		t.Fatalf("B Store: %v", err)
	}
	if err := a.Store(ctx, account, leaseA, token("tok-A-late", time.Now())); !errors.Is(err, auth.ErrLeaseLost) {
		t.Fatalf("stalled A Store = %v, want ErrLeaseLost", err)
	}
	if err := a.Unlock(ctx, account, leaseA); err != nil {
		t.Fatal(err)
	}
	if l, _ := a.Lock(ctx, account, time.Minute); l.Held {
		t.Error("A's late Unlock released B's lock")
	}
	if got, ok, _ := a.Load(ctx, account); !ok || got.AccessToken.Reveal() != "tok-B" {
		t.Errorf("shared token after the late store: ok %v, want B's", ok)
	}

	// After B releases, A's old lease still cannot store: a newer fence
	// has written the token.
	b.Unlock(ctx, account, leaseB)
	if err := a.Store(ctx, account, leaseA, token("tok-A-later", time.Now())); !errors.Is(err, auth.ErrLeaseLost) {
		t.Errorf("old lease Store after B released = %v, want ErrLeaseLost", err)
	}
}

// A 401 seen on replica B for the old token must not discard the newer
// token replica A has stored since; invalidating the current one does.
func TestInvalidateIfKeepsANewerToken(t *testing.T) {
	f := newFixture(t)
	a, b := f.store(t, key), f.store(t, key)
	ctx := context.Background()
	old := token("tok-old", time.Now())
	lockAndStore(t, a, old)
	newer := token("tok-new", time.Now())
	lockAndStore(t, a, newer)

	if dropped, err := b.InvalidateIf(ctx, account, old.Fingerprint); err != nil || dropped {
		t.Fatalf("InvalidateIf(old) = %v, %v; want false", dropped, err)
	}
	if got, ok, _ := b.Load(ctx, account); !ok || got.Fingerprint != newer.Fingerprint {
		t.Fatalf("after a late invalidation of the old token: ok %v fp %s, want the newer token", ok, got.Fingerprint)
	}
	if dropped, err := b.InvalidateIf(ctx, account, newer.Fingerprint); err != nil || !dropped {
		t.Fatalf("InvalidateIf(newer) = %v, %v; want true", dropped, err)
	}
	if _, ok, err := a.Load(ctx, account); ok || err != nil {
		t.Errorf("Load after invalidation = %v, %v; want a miss", ok, err)
	}
}

// With Redis gone every call fails with an error, promptly, and nothing
// panics: the caller falls back to its local cache.
func TestRedisDownIsAnError(t *testing.T) {
	f := newFixture(t)
	s := f.store(t, key)
	f.srv.Stop(t)
	ctx := context.Background()
	if _, ok, err := s.Load(ctx, account); err == nil || ok {
		t.Errorf("Load with Redis down = %v, %v; want an error", ok, err)
	}
	if l, err := s.Lock(ctx, account, time.Minute); err == nil || l.Held {
		t.Errorf("Lock with Redis down = %+v, %v; want an error", l, err)
	}
	if _, err := s.InvalidateIf(ctx, account, "x"); err == nil {
		t.Error("InvalidateIf with Redis down succeeded")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := redisstore.New(redisstore.Options{Client: c, Key: key[:16]}); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	if _, err := redisstore.New(redisstore.Options{Key: key}); err == nil {
		t.Error("no client was accepted")
	}
}

// Every Store and every InvalidateIf that dropped a token announces the
// account to watching replicas; an InvalidateIf that kept a newer token
// announces nothing.
func TestWatchAnnouncesChanges(t *testing.T) {
	f := newFixture(t)
	a, b := f.store(t, key), f.store(t, key)
	ctx, cancel := context.WithCancel(context.Background())
	notices := make(chan string, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Watch(ctx, func(account string) { notices <- account })
	}()
	defer func() { cancel(); <-done }()
	for f.raw.PubSubNumSub(ctx, "eeo-gateway:token-changes").Val()["eeo-gateway:token-changes"] == 0 {
		time.Sleep(time.Millisecond) // waiting for the subscription, not for time
	}
	next := func(what, want string) {
		t.Helper()
		select {
		case got := <-notices:
			if got != want {
				t.Fatalf("%s: notice for %q, want %q", what, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no notice", what)
		}
	}
	old := token("tok-1", time.Now())
	lockAndStore(t, a, old)
	next("Store", account)
	newer := token("tok-2", time.Now())
	lockAndStore(t, a, newer)
	next("second Store", account)
	if dropped, _ := a.InvalidateIf(ctx, account, old.Fingerprint); dropped {
		t.Fatal("stale InvalidateIf dropped the newer token")
	}
	// Messages on one channel arrive in order: a notice from the stale
	// InvalidateIf would come before this marker.
	f.raw.Publish(ctx, "eeo-gateway:token-changes", "marker")
	next("stale InvalidateIf", "marker")
	if dropped, _ := a.InvalidateIf(ctx, account, newer.Fingerprint); !dropped {
		t.Fatal("InvalidateIf of the current token dropped nothing")
	}
	next("InvalidateIf", account)
}
