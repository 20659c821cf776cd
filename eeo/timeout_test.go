package eeo_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// The time limits run on the time package's clock, so these tests run in
// synctest bubbles, over in-memory connections, where that clock is fake:
// a timeout passes in no real time, and a busy machine cannot make a call
// late.

func TestOperationTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newMemHarness(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			func(o *eeo.Options) { o.OperationTimeout = 100 * time.Millisecond })
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // the caller's deadline is later
		defer cancel()
		start := time.Now()
		_, err := h.client.GetImport(ctx, "imp_1")
		var ee *eeo.Error
		if !errors.As(err, &ee) || ee.StatusCode != 0 || !ee.Timeout() || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			t.Fatalf("error %v", err)
		}
		if !strings.Contains(err.Error(), "operation timeout") || time.Since(start) != 100*time.Millisecond {
			t.Errorf("error %q after %v", err, time.Since(start))
		}
		// The deadline is the whole call's: nothing is retried after it.
		if n := h.requests.Load(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestDownloadOperationTimeoutBeforeHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newMemHarness(t, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/content") {
				<-r.Context().Done()
				return
			}
			reply(w, http.StatusOK, importJSON)
		}, func(o *eeo.Options) {
			o.OperationTimeout = 100 * time.Millisecond
			o.MaxConcurrent = 1
		})
		ctx := t.Context()
		_, err := h.client.DownloadReport(ctx, "rpt_1")
		var ee *eeo.Error
		if !errors.As(err, &ee) || ee.StatusCode != 0 || !ee.Timeout() || errors.Is(err, context.Canceled) ||
			!strings.Contains(err.Error(), "operation timeout") || h.requests.Load() != 1 {
			t.Fatalf("error %v after %d requests", err, h.requests.Load())
		}
		if _, err := h.client.GetImport(ctx, "imp_1"); err != nil {
			t.Fatalf("the slot was not given back: %v", err)
		}
	})
}

// The operation timeout covers a download only until its headers: a body
// that keeps moving may take longer.
func TestDownloadSlowButMovingBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newMemHarness(t, func(w http.ResponseWriter, r *http.Request) {
			for i := range 8 {
				io.WriteString(w, strconv.Itoa(i)+"\n")
				w.(http.Flusher).Flush()
				time.Sleep(40 * time.Millisecond)
			}
		}, func(o *eeo.Options) {
			o.OperationTimeout = 100 * time.Millisecond
			o.StreamIdleTimeout = 500 * time.Millisecond
		})
		d, err := h.client.DownloadReport(t.Context(), "rpt_1")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Body.Close()
		if body, err := io.ReadAll(d.Body); err != nil || string(body) != "0\n1\n2\n3\n4\n5\n6\n7\n" {
			t.Errorf("body %q, err %v", body, err)
		}
	})
}

func TestDownloadStallTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newMemHarness(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a,b\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done() // stalls until the client gives up
		}, func(o *eeo.Options) { o.StreamIdleTimeout = 100 * time.Millisecond })
		d, err := h.client.DownloadReport(t.Context(), "rpt_1")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Body.Close()
		start := time.Now()
		body, err := io.ReadAll(d.Body)
		var ee *eeo.Error
		if string(body) != "a,b\n" || !errors.As(err, &ee) || !ee.Timeout() || ee.Op != "download report" || errors.Is(err, context.Canceled) {
			t.Fatalf("body %q, error %v", body, err)
		}
		if !strings.Contains(err.Error(), "stalled") || time.Since(start) > 100*time.Millisecond {
			t.Errorf("error %q after %v", err, time.Since(start))
		}
	})
}

func TestUploadStallTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		serverErr := make(chan error, 1)
		h := newMemHarness(t, func(w http.ResponseWriter, r *http.Request) {
			_, err := io.Copy(io.Discard, r.Body)
			serverErr <- err
		}, func(o *eeo.Options) { o.StreamIdleTimeout = 100 * time.Millisecond })
		pr, pw := io.Pipe()
		defer pw.Close() // lets the abandoned read of the source go
		go pw.Write(csvData(10))
		start := time.Now()
		_, err := h.client.CreateImport(t.Context(), eeo.Upload{ImportType: "participants", FileName: "p.csv", Size: -1, Body: pr})
		var ee *eeo.Error
		var be *eeo.BodyError
		if !errors.As(err, &ee) || !ee.Timeout() || errors.As(err, &be) || errors.Is(err, context.Canceled) || ee.Op != "create import" {
			t.Fatalf("error %v", err)
		}
		if elapsed := time.Since(start); elapsed != 100*time.Millisecond {
			t.Errorf("returned after %v, want the idle timeout", elapsed)
		}
		select {
		case err := <-serverErr:
			if err == nil {
				t.Error("the server received a complete body")
			}
		case <-time.After(5 * time.Second):
			t.Error("the server's read never ended")
		}
	})
}

// An upload that keeps moving is not timed out, however long it takes.
func TestUploadSlowButMoving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newMemHarness(t, func(w http.ResponseWriter, r *http.Request) {
			if got := readBody(r); got.err != nil || got.n != 8*100 {
				t.Errorf("server read %d bytes, %v", got.n, got.err)
			}
			reply(w, http.StatusCreated, importJSON)
		}, func(o *eeo.Options) {
			o.StreamIdleTimeout = 400 * time.Millisecond
			o.OperationTimeout = 50 * time.Millisecond // not for uploads
		})
		pr, pw := io.Pipe()
		go func() {
			for range 8 {
				time.Sleep(40 * time.Millisecond)
				pw.Write(make([]byte, 100))
			}
			pw.Close()
		}()
		if _, err := h.client.CreateImport(t.Context(), eeo.Upload{ImportType: "participants", FileName: "p.csv", Size: -1, Body: pr}); err != nil {
			t.Fatal(err)
		}
	})
}
