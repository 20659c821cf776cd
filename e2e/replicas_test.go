package e2e_test

import (
	"testing"
)

// sharedEEO is one EEO side used by several stacks (see newReplicas).
type sharedEEO struct {
	eeo   *stackEEO
	creds stackCredentials
}

// newReplicas starts one sandbox (configured by opts.Sandbox) and n
// gateways in front of it, each with its own token cache, server and
// clients, as n replicas of one deployment behind a load balancer are. The
// sandbox is stopped after every gateway.
func newReplicas(t *testing.T, opts stackOptions, n int) []*stack {
	t.Helper()
	if opts.Clock != nil || opts.SandboxClock != nil || opts.Proxy {
		t.Fatal("newReplicas: Clock, SandboxClock and Proxy are per stack")
	}
	logger, _ := stackLogger(t, opts)
	creds := newStackCredentials(opts)
	e := startEEO(t, opts, creds, nil, logger)
	// Registered before the stacks' cleanups, so it runs after them.
	t.Cleanup(func() { e.stop(t) })
	opts.shared = &sharedEEO{eeo: e, creds: creds}
	replicas := make([]*stack, n)
	for i := range replicas {
		replicas[i] = newStack(t, opts)
	}
	return replicas
}
