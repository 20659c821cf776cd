package eeo_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// staticTokens is a TokenSource that never fetches, for bubbles.
type staticTokens struct{}

func (staticTokens) Token(context.Context, string) (auth.Token, error) {
	return auth.Token{Account: testAccount, AccessToken: auth.NewSecret("tok-static"), TokenType: "Bearer"}, nil
}

func (staticTokens) Invalidate(string, auth.Secret) (bool, error) { return true, nil }

// fakeEEO is an in-memory transport answering with the status in next (200
// with an import when zero), optionally waiting for hold to close first. A
// synctest bubble cannot use real sockets.
type fakeEEO struct {
	requests atomic.Int64
	mu       sync.Mutex
	next     int           // guarded by mu
	hold     chan struct{} // guarded by mu
}

func (f *fakeEEO) set(status int, hold chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next, f.hold = status, hold
}

func (f *fakeEEO) RoundTrip(req *http.Request) (*http.Response, error) {
	f.requests.Add(1)
	f.mu.Lock()
	status, hold := f.next, f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	body := importJSON
	if status == 0 {
		status = http.StatusOK
	} else {
		body = `{"error":"unavailable"}`
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req}, nil
}

// The breaker's own clock is the time package's, so this test runs in a
// synctest bubble, where that clock is fake: OpenFor passes in no time.
func TestBreakerHalfOpensAfterOpenFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eeoFake := &fakeEEO{}
		logs := &testkit.SyncBuffer{}
		c, err := eeo.New(testAccount, "http://eeo.test", staticTokens{}, eeo.Options{
			HTTPClient: &http.Client{Transport: eeoFake},
			Logger:     slog.New(slog.NewTextHandler(logs, nil)),
			Retry:      eeo.RetryPolicy{Disabled: true},
			Breaker:    eeo.BreakerPolicy{ConsecutiveFailures: 2, OpenFor: 10 * time.Second},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		get := func() error { _, err := c.GetImport(ctx, "imp_1"); return err }
		circuitOpen := func(err error) *eeo.Error {
			t.Helper()
			var ee *eeo.Error
			if !errors.As(err, &ee) || ee.Code != eeo.CodeCircuitOpen {
				t.Fatalf("error %v, want circuit_open", err)
			}
			return ee
		}

		eeoFake.set(http.StatusServiceUnavailable, nil)
		get()
		get()
		if ee := circuitOpen(get()); ee.RetryAfter != 10*time.Second {
			t.Errorf("RetryAfter %v, want 10s", ee.RetryAfter)
		}
		time.Sleep(4 * time.Second)
		if ee := circuitOpen(get()); ee.RetryAfter != 6*time.Second {
			t.Errorf("RetryAfter %v after 4s, want 6s", ee.RetryAfter)
		}
		if n := eeoFake.requests.Load(); n != 2 {
			t.Fatalf("%d requests while open, want 2", n)
		}

		// Half-open: one probe goes through; while it is out, the rest
		// still fail fast. A failed probe opens the breaker again.
		time.Sleep(6*time.Second + time.Millisecond)
		if err := get(); err == nil || eeoFake.requests.Load() != 3 {
			t.Fatalf("probe: %v after %d requests", err, eeoFake.requests.Load())
		}
		circuitOpen(get())

		time.Sleep(10*time.Second + time.Millisecond)
		hold := make(chan struct{})
		eeoFake.set(0, hold)
		probe := make(chan error, 1)
		go func() { probe <- get() }()
		synctest.Wait() // the probe is in the transport
		if ee := circuitOpen(get()); ee.RetryAfter <= 0 {
			t.Errorf("RetryAfter %v while the probe is out", ee.RetryAfter)
		}
		close(hold)
		if err := <-probe; err != nil {
			t.Fatalf("probe: %v", err)
		}
		// Closed again.
		for range 3 {
			if err := get(); err != nil {
				t.Fatal(err)
			}
		}
		if n := eeoFake.requests.Load(); n != 7 {
			t.Errorf("%d requests, want 7", n)
		}
		for _, change := range []string{"from=closed to=open", "from=open to=half-open", "from=half-open to=open", "from=half-open to=closed"} {
			if !strings.Contains(logs.String(), change) {
				t.Errorf("no %q logged:\n%s", change, logs.String())
			}
		}
	})
}
