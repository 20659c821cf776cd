package auth_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
)

// foreignKeyStore is a shared store whose token is always under another
// replica's encryption key: Load finds it unreadable, as redisstore does
// when the key ids differ.
type foreignKeyStore struct {
	*authtest.SharedStore
	mu    sync.Mutex
	keyID string // guarded by mu; the key id the stored token is under
}

func (s *foreignKeyStore) setKeyID(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyID = id
}

func (s *foreignKeyStore) Load(ctx context.Context, account string) (auth.Token, bool, error) {
	if _, _, err := s.SharedStore.Load(ctx, account); err != nil {
		return auth.Token{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return auth.Token{}, false, fmt.Errorf("load %s (key id %s, this store's 0000): %w", account, s.keyID, auth.ErrSharedUnreadable)
}

const unreadableWarning = "shared token unreadable; replicas must share one encryption key"

// Replicas on different encryption keys find each other's token
// unreadable on every miss and sync round. The warning says so once per
// cause and then every UnreadableWarnEvery, not every round; a new cause
// (another key id) is reported at once.
func TestUnreadableSharedTokenWarningIsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &logRecorder{}
		store := &foreignKeyStore{SharedStore: &authtest.SharedStore{}, keyID: "aaaa1111"}
		c := replicas(t, 1, &authtest.Fetcher{ExpiresIn: time.Hour}, store, auth.Options{Logger: slog.New(logs)})[0]
		warned := func() int {
			n := 0
			for _, m := range logs.warnings() {
				if m == unreadableWarning {
					n++
				}
			}
			return n
		}

		// A caller every second for two and a half intervals: every
		// sync round drops the token it cannot match, and the next call
		// fetches through the store, loading it again.
		loads := store.Calls("Load")
		for range int((2*auth.UnreadableWarnEvery + auth.UnreadableWarnEvery/2) / time.Second) {
			mustToken(t, c)
			time.Sleep(time.Second)
		}
		if store.Calls("Load")-loads < 100 {
			t.Fatalf("only %d loads: the test does not exercise the repeats", store.Calls("Load")-loads)
		}
		if n := warned(); n != 3 {
			t.Errorf("%d warnings over 2.5 intervals, want 3 (at the start, after one and after two)", n)
		}

		store.setKeyID("bbbb2222")
		mustToken(t, c)
		time.Sleep(auth.DefaultSharedSyncInterval)
		synctest.Wait()
		if n := warned(); n != 4 {
			t.Errorf("%d warnings after the stored token's key id changed, want 4", n)
		}
	})
}
