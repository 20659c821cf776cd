package eeo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

func TestMaxConcurrentQueuesAndLimits(t *testing.T) {
	entered := make(chan string, 2)
	release := make(chan struct{})
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		entered <- r.URL.Path
		<-release
		reply(w, http.StatusOK, importJSON)
	}, func(o *eeo.Options) { o.MaxConcurrent = 1 })
	ctx := testContext(t)
	var wg sync.WaitGroup
	defer wg.Wait()
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock()
	wg.Go(func() {
		if _, err := h.client.GetImport(ctx, "first"); err != nil {
			t.Error(err)
		}
	})
	<-entered

	// A call whose deadline passes while it waits is refused, untried.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := h.client.GetImport(short, "limited")
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.Code != eeo.CodeConcurrencyLimited || !errors.Is(err, context.DeadlineExceeded) || ee.StatusCode != 0 || !ee.Temporary() {
		t.Fatalf("error %v, want concurrency_limited", err)
	}

	// One that can wait, waits.
	wg.Go(func() {
		if _, err := h.client.GetImport(ctx, "second"); err != nil {
			t.Error(err)
		}
	})
	select {
	case p := <-entered:
		t.Fatalf("%s reached the server while the only slot was taken", p)
	case <-time.After(100 * time.Millisecond):
	}
	unblock()
	if p := <-entered; p != "/v1/imports/second" {
		t.Errorf("then %s", p)
	}
	wg.Wait()
	if n := h.requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestDownloadHoldsSlotUntilClose(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/content") {
			io.WriteString(w, "a,b\n")
			return
		}
		reply(w, http.StatusOK, importJSON)
	}, func(o *eeo.Options) { o.MaxConcurrent = 1 })
	ctx := testContext(t)
	d, err := h.client.DownloadReport(ctx, "rpt_1")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(d.Body) // read to the end, but not closed: the slot is still held
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var ee *eeo.Error
	if _, err := h.client.GetImport(short, "imp_1"); !errors.As(err, &ee) || ee.Code != eeo.CodeConcurrencyLimited {
		t.Fatalf("while the download is open: %v", err)
	}
	d.Body.Close()
	d.Body.Close() // a second Close gives nothing back twice
	if _, err := h.client.GetImport(ctx, "imp_1"); err != nil {
		t.Fatalf("after Close: %v", err)
	}
}

// A failed download gives its slot back at once.
func TestFailedDownloadReleasesSlot(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		replyError(w, http.StatusConflict, "report_not_ready", "")
	}, func(o *eeo.Options) { o.MaxConcurrent = 1 })
	ctx := testContext(t)
	for range 3 {
		var ee *eeo.Error
		if _, err := h.client.DownloadReport(ctx, "rpt_1"); !errors.As(err, &ee) || ee.Code != eeo.CodeReportNotReady {
			t.Fatalf("error %v", err)
		}
	}
}

// A context that has already ended is not a concurrency limit.
func TestEndedContextIsNotConcurrencyLimited(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent") })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := h.client.GetImport(ctx, "imp_1")
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.Code != "" || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
}
