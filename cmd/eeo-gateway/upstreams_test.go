package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/config"
)

// fixedToken is a TokenSource that always has a token.
type fixedToken struct{}

func (fixedToken) Token(context.Context, string) (auth.Token, error) {
	return auth.Token{AccessToken: auth.NewSecret("t"), TokenType: "Bearer"}, nil
}

func (fixedToken) Invalidate(string, auth.Secret) (bool, error) { return true, nil }

// The upstream section reaches each account's client: with retries turned
// off, a 503 is sent once; with the default, it is retried.
func TestUpstreamsFollowTheUpstreamSection(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":"unavailable"}`)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		maxAttempts int
		want        int64
	}{{1, 1}, {2, 2}} {
		cfg := config.Default()
		cfg.Accounts = []config.Account{{Name: "acme", BaseURL: srv.URL}}
		cfg.Upstream.Retry.MaxAttempts = tc.maxAttempts
		cfg.Upstream.Retry.InitialBackoff = config.Duration(1) // no real pause
		ups, err := newUpstreams(cfg, fixedToken{}, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		requests.Store(0)
		if _, err := ups["acme"].GetImport(t.Context(), "imp_1"); err == nil {
			t.Fatal("no error from a 503")
		}
		if n := requests.Load(); n != tc.want {
			t.Errorf("max_attempts %d: %d requests, want %d", tc.maxAttempts, n, tc.want)
		}
	}
}
