package redisstore

import (
	"context"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

var _ auth.SharedNotifier = (*Store)(nil)

// Watch implements auth.SharedNotifier: it subscribes to the key prefix's
// change channel, on which every Store and InvalidateIf that changed a
// token publishes the account's name (from inside its Lua script, so no
// change goes unannounced while Redis is up). go-redis reconnects the
// subscription by itself after a failure; notices sent meanwhile are lost,
// which the Cache's sync loop makes up for.
func (s *Store) Watch(ctx context.Context, changed func(account string)) {
	ps := s.rdb.Subscribe(ctx, s.changesChannel())
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			changed(m.Payload)
		}
	}
}
