package auth

// SyncShared runs one round of the shared-store sync loop now, for tests
// that cannot wait for its ticker (those against a real redis-server).
func SyncShared(c *Cache) { c.syncShared() }

// DropLocal forgets the account's token in this cache only, as a replica
// that never had it: the shared store keeps it.
func DropLocal(c *Cache, account string) { c.entries[account].current.Store(nil) }

// UnreadableWarnEvery is how often the unreadable-shared-token warning is
// repeated for one cause.
const UnreadableWarnEvery = unreadableWarnEvery
