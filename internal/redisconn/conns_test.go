package redisconn_test

import (
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/internal/faultproxy"
	"github.com/eeo-gateway/eeo-gateway/internal/redisconn"
	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
)

// Close ends calls blocked on a Redis that does not answer — a command,
// and a subscription still in its handshake, which go-redis's own Close
// leaves running — instead of leaving them to their read timeout (an hour
// here).
func TestCloseEndsCallsWaitingForRedis(t *testing.T) {
	srv := redistest.StartSilent(t)
	client, err := redisconn.New(section(func(c *config.RedisConfig) {
		c.Addr = srv.Addr()
		c.ReadTimeout, c.WriteTimeout = config.Duration(time.Hour), config.Duration(time.Hour)
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 2)
	go func() { ended <- client.Ping(t.Context()).Err() }()
	go func() {
		ps := client.Subscribe(t.Context(), "changes")
		_, err := ps.Receive(t.Context())
		ps.Close()
		ended <- err
	}()
	// Each call is waiting on its connection.
	if err := srv.Await(t.Context(), func(s faultproxy.Stats) bool { return s.Heard == 2 }); err != nil {
		t.Fatal(err)
	}

	client.Close()
	for range 2 {
		select {
		case err := <-ended:
			if err == nil {
				t.Error("a call to a Redis that never answered succeeded")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a call still waiting for Redis 30s after Close")
		}
	}
}
