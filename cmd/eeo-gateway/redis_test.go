package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// `serve --config` with a redis section keeps its token (encrypted) and
// its request-id log in Redis; with Redis stopped it keeps serving from
// memory — a token refresh included — says so once per store, and /metrics
// shows it (promlint-clean); Redis back, records go to it again. The Redis
// password and the token encryption key appear in no log line and no
// answer.
func TestServeWithRedis(t *testing.T) {
	const password = "redis-pa55-" + "never-in-logs"
	srv := redistest.Start(t, redistest.Options{Password: password})
	dir := t.TempDir()
	pwFile, keyFile := filepath.Join(dir, "redis-password"), filepath.Join(dir, "redis-key")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const encryptionKey = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	if err := os.WriteFile(keyFile, []byte(encryptionKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := startProdStack(t, prodStackOptions{extraYAML: fmt.Sprintf(`
redis:
  addr: %s
  password_file: %s
  encryption_key_file: %s
`, srv.Addr, pwFile, keyFile)})
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr, Password: password})
	defer raw.Close()

	var answers strings.Builder
	report := func(id string) {
		t.Helper()
		code, _, body := st.rest(t, http.MethodPost, "/v1/accounts/acme/reports",
			strings.NewReader(`{"reportType":"grants","parameters":{"as_of":"2026-01-31"},"requestId":"`+id+`"}`), nil)
		answers.WriteString(body)
		if code != http.StatusOK {
			t.Fatalf("CreateReport %s: %d %s", id, code, body)
		}
	}
	inRedis := func(id string) bool {
		return raw.Exists(t.Context(), "eeo-gateway:{acme}:req:report:"+id).Val() == 1
	}
	report("up-1")
	if !inRedis("up-1") {
		t.Fatal("the request-id record is not in Redis")
	}
	token := func(method, path string) string {
		t.Helper()
		code, _, body := st.rest(t, method, path, nil, nil)
		answers.WriteString(body)
		var resp struct{ Token struct{ AccessToken string } }
		if code != http.StatusOK || json.Unmarshal([]byte(body), &resp) != nil || resp.Token.AccessToken == "" {
			t.Fatalf("%s %s: %d %s", method, path, code, body)
		}
		return resp.Token.AccessToken
	}
	tok := token(http.MethodGet, "/v1/accounts/acme/token")
	stored := raw.HGetAll(t.Context(), "eeo-gateway:{acme}:token").Val()
	if len(stored) == 0 {
		t.Fatal("the token is not in Redis")
	}
	for field, v := range stored {
		if strings.Contains(v, tok) {
			t.Fatalf("Redis holds the token in clear (field %s)", field)
		}
	}

	srv.Stop(t)
	for _, id := range []string{"down-1", "down-2", "down-3"} {
		report(id)
	}
	if fresh := token(http.MethodPost, "/v1/accounts/acme/token:refresh"); fresh == tok {
		t.Error("the refresh with Redis down returned the old token")
	}
	m := testkit.Scrape(t, nil, st.adminURL+"/metrics")
	for _, store := range []string{"requests", "tokens"} {
		if up := m.Get("eeo_gateway_redis_up", "store", store); up != 0 {
			t.Errorf("eeo_gateway_redis_up{store=%q} = %v with Redis stopped, want 0", store, up)
		}
	}
	if n := m.Get("eeo_gateway_redis_fallbacks_total", "operation", "request_begin"); n < 3 {
		t.Errorf("fallbacks of request_begin = %v, want at least 3", n)
	}
	lintMetrics(t, st.adminURL, "eeo_gateway_redis")
	if n := len(st.logLines("redis down: request ids are deduplicated by this replica alone until it answers")); n != 1 {
		t.Errorf("%d 'redis down' lines, want 1", n)
	}
	if resp, err := http.Get(st.adminURL + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("admin /readyz with Redis down: %v, %v; want ready", resp, err)
	} else {
		resp.Body.Close()
	}

	srv.Restart(t)
	// The gateway's own PING finds it back within RetryAfter and a half
	// (5s + 2.5s), with no call needed; then records go to Redis again.
	const upAgain = "redis up again: replicas share request ids through it"
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	// The token cache finds it back by its own sync loop.
	const tokensBack = "shared token store is back: replicas share tokens again"
	for len(st.logLines(upAgain)) == 0 || len(st.logLines(tokensBack)) == 0 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no %q and %q lines 20s after Redis came back", upAgain, tokensBack)
		}
	}
	report("back")
	if !inRedis("back") {
		t.Error("the record of a request after Redis came back is not in Redis")
	}
	m = testkit.Scrape(t, nil, st.adminURL+"/metrics")
	for _, store := range []string{"requests", "tokens"} {
		if up := m.Get("eeo_gateway_redis_up", "store", store); up != 1 {
			t.Errorf("eeo_gateway_redis_up{store=%q} = %v after Redis came back, want 1", store, up)
		}
	}
	if n := len(st.logLines(upAgain)); n != 1 {
		t.Errorf("%d 'redis up again' lines, want 1", n)
	}
	for what, secret := range map[string]string{"password": password, "encryption key": encryptionKey} {
		if strings.Contains(st.logs.String(), secret) || strings.Contains(answers.String(), secret) {
			t.Errorf("the Redis %s appears in the logs or an answer", what)
		}
	}
}
