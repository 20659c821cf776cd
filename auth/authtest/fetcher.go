// Package authtest provides a token Fetcher and an in-memory SharedStore
// for tests of code built on the auth cache (several Caches on one
// SharedStore play replicas), in the manner of net/http/httptest.
package authtest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// Fetcher is an auth.Fetcher whose answers a test steers. Its N-th request
// issues the token "tok-N" unless Fail or Hold say otherwise.
type Fetcher struct {
	// ExpiresIn is reported with every token; zero reports none.
	ExpiresIn time.Duration

	calls atomic.Int64
	mu    sync.Mutex
	fail  error         // guarded by mu; returned while set
	gate  chan struct{} // guarded by mu; when set, requests wait for it to close
}

// FetchToken implements auth.Fetcher.
func (f *Fetcher) FetchToken(ctx context.Context) (auth.Grant, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	gate, fail := f.gate, f.fail
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return auth.Grant{}, &auth.TokenError{Kind: auth.KindTimeout, Err: ctx.Err()}
		}
	}
	if fail != nil {
		return auth.Grant{}, fail
	}
	return auth.Grant{AccessToken: auth.NewSecret("tok-" + strconv.FormatInt(n, 10)), TokenType: "Bearer", ExpiresIn: f.ExpiresIn}, nil
}

// Calls returns how many token requests were made.
func (f *Fetcher) Calls() int64 { return f.calls.Load() }

// Fail makes every request fail with err until Fail(nil).
func (f *Fetcher) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// Hold makes requests wait until release is called (or their context ends).
func (f *Fetcher) Hold() (release func()) {
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	return sync.OnceFunc(func() {
		f.mu.Lock()
		if f.gate == gate {
			f.gate = nil
		}
		f.mu.Unlock()
		close(gate)
	})
}
