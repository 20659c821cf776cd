package auth

// SyncShared runs one round of the shared-store sync loop now, for tests
// that cannot wait for its ticker (those against a real redis-server).
func SyncShared(c *Cache) { c.syncShared() }
