package auth_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// TestClientCredentialsRetriesOnConnectionClosedWhileIdle is the keep-alive
// race: EEO (or a proxy in front of it) gives up on an idle pooled
// connection just as the next token request is written to it. The fetch
// must still succeed, on one fresh connection, and not fail the callers
// waiting for a token (the cache would back off after the failure).
func TestClientCredentialsRetriesOnConnectionClosedWhileIdle(t *testing.T) {
	var requests, conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			t.Errorf("form %v, err %v", r.PostForm, err)
		}
		// The marker that makes the request retryable is for the client's
		// transport only: EEO must not see an empty Idempotency-Key.
		for _, h := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
			if _, ok := r.Header[h]; ok {
				t.Errorf("request carries %s %q", h, r.Header[h])
			}
		}
		if requests.Add(1) == 2 {
			// The request has been read in full; the connection dies
			// without an answer, as one the server closed while idle.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close()
			return
		}
		jsonReply(http.StatusOK, `{"access_token":"`+testToken+`","token_type":"Bearer","expires_in":3599}`)(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close) // also closes the client's idle connections

	for _, style := range []auth.AuthStyle{auth.AuthStyleBasic, auth.AuthStyleForm} {
		requests.Store(0)
		conns.Store(0)
		f := fetcher(srv.URL)
		f.AuthStyle = style
		f.HTTPClient = srv.Client()
		srv.Client().Transport.(*http.Transport).CloseIdleConnections()

		if _, err := f.FetchToken(t.Context()); err != nil {
			t.Fatalf("style %d: first fetch: %v", style, err)
		}
		g, err := f.FetchToken(t.Context())
		if err != nil {
			t.Fatalf("style %d: fetch over a connection the server closed: %v", style, err)
		}
		if g.AccessToken.Reveal() != testToken {
			t.Fatalf("style %d: grant %+v", style, g)
		}
		// One request on the first connection, one lost with it, and the
		// repeat on a single new connection.
		if n, c := requests.Load(), conns.Load(); n != 3 || c != 2 {
			t.Fatalf("style %d: %d requests over %d connections, want 3 over 2", style, n, c)
		}
	}
}
