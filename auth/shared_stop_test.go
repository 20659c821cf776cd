package auth_test

import (
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
)

// A shutdown stops the cache while its sync loop waits for a store that
// does not answer. Stop does not wait for that call, and the call's failure
// is the shutdown's doing, not an outage: no warning, and the store is
// still reported up.
func TestStopDuringAHungStoreCallReportsNoOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &logRecorder{}
		store := &authtest.SharedStore{}
		c := replicas(t, 1, &authtest.Fetcher{ExpiresIn: time.Hour}, store, auth.Options{Logger: slog.New(logs)})[0]
		mustToken(t, c)
		calls := func() int { return store.Calls("Touch") + store.Calls("Load") }
		before := calls()
		store.Hang(true)
		time.Sleep(auth.DefaultSharedSyncInterval)
		synctest.Wait()
		if calls() == before {
			t.Fatal("no sync round reached the store")
		}

		start := time.Now()
		c.Stop()
		if waited := time.Since(start); waited != 0 {
			t.Errorf("Stop waited %v for the store call", waited)
		}
		c.Close() // the call ends at its timeout
		if w := logs.warnings(); len(w) != 0 {
			t.Errorf("warnings at shutdown: %q", w)
		}
		if s := c.SharedStatus(); !s.Up || s.Transitions != 0 {
			t.Errorf("status after shutdown %+v, want up throughout", s)
		}
		store.Hang(false)
	})
}
