package redistest

import (
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/faultproxy"
)

// StartSilent starts a Redis that never answers: a faultproxy.Proxy that
// holds every connection (faultproxy.Blackhole), reading what clients send
// and writing nothing, as a hung Redis (or one behind a partition) whose
// TCP connections stay up. Unlike a paused Server it needs no
// redis-server, and its Stats().Heard (see Await) counts the clients
// waiting for an answer. CloseConnections makes their reads fail at once.
// It is closed when the test ends.
func StartSilent(t testing.TB) *faultproxy.Proxy {
	t.Helper()
	// The target is never dialed: a Blackhole connection goes nowhere.
	p, err := faultproxy.New(faultproxy.Options{Target: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	p.Set(faultproxy.Blackhole, faultproxy.FaultConfig{})
	t.Cleanup(func() { _ = p.Close() })
	return p
}
