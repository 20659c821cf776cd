package redisstore

import "github.com/redis/go-redis/v9"

// The scripts run atomically on the server; each touches only the keys of
// one account (one hash slot). Times are Unix milliseconds, passed as the
// caller's strings and stored as given, so Lua's doubles never format them.

// lockSrc takes the fetch lock (KEYS[1]) for ARGV[1] ms with the next fence
// from KEYS[2]. It returns {fence, 0} when taken and {0, pttl} when held by
// someone else.
const lockSrc = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl ~= -2 then return {0, ttl} end
local fence = redis.call('INCR', KEYS[2])
if not redis.call('SET', KEYS[1], fence, 'NX', 'PX', ARGV[1]) then
  return {0, redis.call('PTTL', KEYS[1])}
end
return {fence, 0}
`

// storeSrc stores the token hash (KEYS[2]) if the lock (KEYS[1]) still
// holds fence ARGV[1]. Fences are unique and a lost lock never comes back
// with the same one, so that check alone means no later lease exists. ARGV:
// fence, fp, kid, ct, ea, idl, expire-at (the earlier of ea and idl), and
// the change channel and account: a stored token is announced there.
const storeSrc = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'fence', ARGV[1], 'fp', ARGV[2], 'kid', ARGV[3], 'ct', ARGV[4], 'ea', ARGV[5], 'idl', ARGV[6])
redis.call('PEXPIREAT', KEYS[2], ARGV[7])
redis.call('PUBLISH', ARGV[8], ARGV[9])
return 1
`

// unlockSrc deletes the lock (KEYS[1]) if it still holds fence ARGV[1].
const unlockSrc = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

// touchSrc moves the idle deadline of the token hash (KEYS[1]) to ARGV[2]
// if its fingerprint is ARGV[1] and that is later, and sets the key to
// expire at the earlier of the new deadline and the token's expiry. It
// returns 0 if the token is not (or no longer) the one named.
const touchSrc = `
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return 0 end
local idl = redis.call('HGET', KEYS[1], 'idl')
if tonumber(ARGV[2]) > tonumber(idl) then
  local ea = redis.call('HGET', KEYS[1], 'ea')
  redis.call('HSET', KEYS[1], 'idl', ARGV[2])
  if tonumber(ARGV[2]) < tonumber(ea) then
    redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  else
    redis.call('PEXPIREAT', KEYS[1], ea)
  end
end
return 1
`

// invalidateSrc deletes the token hash (KEYS[1]) if its fingerprint is
// ARGV[1], and announces that on channel ARGV[2] with the account ARGV[3].
const invalidateSrc = `
if redis.call('HGET', KEYS[1], 'fp') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
`

// scripts are the store's Lua scripts, run by EVALSHA with a fallback to
// EVAL (redis.Script), so each is sent in full once per server.
type scripts struct {
	lock, store, unlock, touch, invalidate *redis.Script
}

func newScripts() scripts {
	return scripts{
		lock:       redis.NewScript(lockSrc),
		store:      redis.NewScript(storeSrc),
		unlock:     redis.NewScript(unlockSrc),
		touch:      redis.NewScript(touchSrc),
		invalidate: redis.NewScript(invalidateSrc),
	}
}
