package access

// LimitedCallers is how many callers have a rate-limit bucket, for tests of
// the LRU bound.
func LimitedCallers(g *Guard) int {
	if g.limits == nil {
		return 0
	}
	return g.limits.len()
}

// MatchAPIKey is the matcher of the configured keys, for tests of what
// matching a presented key costs.
func MatchAPIKey(cfg []APIKey) (func(token string) (string, bool), error) {
	ks, err := newAPIKeys(cfg)
	if err != nil {
		return nil, err
	}
	return ks.match, nil
}
