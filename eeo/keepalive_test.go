package eeo_test

import (
	"bytes"
	"net/http"
	"sync"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// dropConn reads a request's headers and closes the connection without an
// answer: what a client sees when EEO (or a proxy) closed an idle keep-alive
// connection just as the request was written to it.
func dropConn(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}
}

// remotes records the client address of every request: one per connection.
type remotes struct {
	mu    sync.Mutex
	addrs []string
}

func (rs *remotes) wrap(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.addrs = append(rs.addrs, r.RemoteAddr)
		rs.mu.Unlock()
		next(w, r)
	}
}

// conns says how many connections the requests came over.
func (rs *remotes) conns() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	seen := map[string]bool{}
	for _, a := range rs.addrs {
		seen[a] = true
	}
	return len(seen)
}

// A GET over a pooled connection the server has closed is sent again by
// net/http's Transport on a fresh connection, at once: the caller sees
// neither an error nor the retry policy's pause.
func TestGetSurvivesDeadPooledConnection(t *testing.T) {
	var rs remotes
	h := newHarness(t, rs.wrap(script(okJSON(importJSON), dropConn(t), okJSON(importJSON))), noBreaker)
	ctx := testContext(t)
	for i := range 2 {
		if _, err := h.client.GetImport(ctx, "imp_1"); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if n, c := h.requests.Load(), rs.conns(); n != 3 || c != 2 {
		t.Errorf("%d requests over %d connections, want 3 over 2", n, c)
	}
	if s := h.clock.Sleeps(); len(s) != 0 {
		t.Errorf("pauses %v, want none", s)
	}
}

// Cancels are POSTs without a body: the Transport does not repeat them on
// its own, but the retry policy does.
func TestCancelSurvivesDeadPooledConnection(t *testing.T) {
	var rs remotes
	h := newHarness(t, rs.wrap(script(okJSON(importJSON), dropConn(t), okJSON(importJSON))), noBreaker)
	ctx := testContext(t)
	if _, err := h.client.GetImport(ctx, "imp_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.CancelImport(ctx, "imp_1"); err != nil {
		t.Fatal(err)
	}
	if n := h.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// An upload's body is a one-shot stream, so neither the Transport nor the
// retry policy may send it again, even with an Idempotency-Key (which makes
// the Transport repeat a POST only when it can rewind the body): the caller
// gets the error and sends the file again.
func TestUploadOverDeadPooledConnectionIsNotRetried(t *testing.T) {
	var rs remotes
	h := newHarness(t, rs.wrap(script(okJSON(importJSON), dropConn(t), okJSON(importJSON))), noBreaker)
	ctx := testContext(t)
	if _, err := h.client.GetImport(ctx, "imp_1"); err != nil {
		t.Fatal(err)
	}
	data := csvData(100)
	_, err := h.client.CreateImport(ctx, eeo.Upload{ImportType: "participants", FileName: "p.csv",
		RequestID: "req-1", Size: int64(len(data)), Body: &sourceReader{r: bytes.NewReader(data)}})
	if err == nil {
		t.Fatal("upload over a dropped connection succeeded")
	}
	if n, c := h.requests.Load(), rs.conns(); n != 2 || c != 1 {
		t.Errorf("%d requests over %d connections, want 2 over 1", n, c)
	}
	if s := h.clock.Sleeps(); len(s) != 0 {
		t.Errorf("pauses %v, want none", s)
	}
}
