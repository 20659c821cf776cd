package eeo_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// recorder is an Observer that writes each event as a line.
type recorder struct {
	eeo.NopObserver
	mu     sync.Mutex
	events []string // guarded by mu
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) SlotWaited(_ context.Context, op string, _ time.Duration, err error) {
	r.add("slot %s err=%v", op, err != nil)
}

func (r *recorder) AttemptStarted(ctx context.Context, op string, n int) context.Context {
	r.add("start %s #%d", op, n)
	return ctx
}

func (r *recorder) AttemptEnded(_ context.Context, op string, n int, status int, err error, _ time.Duration) {
	r.add("end %s #%d status=%d err=%v", op, n, status, err != nil)
}

func (r *recorder) Retrying(_ context.Context, op string, n int, _ time.Duration, _ error) {
	r.add("retry %s after #%d", op, n)
}

func (r *recorder) BreakerChanged(account, from, to string) {
	r.add("breaker %s %s->%s", account, from, to)
}

func (r *recorder) Streamed(_ context.Context, op string, n int64) { r.add("streamed %s %d", op, n) }

// The Observer sees every step of a call in order: the slot, each attempt
// with its status, the retries, the bytes of a stream and the breaker's
// changes — what metrics and traces are built from.
func TestObserverSeesEveryStep(t *testing.T) {
	rec := &recorder{}
	h := newHarness(t, script(status(503), okJSON(importJSON), status(503)), func(o *eeo.Options) {
		o.Observer = rec
		o.Breaker = eeo.BreakerPolicy{ConsecutiveFailures: 2, OpenFor: time.Hour}
	})
	ctx := testContext(t)
	if _, err := h.client.GetImport(ctx, "imp_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.GetImport(ctx, "imp_1"); err == nil {
		t.Fatal("no error from a failing EEO")
	}
	want := []string{
		"slot get import err=false", "start get import #1", "end get import #1 status=503 err=true", "retry get import after #1",
		"start get import #2", "end get import #2 status=200 err=false",
		"slot get import err=false", "start get import #1", "end get import #1 status=503 err=true", "retry get import after #1",
		"start get import #2", "end get import #2 status=503 err=true", "breaker acme closed->open",
		"retry get import after #2", // and the breaker stops the third attempt
	}
	if got := rec.Events(); !slices.Equal(got, want) {
		t.Errorf("events\n%q\nwant\n%q", got, want)
	}
}

// Uploads and downloads report the bytes they moved once they end.
func TestObserverCountsStreamedBytes(t *testing.T) {
	rec := &recorder{}
	data := csvData(100)
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.Copy(io.Discard, r.Body)
			reply(w, http.StatusCreated, importJSON)
			return
		}
		w.Write(data)
	}, func(o *eeo.Options) { o.Observer = rec })
	ctx := testContext(t)
	if _, err := h.client.CreateImport(ctx, eeo.Upload{ImportType: "participants", FileName: "p.csv", Size: -1, Body: onlyReader{bytes.NewReader(data)}}); err != nil {
		t.Fatal(err)
	}
	d, err := h.client.DownloadReport(ctx, "rpt_1")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, d.Body)
	d.Body.Close()
	d.Body.Close() // counted once
	n := len(data)
	want := []string{
		"slot create import err=false", "start create import #1", "end create import #1 status=201 err=false", fmt.Sprintf("streamed create import %d", n),
		"slot download report err=false", "start download report #1", "end download report #1 status=200 err=false", fmt.Sprintf("streamed download report %d", n),
	}
	if got := rec.Events(); !slices.Equal(got, want) {
		t.Errorf("events\n%q\nwant\n%q", got, want)
	}
}
