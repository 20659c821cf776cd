package eeo_test

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/eeo"
)

// A 401 drops the refused token, and the call is sent once more with a new
// one: exactly one extra token fetch.
func TestUnauthorizedRetriesOnceWithNewToken(t *testing.T) {
	var tokens record
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		tokens.add(bearer(r))
		if !refusedFirstToken(w, r) {
			reply(w, http.StatusOK, importJSON)
		}
	})
	ctx := testContext(t)
	got, err := h.client.GetImport(ctx, "imp_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "imp_1" {
		t.Errorf("import %+v", got)
	}
	if n := h.fetcher.Calls(); n != 2 {
		t.Errorf("%d token fetches, want 2", n)
	}
	// The new token is cached: the next call needs no fetch.
	if _, err := h.client.GetImport(ctx, "imp_1"); err != nil {
		t.Fatal(err)
	}
	if n := h.fetcher.Calls(); n != 2 {
		t.Errorf("%d token fetches after a second call, want 2", n)
	}
	if got, want := tokens.get(), []string{"tok-1", "tok-2", "tok-2"}; !slices.Equal(got, want) {
		t.Errorf("tokens sent %v, want %v", got, want)
	}
}

// A JSON request body is sent again, whole, on the retry.
func TestUnauthorizedRetryResendsJSONBody(t *testing.T) {
	var sent record
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sent.add(string(b))
		if !refusedFirstToken(w, r) {
			reply(w, http.StatusCreated, reportJSON)
		}
	})
	if _, err := h.client.CreateReport(testContext(t), eeo.ReportRequest{ReportType: "grants", RequestID: "r1"}); err != nil {
		t.Fatal(err)
	}
	if bodies := sent.get(); len(bodies) != 2 || bodies[0] != bodies[1] || bodies[0] == "" {
		t.Errorf("bodies %q", bodies)
	}
}

// Two calls refused at once share the one fetch of a new token: the cache
// compares before invalidating, and its fetches are single-flight.
func TestConcurrentUnauthorizedShareOneFetch(t *testing.T) {
	var arrived atomic.Int32
	both := make(chan struct{})
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if bearer(r) == "tok-1" {
			// Hold both refusals until both requests carried the old token.
			if arrived.Add(1) == 2 {
				close(both)
			}
			select {
			case <-both:
			case <-time.After(5 * time.Second):
				t.Error("the second request never arrived with tok-1")
			}
			unauthorized(w)
			return
		}
		reply(w, http.StatusOK, importJSON)
	})
	ctx := testContext(t)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := h.client.GetImport(ctx, "imp_1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := h.fetcher.Calls(); n != 2 {
		t.Errorf("%d token fetches, want 2 (one initial, one shared after the 401s)", n)
	}
}

func TestPersistentUnauthorizedIsTokenRejected(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { unauthorized(w) })
	_, err := h.client.ListImportTypes(testContext(t))
	var ee *eeo.Error
	if !errors.As(err, &ee) || ee.Code != eeo.CodeTokenRejected || ee.StatusCode != http.StatusUnauthorized || ee.Op != "list import types" {
		t.Fatalf("error %#v", err)
	}
	checkClean(t, err)
	if n, r := h.fetcher.Calls(), h.requests.Load(); n != 2 || r != 2 {
		t.Errorf("%d token fetches and %d requests, want 2 and 2", n, r)
	}
	// The second token was refused too, so it is not served again: the next
	// call starts with a third.
	h.client.ListImportTypes(testContext(t))
	if n := h.fetcher.Calls(); n != 4 {
		t.Errorf("%d token fetches after another call, want 4", n)
	}
}

// Token failures come back as the cache reported them, wrapped, so the
// server maps them as it does for TokenService.
func TestTokenSourceErrorsAreWrapped(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent without a token") })
	h.fetcher.Fail(&auth.TokenError{Kind: auth.KindInvalidClient, StatusCode: 401, OAuthError: "invalid_client"})
	_, err := h.client.GetReport(testContext(t), "rpt_1")
	var fe *auth.FetchError
	var te *auth.TokenError
	var ee *eeo.Error
	if !errors.As(err, &fe) || !errors.As(err, &te) || te.Kind != auth.KindInvalidClient || errors.As(err, &ee) {
		t.Errorf("error %v", err)
	}

	other, err := eeo.New("nobody", h.srv.URL, h.cache, eeo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetReport(testContext(t), "rpt_1"); !errors.Is(err, auth.ErrUnknownAccount) {
		t.Errorf("unknown account: %v", err)
	}
}

// refusedFirstToken answers a request bearing the first token ("tok-1")
// with 401, and reports whether it did.
func refusedFirstToken(w http.ResponseWriter, r *http.Request) bool {
	if bearer(r) != "tok-1" {
		return false
	}
	unauthorized(w)
	return true
}

// record collects what a handler saw, in order.
type record struct {
	mu     sync.Mutex
	values []string // guarded by mu
}

func (r *record) add(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, v)
}

func (r *record) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.values)
}
