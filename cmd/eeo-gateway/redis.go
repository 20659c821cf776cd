package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/redisstore"
	"github.com/eeo-gateway/eeo-gateway/config"
	"github.com/eeo-gateway/eeo-gateway/internal/redisconn"
	"github.com/eeo-gateway/eeo-gateway/internal/redishealth"
	"github.com/eeo-gateway/eeo-gateway/internal/redisrequests"
	"github.com/eeo-gateway/eeo-gateway/server"
)

// redisBackend is the optional Redis backend (the config's redis section):
// one client, the two stores replicas share through it — tokens (to the
// token cache, which tracks its health itself) and request ids (to the
// server) — and the breaker in front of the latter. The nil *redisBackend is the embedded
// default: no Redis.
type redisBackend struct {
	client    *redisconn.Client
	closeOnce sync.Once // close runs at shutdown's start and again as a closer
	health    *redishealth.Tracker
	tokens    *redisstore.Store
	requests  *redisrequests.Store
}

// newRedisBackend builds the backend for cfg, or returns nil for none. It
// does not contact Redis: one that is down at start makes the gateway use
// its local state until it answers (the Tracker's Watch reports it).
func newRedisBackend(cfg *config.RedisConfig, logger *slog.Logger, reg prometheus.Registerer) (_ *redisBackend, err error) {
	if cfg == nil {
		return nil, nil
	}
	// go-redis logs each failed dial to stderr through a process-wide
	// logger; the Tracker reports an outage once instead.
	redis.SetLogger(quietRedisLog{})
	client, err := redisconn.New(*cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	defer func() {
		if err != nil {
			client.Close()
		}
	}()
	b := &redisBackend{client: client}
	if b.health, err = redishealth.New(redishealth.Options{
		Logger:  logger.With("component", "redis"),
		Metrics: reg,
		// One operation is a few round trips, each bounded by the client.
		CallTimeout: cfg.ReadTimeout.Std() + cfg.WriteTimeout.Std(),
	}); err != nil {
		return nil, err
	}
	if b.tokens, err = redisstore.New(redisstore.Options{Client: client, KeyPrefix: cfg.KeyPrefix, Key: []byte(cfg.EncryptionKey.Reveal())}); err != nil {
		return nil, fmt.Errorf("configuration: redis: %w", err)
	}
	if b.requests, err = redisrequests.New(redisrequests.Options{Client: client, KeyPrefix: cfg.KeyPrefix}); err != nil {
		return nil, fmt.Errorf("configuration: redis: %w", err)
	}
	// Every replica must show the same key id, or they cannot read each
	// other's tokens.
	logger.Info("redis backend configured", "addr", client.Options().Addr, "tls", cfg.UsesTLS(),
		"key_prefix", cfg.KeyPrefix, "encryption_key_id", b.tokens.KeyID())
	return b, nil
}

// watch pings Redis in the background so its health is known without
// traffic.
func (b *redisBackend) watch(ctx context.Context) {
	b.health.Watch(ctx, func(ctx context.Context) error { return b.client.Ping(ctx).Err() })
}

// close releases the client; calls blocked on it fail at once. Calls
// after the first do nothing.
func (b *redisBackend) close() { b.closeOnce.Do(func() { _ = b.client.Close() }) }

// requestStore is server.Config.RequestStore: nil (not a nil pointer in an
// interface) without Redis.
func (b *redisBackend) requestStore() server.RequestStore {
	if b == nil {
		return nil
	}
	return b.requests
}

// tokenStore is auth.Options.Shared: nil (not a nil pointer in an
// interface) without Redis.
func (b *redisBackend) tokenStore() auth.SharedStore {
	if b == nil {
		return nil
	}
	return b.tokens
}

// healthTracker is the breaker in front of the request-id log's Redis
// calls (the token cache tracks its store itself); nil without Redis.
func (b *redisBackend) healthTracker() *redishealth.Tracker {
	if b == nil {
		return nil
	}
	return b.health
}

// quietRedisLog discards go-redis' own log lines.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}
