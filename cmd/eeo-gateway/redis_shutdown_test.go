package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/faultproxy"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
)

// A gateway stops at once on SIGTERM even when its Redis hangs with calls
// in flight — the health PING and the token cache's change subscription —
// instead of waiting out their timeouts: go-redis ends a command blocked
// on a read at its deadline, not when its context is cancelled, so
// shutdown closes the client rather than wait. The timeouts here are an
// hour, so waiting for them cannot pass.
func TestServeStopsPromptlyWhileRedisHangs(t *testing.T) {
	srv := redistest.StartSilent(t)
	keyFile := filepath.Join(t.TempDir(), "redis-key")
	if err := os.WriteFile(keyFile, []byte("3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := startProdStack(t, prodStackOptions{extraYAML: fmt.Sprintf(`
redis:
  addr: %s
  encryption_key_file: %s
  read_timeout: 1h
  write_timeout: 1h
`, srv.Addr(), keyFile)})

	// Both calls are waiting for Redis's answer: the health watcher's
	// PING and the token cache's SUBSCRIBE, each on its own connection.
	const inFlight = 2
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := srv.Await(ctx, func(s faultproxy.Stats) bool { return s.Heard >= inFlight }); err != nil {
		t.Fatalf("not %d Redis calls waiting in 30s: %v; logs:\n%s", inFlight, err, st.logs)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- st.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("serve still stopping 30s after it was asked to, with Redis hanging (read timeout 1h)")
		srv.CloseConnections() // the stack's reads fail: let it end
		<-stopped
	}
	for _, m := range st.logLines("shared token store unavailable: tokens are fetched and served by this replica alone until it answers") {
		t.Errorf("shutdown reported the token store down: %v", m)
	}
}
