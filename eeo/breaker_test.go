package eeo_test

import (
	"bytes"
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

// breakerOptions opens the breaker after n failures, keeps it open a long
// time, and does not retry, so that each call is one attempt.
func breakerOptions(n uint32) func(*eeo.Options) {
	return func(o *eeo.Options) {
		o.Retry.Disabled = true
		o.Breaker = eeo.BreakerPolicy{ConsecutiveFailures: n, OpenFor: time.Minute}
	}
}

func TestBreakerOpensAndFailsFast(t *testing.T) {
	h := newHarness(t, status(503), breakerOptions(3))
	ctx := testContext(t)
	for range 3 {
		_, err := h.client.GetImport(ctx, "imp_1")
		wantHTTPError(t, err, 503)
	}
	requests, fetches := h.requests.Load(), h.fetcher.Calls()
	calls := map[string]func() error{
		"get import":      func() error { _, err := h.client.GetImport(ctx, "imp_1"); return err },
		"list reports":    func() error { _, err := h.client.ListReports(ctx, eeo.ListQuery{}); return err },
		"download report": func() error { _, err := h.client.DownloadReport(ctx, "rpt_1"); return err },
		"create import": func() error {
			_, err := h.client.CreateImport(ctx, eeo.Upload{ImportType: "participants", Body: bytes.NewReader([]byte("a\n"))})
			return err
		},
	}
	for op, call := range calls {
		err := call()
		var ee *eeo.Error
		if !errors.As(err, &ee) || ee.Code != eeo.CodeCircuitOpen || ee.Op != op || ee.StatusCode != 0 || !ee.Temporary() || ee.Timeout() {
			t.Fatalf("%s: error %v, want circuit_open", op, err)
		}
		if ee.RetryAfter <= 0 || ee.RetryAfter > time.Minute {
			t.Errorf("%s: RetryAfter %v, want in (0, 1m]", op, ee.RetryAfter)
		}
		if !strings.Contains(err.Error(), "circuit_open") {
			t.Errorf("message %q", err.Error())
		}
	}
	if h.requests.Load() != requests || h.fetcher.Calls() != fetches {
		t.Errorf("an open breaker let a request (%d→%d) or a token fetch (%d→%d) through",
			requests, h.requests.Load(), fetches, h.fetcher.Calls())
	}
	if logs := h.logs.String(); !strings.Contains(logs, "level=WARN msg=\"eeo circuit breaker changed state\"") || !strings.Contains(logs, "to=open") {
		t.Errorf("state change not logged:\n%s", logs)
	}
}

// Retried attempts count one by one: a call that fails three times opens a
// breaker set to three, and returns its last real answer, not circuit_open.
func TestBreakerCountsAttempts(t *testing.T) {
	h := newHarness(t, status(500), func(o *eeo.Options) {
		o.Breaker = eeo.BreakerPolicy{ConsecutiveFailures: 3, OpenFor: time.Minute}
	})
	_, err := h.client.GetImport(testContext(t), "imp_1")
	wantHTTPError(t, err, 500)
	_, err = h.client.GetImport(testContext(t), "imp_1")
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.Code != eeo.CodeCircuitOpen || h.requests.Load() != 3 {
		t.Errorf("second call: %v after %d requests", err, h.requests.Load())
	}
}

// Answers that blame the request, not EEO, never open the breaker, and any
// answer resets the count of failures in a row.
func TestBreakerIgnoresClientErrors(t *testing.T) {
	h := newHarness(t, script(
		status(400), status(404), status(409), status(413), status(422), status(404), status(400), // clean
		status(503), status(404), status(503), // reset in between
		okJSON(importJSON),
	), breakerOptions(2))
	ctx := testContext(t)
	for i := range 11 {
		_, err := h.client.GetImport(ctx, "imp_1")
		var ee *eeo.Error
		if errors.As(err, &ee) && ee.Code == eeo.CodeCircuitOpen {
			t.Fatalf("call %d: breaker open", i+1)
		}
	}
	if n := h.requests.Load(); n != 11 {
		t.Errorf("%d requests, want 11", n)
	}
}

// The caller giving up says nothing about EEO.
func TestBreakerIgnoresCallerCancellation(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/imports/slow" {
			<-r.Context().Done()
			return
		}
		reply(w, http.StatusOK, importJSON)
	}, breakerOptions(1))
	for range 3 {
		ctx, cancel := context.WithTimeout(testContext(t), 20*time.Millisecond)
		_, err := h.client.GetImport(ctx, "slow")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v", err)
		}
	}
	if _, err := h.client.GetImport(testContext(t), "imp_1"); err != nil {
		t.Fatalf("after cancellations: %v", err)
	}
}
