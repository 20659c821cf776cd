package auth_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFileSecretReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if _, err := auth.NewFileSecret(path); err == nil {
		t.Fatal("missing file accepted")
	}
	writeFile(t, path, "first-secret\n")
	f, err := auth.NewFileSecret(path)
	if err != nil || f.Secret().Reveal() != "first-secret" {
		t.Fatalf("NewFileSecret = %v, %v; want the value without its newline", f, err)
	}
	if changed, err := f.Reload(); changed || err != nil {
		t.Fatalf("Reload of an unchanged file = %v, %v", changed, err)
	}
	writeFile(t, path, "second-secret-longer\n")
	if changed, err := f.Reload(); !changed || err != nil || f.Secret().Reveal() != "second-secret-longer" {
		t.Fatalf("Reload after rotation = %v, %v, %q", changed, err, f.Secret().Reveal())
	}
	writeFile(t, path, "\n")
	if _, err := f.Reload(); err == nil || f.Secret().Reveal() != "second-secret-longer" {
		t.Fatalf("an emptied file: err %v, secret %q; want an error and the previous secret kept", err, f.Secret().Reveal())
	}
}

func TestRotatedSecretDropsCachedTokenAndBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "secret")
		writeFile(t, path, "old")
		secret, err := auth.NewFileSecret(path)
		if err != nil {
			t.Fatal(err)
		}
		f := &authtest.Fetcher{}
		c := newCache(t, f, auth.Options{BackoffInitial: time.Hour, BackoffMax: time.Hour})
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			auth.WatchSecretFiles(ctx, c, map[string]*auth.FileSecret{"demo": secret}, 10*time.Second, nil)
			close(done)
		}()
		defer func() { stop(); <-done }()

		mustToken(t, c)
		writeFile(t, path, "new-secret")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if st := c.Accounts()[0].State; st != auth.StateNone {
			t.Fatalf("state after rotation = %v, want none: the old credentials' token must go", st)
		}
		if got := mustToken(t, c).AccessToken.Reveal(); got != "tok-2" {
			t.Fatalf("after rotation got %q, want a new token", got)
		}

		// A rotation also ends a backoff caused by the old, rejected secret.
		f.Fail(&auth.TokenError{Kind: auth.KindInvalidClient, StatusCode: 401})
		c.Drop("demo")
		if _, err := c.Token(t.Context(), "demo"); err == nil {
			t.Fatal("expected the invalid_client failure")
		}
		f.Fail(nil)
		writeFile(t, path, "newest-secret")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if _, err := c.Token(t.Context(), "demo"); err != nil {
			t.Fatalf("after rotating a rejected secret, still backing off: %v", err)
		}
	})
}

func TestClientCredentialsAsksSecretSourceEveryTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	writeFile(t, path, testSecret)
	secret, err := auth.NewFileSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	srv := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, s, _ := r.BasicAuth()
		seen = append(seen, s)
		jsonReply(200, `{"access_token":"x"}`)(w, r)
	})
	cc := &auth.ClientCredentials{TokenURL: srv.URL, ClientID: "id", SecretSource: secret}
	cc.FetchToken(t.Context())
	writeFile(t, path, "rotated-value")
	secret.Reload()
	cc.FetchToken(t.Context())
	if len(seen) != 2 || seen[0] != url.QueryEscape(testSecret) || seen[1] != "rotated-value" {
		t.Fatalf("secrets sent = %q", seen)
	}
}
