package eeo_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
)

// The cache is the TokenSource the gateway uses.
var _ eeo.TokenSource = (*auth.Cache)(nil)

const testAccount = "acme"

// secretText is planted in every server-sent description and body; no error
// message may repeat it.
const secretText = "SERVER-SECRET-TEXT"

// harness is a client for testAccount talking to one httptest server, with
// a real token cache over an authtest.Fetcher (tokens "tok-1", "tok-2", …).
type harness struct {
	fetcher  *authtest.Fetcher
	cache    *auth.Cache
	srv      *httptest.Server
	client   *eeo.Client
	requests atomic.Int64 // requests the server received
	logs     *testkit.SyncBuffer
	clock    *fakeClock // the client's Now and Sleep, unless opts replace them
}

// fakeClock is a client's Now and Sleep: it starts at the real time (so
// that Retry-After dates made with time.Now mean what they say) and moves
// only when the client sleeps, by exactly the pause asked for, so no test
// really waits between attempts.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time       // guarded by mu
	sleeps []time.Duration // guarded by mu
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep records d and advances the clock by it, unless ctx has ended.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if err := ctx.Err(); err != nil {
		return err
	}
	c.now = c.now.Add(d)
	return nil
}

// Sleeps returns the pauses asked for so far.
func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

func newHarness(t *testing.T, handler http.HandlerFunc, opts ...func(*eeo.Options)) *harness {
	t.Helper()
	h := &harness{fetcher: &authtest.Fetcher{}, logs: &testkit.SyncBuffer{}, clock: newFakeClock()}
	cache, err := auth.NewCache([]auth.Account{{Name: testAccount, Fetcher: h.fetcher}}, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.cache = cache
	t.Cleanup(cache.Close)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		handler(w, r)
	}))
	t.Cleanup(h.srv.Close)
	o := eeo.Options{Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: h.clock.Now, Sleep: h.clock.Sleep}
	for _, f := range opts {
		f(&o)
	}
	h.client, err = eeo.New(testAccount, h.srv.URL, cache, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(h.logs.String(), "tok-") {
			t.Errorf("logs contain a token:\n%s", h.logs.String())
		}
	})
	return h
}

// ctx is a test's context with a deadline well inside the test timeout.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func bearer(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// replyError answers with the contract's error document, with a description
// that must never reach an error message.
func replyError(w http.ResponseWriter, status int, code, field string) {
	doc := map[string]string{"error": code, "error_description": secretText + " tok-1"}
	if field != "" {
		doc["field"] = field
	}
	b, _ := json.Marshal(doc)
	reply(w, status, string(b))
}

// unauthorized is EEO's answer to a bad bearer token.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	replyError(w, http.StatusUnauthorized, "invalid_token", "")
}

// checkClean fails if an error message carries a token or server text.
func checkClean(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if msg := err.Error(); strings.Contains(msg, "tok-") || strings.Contains(msg, secretText) {
		t.Errorf("error message leaks: %q", msg)
	}
}

const importJSON = `{"id":"imp_1","import_type":"participants","file_name":"p.csv",
 "content_type":"text/csv","request_id":"req-1","state":"QUEUED",
 "rows_total":3,"rows_accepted":2,"rows_rejected":1,"size_bytes":1234,"sha256":"ab12",
 "create_time":"2026-01-02T03:04:05Z","update_time":"2026-01-02T03:04:06.5Z","unknown_field":{"x":1}}`

var wantImport = eeo.Import{ID: "imp_1", ImportType: "participants", FileName: "p.csv", ContentType: "text/csv",
	RequestID: "req-1", State: eeo.ImportQueued, RowsTotal: 3, RowsAccepted: 2, RowsRejected: 1, SizeBytes: 1234,
	SHA256: "ab12", CreateTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	UpdateTime: time.Date(2026, 1, 2, 3, 4, 6, 5e8, time.UTC)}

const reportJSON = `{"id":"rpt_1","report_type":"grants","parameters":{"as_of":"2026-01-31","rows":"1000"},
 "format":"CSV","request_id":"req-2","state":"SUCCEEDED","size_bytes":77,"sha256":"cd34",
 "file_name":"grants-2026-01-31.csv","content_type":"text/csv",
 "create_time":"2026-01-02T03:04:05Z","update_time":"2026-01-02T03:04:05Z"}`

var wantReport = eeo.Report{ID: "rpt_1", ReportType: "grants", Parameters: map[string]string{"as_of": "2026-01-31", "rows": "1000"},
	Format: "CSV", RequestID: "req-2", State: eeo.ReportSucceeded, SizeBytes: 77, SHA256: "cd34",
	FileName: "grants-2026-01-31.csv", ContentType: "text/csv",
	CreateTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UpdateTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
