package access

// LimitedCallers is how many callers have a rate-limit bucket, for tests of
// the LRU bound.
func LimitedCallers(g *Guard) int {
	if g.limits == nil {
		return 0
	}
	return g.limits.len()
}
