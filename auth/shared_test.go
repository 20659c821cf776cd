package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
)

// replicas returns n Caches for account "demo" sharing store, as n gateway
// processes would; f plays EEO, so its call count is the upstream total.
func replicas(t *testing.T, n int, f auth.Fetcher, store auth.SharedStore, opts auth.Options) []*auth.Cache {
	t.Helper()
	opts.Shared = store
	out := make([]*auth.Cache, n)
	for i := range out {
		out[i] = newCache(t, f, opts)
	}
	return out
}

func tokenOf(t *testing.T, c *auth.Cache) string {
	t.Helper()
	return mustToken(t, c).AccessToken.Reveal()
}

// logRecorder is a slog.Handler that keeps every record's message and
// level, for tests that count warnings.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Level >= slog.LevelWarn {
		l.msgs = append(l.msgs, r.Message)
	}
	return nil
}

// warnings returns the WARN messages logged so far.
func (l *logRecorder) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// Callers spread over three replicas of a cold gateway cause one token
// request upstream between them; every caller gets that token.
func TestReplicasShareOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: time.Hour}
		release := f.Hold()
		rs := replicas(t, 3, f, &authtest.SharedStore{}, auth.Options{})
		const callers = 300
		var wg sync.WaitGroup
		got := make([]string, callers)
		errs := make([]error, callers)
		for i := range callers {
			wg.Go(func() {
				tok, err := rs[i%len(rs)].Token(t.Context(), "demo")
				got[i], errs[i] = tok.AccessToken.Reveal(), err
			})
		}
		synctest.Wait() // one replica's request is in flight, the others wait for it
		release()
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || got[i] != "tok-1" {
				t.Fatalf("caller %d: %q, %v; want tok-1", i, got[i], errs[i])
			}
		}
		if n := f.Calls(); n != 1 {
			t.Fatalf("%d callers on 3 replicas caused %d token requests, want 1", callers, n)
		}
		var adopted int64
		for _, c := range rs {
			adopted += c.Stats()[0].Adopted
		}
		if adopted != 2 {
			t.Errorf("replicas adopted %d tokens, want 2 (all but the fetching one)", adopted)
		}
	})
}

// A replica that took the fetch lock and died (it never stores or
// unlocks) holds everyone up only until its lock expires; callers whose
// deadline comes first get DeadlineExceeded at that deadline.
func TestDeadLockHolderIsReplacedAfterTheLockTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &authtest.SharedStore{}
		const ttl = 12 * time.Second
		if l, err := store.Lock(t.Context(), "demo", ttl); err != nil || !l.Held {
			t.Fatalf("dead holder's Lock = %+v, %v", l, err)
		}
		f := &authtest.Fetcher{}
		c := replicas(t, 1, f, store, auth.Options{SharedLockTTL: ttl})[0]
		start := time.Now()

		short, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		if _, err := c.Token(short, "demo"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Fatalf("caller with a 2s deadline: err %v after %v; want DeadlineExceeded after 2s", err, time.Since(start))
		}
		if got := tokenOf(t, c); got != "tok-1" {
			t.Fatalf("token %q, want tok-1", got)
		}
		waited := time.Since(start)
		if waited < ttl || waited > ttl+auth.DefaultSharedPoll*2 {
			t.Errorf("token after %v, want soon after the dead holder's %v lock expired", waited, ttl)
		}
		if n := f.Calls(); n != 1 {
			t.Errorf("%d token requests, want 1", n)
		}
		if tok, ok := store.Peek("demo"); !ok || tok.AccessToken.Reveal() != "tok-1" {
			t.Errorf("the replica that took over did not store its token")
		}
	})
}

// A 401 seen on replica B for the token it held discards it there, but
// not the newer token replica A refreshed and stored meanwhile; B then
// serves A's token without a request of its own.
func TestStaleRejectionKeepsAnotherReplicasNewerToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		store := &authtest.SharedStore{}
		rs := replicas(t, 2, f, store, auth.Options{})
		a, b := rs[0], rs[1]
		old := mustToken(t, a)
		if got := tokenOf(t, b); got != "tok-1" {
			t.Fatalf("B got %q, want A's tok-1", got)
		}
		fresh, err := a.Refresh(t.Context(), "demo")
		if err != nil || fresh.AccessToken.Reveal() != "tok-2" {
			t.Fatalf("A Refresh = %q, %v", fresh.AccessToken.Reveal(), err)
		}
		if dropped, err := b.Invalidate("demo", old.AccessToken); err != nil || !dropped {
			t.Fatalf("B Invalidate(old) = %v, %v; want its own copy dropped", dropped, err)
		}
		if tok, ok := store.Peek("demo"); !ok || tok.Fingerprint != fresh.Fingerprint {
			t.Fatal("a late 401 for the old token on B discarded A's newer shared token")
		}
		if got := tokenOf(t, b); got != "tok-2" {
			t.Fatalf("B after the 401 serves %q, want A's tok-2", got)
		}
		if got := tokenOf(t, a); got != "tok-2" {
			t.Fatalf("A serves %q, want tok-2", got)
		}
		if n := f.Calls(); n != 2 {
			t.Errorf("%d token requests, want 2", n)
		}
	})
}

// The idle deadline is shared: a token used only on replica A for hours
// stays alive on replica B, which serves it from its own cache.
func TestSharedIdleDeadlineCountsAnyReplicasUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{} // no expires_in: only the idle rule and the 12h cap apply
		store := &authtest.SharedStore{}
		rs := replicas(t, 2, f, store, auth.Options{})
		a, b := rs[0], rs[1]
		mustToken(t, a)
		mustToken(t, b)
		var lastUse time.Time
		for range 12 { // two hours of use on A only, every ten minutes
			time.Sleep(10 * time.Minute)
			mustToken(t, a)
			lastUse = time.Now()
		}
		time.Sleep(auth.DefaultSharedSyncInterval * 2)
		synctest.Wait()
		st := b.Accounts()[0]
		if st.State != auth.StateFresh {
			t.Fatalf("B's token state %v after A's use, want fresh", st.State)
		}
		if want := lastUse.Add(3599*time.Second - 30*time.Second); st.IdleDeadline.Before(want.Add(-time.Second)) {
			t.Errorf("B's idle deadline %v, want about %v (A's last use)", st.IdleDeadline, want)
		}
		if got := tokenOf(t, b); got != "tok-1" {
			t.Fatalf("B serves %q, want tok-1", got)
		}
		if s := b.Stats()[0]; s.Misses != 1 {
			t.Errorf("B had %d misses, want only its first: it must serve the token from its own cache", s.Misses)
		}
		if n := f.Calls(); n != 1 {
			t.Errorf("%d token requests, want 1", n)
		}
		if tok, _ := store.Peek("demo"); tok.IdleDeadline.Before(lastUse.Add(3569*time.Second - auth.DefaultSharedSyncInterval)) {
			t.Errorf("shared idle deadline %v does not follow A's last use %v", tok.IdleDeadline, lastUse)
		}
	})
}

// A refresh or an invalidation on one replica reaches the others within
// the sync interval, off their hit path.
func TestRefreshAndInvalidationReachOtherReplicasWithinTheSyncInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: time.Hour}
		rs := replicas(t, 3, f, &authtest.SharedStore{}, auth.Options{})
		for _, c := range rs {
			mustToken(t, c)
		}
		if _, err := rs[0].Refresh(t.Context(), "demo"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(auth.DefaultSharedSyncInterval)
		synctest.Wait()
		for i, c := range rs {
			if got := tokenOf(t, c); got != "tok-2" {
				t.Fatalf("replica %d serves %q one sync interval after the refresh, want tok-2", i, got)
			}
			if s := c.Stats()[0]; s.Misses != 1 {
				t.Errorf("replica %d: %d misses, want 1: the new token must arrive off the hit path", i, s.Misses)
			}
		}

		// EEO rejects tok-2 on replica 1: the others drop it too, and the
		// next calls share one new request.
		if dropped, _ := rs[1].Invalidate("demo", auth.NewSecret("tok-2")); !dropped {
			t.Fatal("Invalidate of the current token dropped nothing")
		}
		time.Sleep(auth.DefaultSharedSyncInterval)
		synctest.Wait()
		for i, c := range rs {
			if st := c.Accounts()[0].State; st != auth.StateNone {
				t.Fatalf("replica %d still holds a token one sync interval after it was invalidated (%v)", i, st)
			}
		}
		for i, c := range rs {
			if got := tokenOf(t, c); got != "tok-3" {
				t.Fatalf("replica %d serves %q, want tok-3", i, got)
			}
		}
		if n := f.Calls(); n != 3 {
			t.Errorf("%d token requests, want 3", n)
		}
		if s := rs[2].Stats()[0]; s.Invalidations[auth.CauseShared] != 2 {
			t.Errorf("replica 2 counted %d shared invalidations, want 2", s.Invalidations[auth.CauseShared])
		}
	})
}

// Every replica reaches its token's refresh point at the same time; one
// of them refreshes, the others take its token.
func TestBackgroundRefreshRunsOnceAcrossReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: 10 * time.Minute}
		rs := replicas(t, 3, f, &authtest.SharedStore{}, auth.Options{})
		for _, c := range rs {
			mustToken(t, c)
		}
		time.Sleep(8 * time.Minute) // past the refresh point (9m lifetime less a fifth)
		for _, c := range rs {
			if got := tokenOf(t, c); got != "tok-1" {
				t.Fatalf("served %q while refreshing, want the still valid tok-1", got)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for i, c := range rs {
			if got := tokenOf(t, c); got != "tok-2" {
				t.Fatalf("replica %d serves %q after the refresh, want tok-2", i, got)
			}
		}
		if n := f.Calls(); n != 2 {
			t.Errorf("%d token requests, want 2: one refresh for all replicas", n)
		}
	})
}

var errRedisDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

// A store outage fails no call that EEO can satisfy: each replica fetches
// and serves its own token, says so once, and says once when the store is
// back; the replicas then converge on one shared token again.
func TestStoreOutageFallsBackToLocalAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: time.Hour}
		store := &authtest.SharedStore{}
		logs := &logRecorder{}
		var changes []auth.SharedStatus
		var mu sync.Mutex
		opts := auth.Options{Logger: slog.New(logs), OnSharedStatus: func(s auth.SharedStatus) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, s)
		}}
		rs := replicas(t, 2, f, store, opts)
		a, b := rs[0], rs[1]
		if s := a.SharedStatus(); !s.Configured || !s.Up {
			t.Fatalf("initial status %+v, want configured and up", s)
		}

		store.Fail(errRedisDown)
		if got := tokenOf(t, a); got != "tok-1" {
			t.Fatalf("A with the store down: %q", got)
		}
		if got := tokenOf(t, b); got != "tok-2" {
			t.Fatalf("B with the store down: %q", got)
		}
		for range 5 { // misses, invalidations and sync rounds while down
			a.Drop("demo")
			mustToken(t, a)
			time.Sleep(auth.DefaultSharedSyncInterval)
		}
		s := a.SharedStatus()
		if s.Up || s.Transitions != 1 || !errors.Is(s.LastError, errRedisDown) {
			t.Fatalf("status while down %+v, want down once with the store's error", s)
		}
		loadsWhileDown := store.Calls("Load")

		store.Fail(nil)
		time.Sleep(auth.DefaultSharedSyncInterval)
		synctest.Wait()
		if s := a.SharedStatus(); !s.Up || s.Transitions != 2 {
			t.Fatalf("status one sync interval after the store returned %+v, want up", s)
		}
		if store.Calls("Load") <= loadsWhileDown {
			t.Error("the store was not asked again after it returned")
		}
		// Sharing resumes: the replicas' private tokens are dropped and one
		// request serves both.
		calls := f.Calls()
		ta, tb := tokenOf(t, a), tokenOf(t, b)
		if ta != tb || f.Calls() != calls+1 {
			t.Fatalf("after recovery A %q, B %q with %d new requests; want one shared token from 1 request", ta, tb, f.Calls()-calls)
		}

		var down, up int
		for _, m := range logs.warnings() {
			switch m {
			case "shared token store unavailable: tokens are fetched and served by this replica alone until it answers":
				down++
			case "shared token store is back: replicas share tokens again":
				up++
			default:
				t.Errorf("unexpected warning %q", m)
			}
		}
		if down != 2 || up != 2 { // one of each per replica
			t.Errorf("logged %d down and %d up warnings for 2 replicas, want 2 and 2", down, up)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(changes) != 4 {
			t.Errorf("OnSharedStatus called %d times, want 4 (down and up on 2 replicas)", len(changes))
		}
	})
}

// A store that does not answer costs a miss one call timeout, once: then
// the cache stops asking it on misses until the sync loop finds it back.
func TestHungStoreCostsOneCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		store := &authtest.SharedStore{}
		c := replicas(t, 1, f, store, auth.Options{})[0]
		store.Hang(true)
		start := time.Now()
		if got := tokenOf(t, c); got != "tok-1" {
			t.Fatalf("token %q", got)
		}
		if took := time.Since(start); took != auth.DefaultSharedCallTimeout {
			t.Errorf("first miss took %v, want one call timeout (%v)", took, auth.DefaultSharedCallTimeout)
		}
		c.Drop("demo")
		start = time.Now()
		if got := tokenOf(t, c); got != "tok-2" || time.Since(start) != 0 {
			t.Errorf("second miss: %q after %v; want tok-2 at once", got, time.Since(start))
		}
		store.Hang(false)
	})
}

// Refresh on a replica that holds no token still wants a new one, not the
// token the store already holds.
func TestRefreshWithoutLocalTokenFetchesANewOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		rs := replicas(t, 2, f, &authtest.SharedStore{}, auth.Options{})
		mustToken(t, rs[0])
		tok, err := rs[1].Refresh(t.Context(), "demo")
		if err != nil || tok.AccessToken.Reveal() != "tok-2" {
			t.Fatalf("Refresh = %q, %v; want a new tok-2", tok.AccessToken.Reveal(), err)
		}
	})
}

func TestNewCacheRejectsSharedOptionsThatCannotWork(t *testing.T) {
	store := &authtest.SharedStore{}
	for _, opts := range []auth.Options{
		{Shared: store, SharedSyncInterval: time.Minute}, // not under the 30s idle margin
		{Shared: store, SharedLockTTL: 5 * time.Second},  // under the 10s fetch timeout
		// Over the fetch and one call, not the Load and Store around it.
		{Shared: store, SharedLockTTL: auth.DefaultFetchTimeout + auth.DefaultSharedCallTimeout + 100*time.Millisecond},
	} {
		if c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: &authtest.Fetcher{}}}, opts); err == nil {
			c.Close()
			t.Errorf("options %+v accepted", opts)
		}
	}
}

// A short idle timeout (10s: a 1s idle margin) with a shared store and
// default sync interval works: the interval shrinks to fit the margin.
func TestSharedSyncIntervalDefaultFitsAShortIdleMargin(t *testing.T) {
	c, err := auth.NewCache([]auth.Account{{Name: "demo", Fetcher: &authtest.Fetcher{}}},
		auth.Options{Shared: &authtest.SharedStore{}, IdleTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("NewCache with idle_timeout 10s and a shared store: %v", err)
	}
	c.Close()
}

// The hit path does not change with a shared store: no store call, no
// allocation (BenchmarkTokenHitShared shows the same cost as without).
func TestHitPathWithSharedStoreDoesNotAllocateOrCallTheStore(t *testing.T) {
	store := &authtest.SharedStore{}
	c := replicas(t, 1, &authtest.Fetcher{}, store, auth.Options{})[0]
	ctx := context.Background()
	if _, err := c.Token(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	loads := store.Calls("Load")
	if n := testing.AllocsPerRun(1000, func() { c.Token(ctx, "demo") }); n != 0 {
		t.Fatalf("cache hit with a shared store allocates %v times", n)
	}
	if store.Calls("Load") != loads || store.Calls("Lock") != 1 {
		t.Fatal("cache hits called the shared store")
	}
}

// notifyingStore adds auth.SharedNotifier to the fake store: each Store
// and each InvalidateIf that dropped a token tells every watcher at once.
type notifyingStore struct {
	*authtest.SharedStore
	mu       sync.Mutex
	watchers map[int]func(string)
	next     int
}

func (n *notifyingStore) Watch(ctx context.Context, changed func(string)) {
	n.mu.Lock()
	if n.watchers == nil {
		n.watchers = make(map[int]func(string))
	}
	id := n.next
	n.next++
	n.watchers[id] = changed
	n.mu.Unlock()
	<-ctx.Done()
	n.mu.Lock()
	delete(n.watchers, id)
	n.mu.Unlock()
}

func (n *notifyingStore) notify(account string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, w := range n.watchers {
		w(account)
	}
}

func (n *notifyingStore) Store(ctx context.Context, account string, lease auth.FetchLease, tok auth.Token) error {
	err := n.SharedStore.Store(ctx, account, lease, tok)
	if err == nil {
		n.notify(account)
	}
	return err
}

func (n *notifyingStore) InvalidateIf(ctx context.Context, account, fp string) (bool, error) {
	dropped, err := n.SharedStore.InvalidateIf(ctx, account, fp)
	if dropped {
		n.notify(account)
	}
	return dropped, err
}

// With a store that announces changes, a refresh or an invalidation on one
// replica reaches the others at once, not at their next sync round.
func TestNoticesPropagateRefreshAndInvalidationAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{ExpiresIn: time.Hour}
		rs := replicas(t, 3, f, &notifyingStore{SharedStore: &authtest.SharedStore{}}, auth.Options{})
		for _, c := range rs {
			mustToken(t, c)
		}
		start := time.Now()
		if _, err := rs[0].Refresh(t.Context(), "demo"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the notices are handled; no time passes
		for i, c := range rs {
			if got := tokenOf(t, c); got != "tok-2" {
				t.Fatalf("replica %d serves %q right after the refresh, want tok-2", i, got)
			}
		}
		rs[1].Invalidate("demo", auth.NewSecret("tok-2"))
		synctest.Wait()
		for i, c := range rs {
			if st := c.Accounts()[0].State; st != auth.StateNone {
				t.Fatalf("replica %d still holds the token invalidated elsewhere (%v)", i, st)
			}
		}
		if time.Since(start) != 0 {
			t.Fatalf("%v passed: the changes waited for a sync round", time.Since(start))
		}
		if s := rs[2].Stats()[0]; s.Misses != 1 {
			t.Errorf("replica 2 had %d misses, want 1", s.Misses)
		}
	})
}

// A Refresh on a replica without a token, while another replica fetches
// the first one, takes that token: it is newer than any the caller could
// have been handed.
func TestRefreshWhileAnotherReplicaFetchesTakesItsToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		release := f.Hold()
		rs := replicas(t, 2, f, &authtest.SharedStore{}, auth.Options{})
		go rs[0].Token(t.Context(), "demo")
		synctest.Wait() // replica 0 holds the lock and waits for EEO
		got := make(chan string, 1)
		go func() {
			tok, err := rs[1].Refresh(t.Context(), "demo")
			if err != nil {
				t.Error(err)
			}
			got <- tok.AccessToken.Reveal()
		}()
		synctest.Wait()
		release()
		if tok := <-got; tok != "tok-1" || f.Calls() != 1 {
			t.Fatalf("Refresh got %q after %d requests; want replica 0's tok-1 and 1 request", tok, f.Calls())
		}
	})
}

// With notices, replicas waiting for the lock holder's token get it the
// moment it is stored, not at their next poll.
func TestNoticeWakesReplicasWaitingForTheHolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		release := f.Hold()
		rs := replicas(t, 3, f, &notifyingStore{SharedStore: &authtest.SharedStore{}}, auth.Options{})
		var wg sync.WaitGroup
		done := make([]time.Time, len(rs))
		for i, c := range rs {
			wg.Go(func() {
				if _, err := c.Token(t.Context(), "demo"); err != nil {
					t.Error(err)
				}
				done[i] = time.Now()
			})
		}
		time.Sleep(time.Second) // the waiters poll for a while
		synctest.Wait()
		stored := time.Now()
		release()
		wg.Wait()
		for i, d := range done {
			if d != stored {
				t.Errorf("replica %d got the token %v after it was stored, want at once", i, d.Sub(stored))
			}
		}
		if f.Calls() != 1 {
			t.Errorf("%d token requests, want 1", f.Calls())
		}
	})
}

// gateHandler is a slog.Handler that holds the goroutine logging msg, the
// first time, until release is closed; entered is closed when it does.
type gateHandler struct {
	msg              string
	once             sync.Once
	entered, release chan struct{}
}

func (g *gateHandler) Enabled(context.Context, slog.Level) bool { return true }
func (g *gateHandler) WithAttrs([]slog.Attr) slog.Handler       { return g }
func (g *gateHandler) WithGroup(string) slog.Handler            { return g }
func (g *gateHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == g.msg {
		g.once.Do(func() {
			close(g.entered)
			<-g.release
		})
	}
	return nil
}

// A call that misses while a 401 is being handled (the replica's copy is
// dropped, the shared one not yet) must not take the rejected token back
// from the store: it fetches a new one.
func TestRejectedTokenIsNotAdoptedWhileItsInvalidationIsUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &authtest.Fetcher{}
		gate := &gateHandler{msg: "token invalidated", entered: make(chan struct{}), release: make(chan struct{})}
		c := replicas(t, 1, f, &authtest.SharedStore{}, auth.Options{Logger: slog.New(gate)})[0]
		old := mustToken(t, c)
		invalidated := make(chan struct{})
		go func() {
			defer close(invalidated)
			c.Invalidate("demo", old.AccessToken)
		}()
		<-gate.entered // the local copy is dropped; the store still holds it
		during := tokenOf(t, c)
		close(gate.release)
		<-invalidated
		if during != "tok-2" {
			t.Errorf("a miss during the invalidation got %q, want a new tok-2", during)
		}
		if got := tokenOf(t, c); got != "tok-2" {
			t.Fatalf("after the invalidation the replica serves %q, want tok-2", got)
		}
	})
}
