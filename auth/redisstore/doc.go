// Package redisstore is auth.SharedStore on Redis (or Valkey): the one
// token per EEO account that replicas of the gateway share (issue 14).
//
// Pass a Store as auth.Options.Shared: the Cache keeps its lock-free
// in-process hit path in front and calls the store only on misses,
// refreshes, invalidations and from its sync loop (every
// auth.Options.SharedSyncInterval, 2 s by default), which slides the
// shared idle deadline with this replica's use and picks up a token
// another replica refreshed or invalidated. The Store is also an
// auth.SharedNotifier: Store and InvalidateIf publish the account on the
// channel P + "token-changes" (from their Lua scripts), and Watch
// subscribes to it, so a refresh or invalidation on one replica reaches
// the others in about a millisecond, and within the sync interval plus a
// round trip if a notice is lost. A Redis outage only makes each replica
// work alone until Redis answers again; auth.SharedStore describes the
// algorithm.
//
// # Keys
//
// For account A under key prefix P (default "eeo-gateway:"):
//
//	P{A}:token  hash   the shared token (fields below); expires at the
//	                   earlier of the token's expiry and its idle deadline
//	P{A}:lock   string the fetch lock: the fence of its holder, with a TTL
//	P{A}:fence  string the account's fence counter (INCR), never expires
//	P token-changes    pub/sub channel: the account's name after each
//	                   Store, and after an InvalidateIf that dropped a token
//
// The braces are a Redis Cluster hash tag: an account's keys share a slot,
// so the Lua scripts that touch two of them work on a cluster too.
//
// # What is stored, and how it is protected
//
// The token hash holds: ct, the AES-256-GCM encryption (random 96-bit
// nonce, prepended) of the access token, its type and its issue and expiry
// times; kid, an identifier of the encryption key (a SHA-256 prefix, which
// says which key encrypted it without revealing the key); fp, the token's
// fingerprint (auth.Fingerprint, a SHA-256 prefix, the value logs carry);
// ea and idl, the expiry and the shared idle deadline in Unix milliseconds,
// in clear so the scripts can keep the key's TTL; fence, the lease that
// stored it. The GCM additional data binds the ciphertext to its account
// and key identifier, so a value copied to another account's key does not
// decrypt. Redis therefore never sees a usable token, and a replica
// holding another key reads nothing rather than garbage.
//
// # Fetch lock
//
// Lock runs SET NX PX inside a Lua script that first takes the next fence
// from the account's counter; Store and Unlock compare the lock's value
// with the caller's fence in Lua, so a holder that stalled past its TTL can
// neither release another's lock nor overwrite a token a later holder
// stored. InvalidateIf deletes the token only if its fingerprint still
// matches, in Lua, so a late 401 for an old token keeps the newer one.
package redisstore
