package eeo_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// script answers the n-th request (1-based) with steps[n-1], and every later
// one with the last step.
func script(steps ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1)), len(steps)) - 1
		steps[i](w, r)
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		replyError(w, code, strings.ReplaceAll(strings.ToLower(http.StatusText(code)), " ", "_"), "")
	}
}

func retryAfter(code int, value string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", value)
		status(code)(w, r)
	}
}

func okJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		reply(w, http.StatusOK, body)
	}
}

// noBreaker keeps the breaker out of tests about retries.
func noBreaker(o *eeo.Options) { o.Breaker.Disabled = true }

// wantHTTPError fails t unless err is a clean *eeo.Error for HTTP status code.
// (testkit.WantStatus is for gRPC statuses.)
func wantHTTPError(t *testing.T, err error, code int) *eeo.Error {
	t.Helper()
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.StatusCode != code {
		t.Fatalf("error %v, want an *eeo.Error with HTTP %d", err, code)
	}
	checkClean(t, err)
	return ee
}

func TestRetryTransientFailureThenSuccess(t *testing.T) {
	h := newHarness(t, script(status(503), status(503), okJSON(importJSON)), noBreaker)
	got, err := h.client.GetImport(testContext(t), "imp_1")
	if err != nil {
		t.Fatal(err)
	}
	if got != wantImport {
		t.Errorf("import %+v", got)
	}
	if n := h.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	// Full jitter: each pause is in [0, ceiling], the ceiling doubling from
	// InitialBackoff.
	sleeps := h.clock.Sleeps()
	if len(sleeps) != 2 || sleeps[0] < 0 || sleeps[0] > 200*time.Millisecond || sleeps[1] < 0 || sleeps[1] > 400*time.Millisecond {
		t.Errorf("pauses %v, want two within [0,200ms] and [0,400ms]", sleeps)
	}
	if logs := h.logs.String(); strings.Count(logs, "retrying") != 2 || !strings.Contains(logs, "status=503") || !strings.Contains(logs, `op="get import"`) {
		t.Errorf("retries not logged:\n%s", logs)
	}
	if strings.Contains(h.logs.String(), secretText) {
		t.Error("logs contain a response body")
	}
}

func TestRetryJitterStaysUnderMaxBackoff(t *testing.T) {
	h := newHarness(t, status(503), noBreaker, func(o *eeo.Options) {
		o.Retry = eeo.RetryPolicy{MaxAttempts: 8, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, MaxElapsed: time.Hour}
	})
	wantHTTPError(t, func() error { _, err := h.client.ListImports(testContext(t), eeo.ListQuery{}); return err }(), 503)
	sleeps := h.clock.Sleeps()
	ceilings := []time.Duration{100, 200, 300, 300, 300, 300, 300}
	if len(sleeps) != len(ceilings) {
		t.Fatalf("pauses %v, want %d", sleeps, len(ceilings))
	}
	for i, d := range sleeps {
		if d < 0 || d > ceilings[i]*time.Millisecond {
			t.Errorf("pause %d is %v, want within [0,%vms]", i, d, ceilings[i])
		}
	}
}

// Which answers are retried: transport-level trouble, 429 and 5xx. Each
// call here fails once and then succeeds if retried.
func TestRetryWhichStatuses(t *testing.T) {
	for _, tt := range []struct {
		status int
		retry  bool
	}{
		{429, true}, {500, true}, {502, true}, {503, true}, {504, true},
		{400, false}, {403, false}, {404, false}, {409, false}, {413, false}, {422, false}, {501, false},
	} {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			h := newHarness(t, script(status(tt.status), okJSON(importJSON)), noBreaker)
			_, err := h.client.GetImport(testContext(t), "imp_1")
			want := int64(1)
			if tt.retry {
				want = 2
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantHTTPError(t, err, tt.status)
			}
			if n := h.requests.Load(); n != want {
				t.Errorf("%d requests, want %d", n, want)
			}
		})
	}
}

func TestMalformedAnswerIsNotRetried(t *testing.T) {
	h := newHarness(t, script(okJSON(`{"id":`), okJSON(importJSON)), noBreaker)
	_, err := h.client.GetImport(testContext(t), "imp_1")
	if ee := wantHTTPError(t, err, 200); ee.Code != eeo.CodeMalformedResponse || h.requests.Load() != 1 {
		t.Errorf("error %v after %d requests", err, h.requests.Load())
	}
}

// A connection dropped before any answer is retried.
func TestRetryTransportError(t *testing.T) {
	h := newHarness(t, script(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}, okJSON(reportJSON)), noBreaker)
	if _, err := h.client.GetReport(testContext(t), "rpt_1"); err != nil {
		t.Fatal(err)
	}
	if n := h.requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestRetryAfterIsThePause(t *testing.T) {
	t.Run("seconds", func(t *testing.T) {
		h := newHarness(t, script(retryAfter(429, "3"), okJSON(importJSON)), noBreaker)
		if _, err := h.client.GetImport(testContext(t), "imp_1"); err != nil {
			t.Fatal(err)
		}
		// Longer than MaxBackoff would allow a jittered pause, and honoured.
		if sleeps := h.clock.Sleeps(); !slices.Equal(sleeps, []time.Duration{3 * time.Second}) {
			t.Errorf("pauses %v, want [3s]", sleeps)
		}
	})
	t.Run("HTTP date", func(t *testing.T) {
		var h *harness
		h = newHarness(t, script(
			// Dated by the client's clock, which is what it reads dates by.
			func(w http.ResponseWriter, r *http.Request) {
				retryAfter(503, h.clock.Now().Add(5*time.Second).UTC().Format(http.TimeFormat))(w, r)
			},
			okJSON(importJSON)), noBreaker)
		if _, err := h.client.GetImport(testContext(t), "imp_1"); err != nil {
			t.Fatal(err)
		}
		// The date has whole seconds, so the pause is in (4s, 5s].
		if sleeps := h.clock.Sleeps(); len(sleeps) != 1 || sleeps[0] <= 4*time.Second || sleeps[0] > 5*time.Second {
			t.Errorf("pauses %v, want one in (4s,5s]", sleeps)
		}
	})
}

// A Retry-After that would end beyond the retry budget ends the call at once,
// with the answer's RetryAfter for the caller.
func TestRetryAfterBeyondBudget(t *testing.T) {
	h := newHarness(t, retryAfter(503, "15"), noBreaker, func(o *eeo.Options) { o.Retry.MaxElapsed = 10 * time.Second })
	_, err := h.client.GetImport(t.Context(), "imp_1") // no deadline: only the budget limits
	ee := wantHTTPError(t, err, 503)
	if ee.RetryAfter != 15*time.Second || h.requests.Load() != 1 || len(h.clock.Sleeps()) != 0 {
		t.Errorf("RetryAfter %v after %d requests and pauses %v", ee.RetryAfter, h.requests.Load(), h.clock.Sleeps())
	}
	if !strings.Contains(h.logs.String(), "retry budget exhausted") {
		t.Errorf("reason not logged:\n%s", h.logs.String())
	}
}

// Nor is a pause begun that would outlast the caller's deadline. The call
// runs in a synctest bubble on the time package's (fake) clock, so "no
// pause" is exactly no time passing, however busy the machine.
func TestRetryPauseBeyondDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &testkit.SyncBuffer{}
		h := newMemHarness(t, retryAfter(429, "8"), noBreaker, func(o *eeo.Options) {
			o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := h.client.GetImport(ctx, "imp_1")
		ee := wantHTTPError(t, err, 429)
		if elapsed := time.Since(start); ee.RetryAfter != 8*time.Second || h.requests.Load() != 1 || elapsed != 0 {
			t.Errorf("RetryAfter %v after %d requests and %v; want 8s after one request and no pause", ee.RetryAfter, h.requests.Load(), elapsed)
		}
		if !strings.Contains(logs.String(), "deadline too close") {
			t.Errorf("reason not logged:\n%s", logs.String())
		}
	})
}

func TestRetryMaxAttempts(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy eeo.RetryPolicy
		want   int64
	}{
		{"default", eeo.RetryPolicy{}, 3},
		{"five", eeo.RetryPolicy{MaxAttempts: 5}, 5},
		{"one", eeo.RetryPolicy{MaxAttempts: 1}, 1},
		{"disabled", eeo.RetryPolicy{MaxAttempts: 5, Disabled: true}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, status(503), noBreaker, func(o *eeo.Options) { o.Retry = tt.policy })
			_, err := h.client.ListReportTypes(testContext(t))
			wantHTTPError(t, err, 503)
			if n, s := h.requests.Load(), len(h.clock.Sleeps()); n != tt.want || int64(s) != tt.want-1 {
				t.Errorf("%d requests and %d pauses, want %d and %d", n, s, tt.want, tt.want-1)
			}
		})
	}
}

// MaxElapsed bounds the attempts as well: with 1s pauses and 3.5s of budget,
// the fourth attempt is the last.
func TestRetryMaxElapsed(t *testing.T) {
	h := newHarness(t, retryAfter(503, "1"), noBreaker, func(o *eeo.Options) {
		o.Retry = eeo.RetryPolicy{MaxAttempts: 100, MaxElapsed: 3500 * time.Millisecond}
	})
	_, err := h.client.ListImportTypes(testContext(t))
	wantHTTPError(t, err, 503)
	if n, s := h.requests.Load(), h.clock.Sleeps(); n != 4 || !slices.Equal(s, []time.Duration{time.Second, time.Second, time.Second}) {
		t.Errorf("%d requests, pauses %v; want 4 and three of 1s", n, s)
	}
}

// The caller's cancellation ends a pause at once, with the real Sleep (the
// time package's, fake in the synctest bubble: "at once" is exact).
func TestRetryPauseEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		arrived := make(chan struct{}, 1)
		h := newMemHarness(t, func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			retryAfter(503, "10")(w, r)
		}, noBreaker)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-arrived
			time.Sleep(50 * time.Millisecond) // into the 10s pause
			cancel()
		}()
		start := time.Now()
		_, err := h.client.GetImport(ctx, "imp_1")
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("returned after %v, want 50ms: when the caller cancelled", d)
		}
		var ee *eeo.Error
		if !errors.As(err, &ee) || !errors.Is(err, context.Canceled) || ee.Timeout() || h.requests.Load() != 1 {
			t.Errorf("error %v after %d requests", err, h.requests.Load())
		}
	})
}

func TestCreateReportRetriedOnlyWithRequestID(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	handler := func() http.HandlerFunc {
		return script(status(503), func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			reply(w, http.StatusCreated, reportJSON)
		})
	}
	record := func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			mu.Unlock()
			next(w, r)
		}
	}

	h := newHarness(t, record(handler()), noBreaker)
	_, err := h.client.CreateReport(testContext(t), eeo.ReportRequest{ReportType: "grants"})
	wantHTTPError(t, err, 503)
	if n := h.requests.Load(); n != 1 {
		t.Errorf("without a request id: %d requests, want 1", n)
	}

	mu.Lock()
	keys = nil
	mu.Unlock()
	h = newHarness(t, record(handler()), noBreaker)
	if _, err := h.client.CreateReport(testContext(t), eeo.ReportRequest{ReportType: "grants", RequestID: "req-9"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(keys, []string{"req-9", "req-9"}) {
		t.Errorf("with a request id: keys sent %q, want it twice", keys)
	}
}

func TestCancelCallsAreRetried(t *testing.T) {
	h := newHarness(t, script(status(502), okJSON(importJSON), status(504), okJSON(reportJSON)), noBreaker)
	ctx := testContext(t)
	if _, err := h.client.CancelImport(ctx, "imp_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.CancelReport(ctx, "rpt_1"); err != nil {
		t.Fatal(err)
	}
	if n := h.requests.Load(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

// An upload's body is a one-shot stream: a 503 is final.
func TestCreateImportIsNeverRetried(t *testing.T) {
	data := csvData(100)
	h := newHarness(t, script(status(503), okJSON(importJSON)), noBreaker)
	src := &sourceReader{r: bytes.NewReader(data)}
	_, err := h.client.CreateImport(testContext(t), eeo.Upload{ImportType: "participants", FileName: "p.csv",
		RequestID: "req-1", Size: int64(len(data)), Body: src})
	wantHTTPError(t, err, 503)
	if n := h.requests.Load(); n != 1 || len(h.clock.Sleeps()) != 0 {
		t.Errorf("%d requests and pauses %v, want 1 and none", n, h.clock.Sleeps())
	}
}

func TestDownloadRetriedBeforeBody(t *testing.T) {
	h := newHarness(t, script(status(503), func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a,b\n")
	}), noBreaker)
	d, err := h.client.DownloadReport(testContext(t), "rpt_1")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	if body, err := io.ReadAll(d.Body); err != nil || string(body) != "a,b\n" || h.requests.Load() != 2 {
		t.Errorf("body %q, err %v, after %d requests", body, err, h.requests.Load())
	}
}
