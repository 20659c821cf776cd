package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/redis/go-redis/v9"

	"github.com/eeo-gateway/eeo-gateway/internal/redistest"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// `serve --config` with a redis section keeps its request-id log in Redis;
// with Redis stopped it keeps serving from memory, says so once, and
// /metrics shows it (promlint-clean); Redis back, records go to it again.
// The Redis password appears in no log line and no answer.
func TestServeWithRedis(t *testing.T) {
	const password = "redis-pa55-" + "never-in-logs"
	srv := redistest.Start(t, redistest.Options{Password: password})
	dir := t.TempDir()
	pwFile, keyFile := filepath.Join(dir, "redis-password"), filepath.Join(dir, "redis-key")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte("3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o600); err != nil {
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

	srv.Stop(t)
	for _, id := range []string{"down-1", "down-2", "down-3"} {
		report(id)
	}
	m := testkit.Scrape(t, nil, st.adminURL+"/metrics")
	if up := m.Get("eeo_gateway_redis_up"); up != 0 {
		t.Errorf("eeo_gateway_redis_up = %v with Redis stopped, want 0", up)
	}
	if n := m.Get("eeo_gateway_redis_fallbacks_total", "operation", "request_begin"); n < 3 {
		t.Errorf("fallbacks of request_begin = %v, want at least 3", n)
	}
	lintMetrics(t, st.adminURL)
	if n := len(st.logLines("redis down: each replica uses its own token cache and request-id log until it answers again")); n != 1 {
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
	const upAgain = "redis up again: replicas share tokens and request ids through it"
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for len(st.logLines(upAgain)) == 0 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no %q line 20s after Redis came back", upAgain)
		}
	}
	report("back")
	if !inRedis("back") {
		t.Error("the record of a request after Redis came back is not in Redis")
	}
	if up := testkit.Scrape(t, nil, st.adminURL+"/metrics").Get("eeo_gateway_redis_up"); up != 1 {
		t.Errorf("eeo_gateway_redis_up = %v after Redis came back, want 1", up)
	}
	if n := len(st.logLines(upAgain)); n != 1 {
		t.Errorf("%d 'redis up again' lines, want 1", n)
	}
	if strings.Contains(st.logs.String(), password) || strings.Contains(answers.String(), password) {
		t.Error("the Redis password appears in the logs or an answer")
	}
}

// lintMetrics fails the test if the gateway's metrics fail promlint.
func lintMetrics(t *testing.T, adminURL string) {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	problems, err := promlint.New(resp.Body).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "eeo_gateway_redis") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}
