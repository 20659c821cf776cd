package redistest_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
)

func client(t *testing.T, s *redistest.Server, password string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: password, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// A started server answers on loopback, and two servers share nothing.
func TestStartServesAndIsolates(t *testing.T) {
	a, b := redistest.Start(t, redistest.Options{}), redistest.Start(t, redistest.Options{})
	if a.Addr == b.Addr || !strings.HasPrefix(a.Addr, "127.0.0.1:") {
		t.Fatalf("addresses %s and %s: want two loopback ports", a.Addr, b.Addr)
	}
	ctx := context.Background()
	ca, cb := client(t, a, ""), client(t, b, "")
	if err := ca.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := ca.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k = %q, %v", got, err)
	}
	if err := cb.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET k on the other server: %v, want nil reply", err)
	}
	// Nothing is persisted: tests must not leave state on disk.
	if got, err := ca.ConfigGet(ctx, "save").Result(); err != nil || got["save"] != "" {
		t.Errorf("save = %q, %v; want disabled", got["save"], err)
	}
	if got, err := ca.ConfigGet(ctx, "appendonly").Result(); err != nil || got["appendonly"] != "no" {
		t.Errorf("appendonly = %q, %v; want no", got["appendonly"], err)
	}
}

// Stop takes Redis away (as an outage does); Restart brings it back on
// the same address, empty.
func TestStopAndRestart(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	c := client(t, s, "")
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr
	s.Stop(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded after Stop")
	}
	s.Stop(t) // a second Stop is harmless
	s.Restart(t)
	if s.Addr != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET k after Restart: %v, want nil reply (nothing persisted)", err)
	}
}

// A paused server keeps its connections but answers nothing until it is
// resumed, and then answers what it was sent; a paused server stops.
func TestPauseAndResume(t *testing.T) {
	s := redistest.Start(t, redistest.Options{})
	// Deadlines from the context, as the gateway's client has them.
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Pause(t)
	// A short deadline: the test needs to see no answer, not to wait.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := c.Ping(short).Err(); !errors.Is(err, context.DeadlineExceeded) {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("PING to a paused server: %v, want a timeout", err)
		}
	}
	s.Resume(t)
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k after Resume: %q, %v", got, err)
	}
	s.Pause(t)
	s.Stop(t) // continues it, so that it can act on the SIGTERM
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded after Stop")
	}
}

// With a password, unauthenticated clients are refused.
func TestPassword(t *testing.T) {
	s := redistest.Start(t, redistest.Options{Password: "hunter2"})
	ctx := context.Background()
	if err := client(t, s, "").Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("PING without the password: %v, want NOAUTH", err)
	}
	if err := client(t, s, "hunter2").Ping(ctx).Err(); err != nil {
		t.Errorf("PING with the password: %v", err)
	}
}

// EEO_REDIS_SERVER names the binary outright (valkey-server, a build of
// one's own).
func TestFindHonoursEEORedisServer(t *testing.T) {
	t.Setenv("EEO_REDIS_SERVER", "/opt/valkey/valkey-server")
	if got := redistest.Find(); got != "/opt/valkey/valkey-server" {
		t.Fatalf("Find() = %q", got)
	}
}

// make test sets EEO_REDIS_REQUIRED after installing the tool, so a missing
// server fails there; the CI rule itself is testkit.ToolRequired's, tested
// there.
func TestRequired(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("EEO_REDIS_REQUIRED", "")
	if redistest.Required() {
		t.Errorf("Required() with neither CI nor EEO_REDIS_REQUIRED set = true")
	}
	t.Setenv("EEO_REDIS_REQUIRED", "1")
	if !redistest.Required() {
		t.Errorf("Required() with EEO_REDIS_REQUIRED=1 = false")
	}
}

// recorder is a testing.TB that records how a test ended instead of
// ending the real one.
type recorder struct {
	testing.TB
	mu              sync.Mutex
	failed, skipped bool
}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(...any) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *recorder) Skip(...any) {
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

// A missing binary fails the test when required, and skips it otherwise.
func TestMissingServer(t *testing.T) {
	t.Setenv("EEO_REDIS_SERVER", "")
	t.Setenv("PATH", t.TempDir())
	for _, required := range []bool{true, false} {
		t.Setenv("CI", "")
		t.Setenv("EEO_REDIS_REQUIRED", map[bool]string{true: "1"}[required])
		r := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			redistest.Start(r, redistest.Options{})
		}()
		<-done
		if r.failed != required || r.skipped == required {
			t.Errorf("required=%v: failed=%v skipped=%v", required, r.failed, r.skipped)
		}
	}
}
