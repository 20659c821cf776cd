package access_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/internal/testkit"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
)

func TestRateLimit(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	key, k := apiKey(t, "payroll")
	otherKey, other := apiKey(t, "billing")
	e := newEnv(t, access.Config{
		APIKeys:   []access.APIKey{k, other},
		Policies:  []access.Policy{allPolicy(keyID("payroll")), allPolicy(keyID("billing"))},
		RateLimit: access.RateLimit{PerSecond: 2, Burst: 3},
		Now:       now.Now,
	})
	ctx := bearer(testCtx(t), key)
	call := func() error {
		_, err := e.tc.GetToken(ctx, &eeov1.GetTokenRequest{Account: "A"})
		return err
	}
	for i := range 3 {
		if err := call(); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	st := testkit.WantStatus(t, call(), codes.ResourceExhausted, access.ReasonRateLimited)
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil {
		t.Fatal("no RetryInfo")
	}
	if got := retry.GetRetryDelay().AsDuration(); got != 500*time.Millisecond {
		t.Fatalf("RetryInfo delay %v, want 500ms (one token at 2/s)", got)
	}
	// A refused call costs nothing: still exactly 500ms to wait.
	testkit.WantStatus(t, call(), codes.ResourceExhausted, access.ReasonRateLimited)
	if e.tokens.count() != 3 {
		t.Fatalf("handler ran %d times, want 3", e.tokens.count())
	}

	// Other callers have their own bucket.
	if _, err := e.tc.GetToken(bearer(testCtx(t), otherKey), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatalf("another caller: %v", err)
	}

	// Recovers once the delay has passed.
	now.Advance(499 * time.Millisecond)
	testkit.WantStatus(t, call(), codes.ResourceExhausted, access.ReasonRateLimited)
	now.Advance(time.Millisecond)
	if err := call(); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
	testkit.WantStatus(t, call(), codes.ResourceExhausted, access.ReasonRateLimited)
	now.Advance(10 * time.Second)
	for i := range 3 {
		if err := call(); err != nil {
			t.Fatalf("refilled burst, call %d: %v", i, err)
		}
	}
}

func TestRateLimitUnauthenticatedNotCounted(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	key, k := apiKey(t, "payroll")
	e := newEnv(t, access.Config{
		APIKeys:   []access.APIKey{k},
		Policies:  []access.Policy{allPolicy(keyID("payroll"))},
		RateLimit: access.RateLimit{PerSecond: 1, Burst: 1},
		Now:       now.Now,
	})
	for range 5 {
		_, err := e.tc.GetToken(bearer(testCtx(t), "guess"), &eeov1.GetTokenRequest{Account: "A"})
		testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonTokenInvalid)
	}
	if _, err := e.tc.GetToken(bearer(testCtx(t), key), &eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatal(err)
	}
	if got := access.LimitedCallers(e.guard); got != 1 {
		t.Fatalf("%d buckets, want 1", got)
	}
}

func TestRateLimitCallersBounded(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	const callers, maxCallers = 40, 3
	keys := make([]string, callers)
	cfg := access.Config{
		RateLimit: access.RateLimit{PerSecond: 1, Burst: 1, MaxCallers: maxCallers},
		Now:       now.Now,
	}
	for i := range callers {
		var k access.APIKey
		keys[i], k = apiKey(t, fmt.Sprintf("c%d", i))
		cfg.APIKeys = append(cfg.APIKeys, k)
		cfg.Policies = append(cfg.Policies, access.Policy{Caller: keyID(k.Caller), Permissions: []access.Permission{access.PermAccountsList}})
	}
	e := newEnv(t, cfg)
	call := func(i int) error {
		_, err := e.tc.ListAccounts(bearer(testCtx(t), keys[i]), &eeov1.ListAccountsRequest{})
		return err
	}
	for i := range callers {
		if err := call(i); err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if n := access.LimitedCallers(e.guard); n > maxCallers {
			t.Fatalf("%d buckets after %d callers, bound is %d", n, i+1, maxCallers)
		}
	}
	if n := access.LimitedCallers(e.guard); n != maxCallers {
		t.Fatalf("%d buckets, want %d", n, maxCallers)
	}

	// Least recently used goes first: c0 spends its token, two more
	// callers fit beside it, and c0 is still limited…
	now.Advance(time.Hour)
	if err := call(0); err != nil {
		t.Fatal(err)
	}
	testkit.WantStatus(t, call(0), codes.ResourceExhausted, access.ReasonRateLimited)
	_ = call(1)
	_ = call(2)
	testkit.WantStatus(t, call(0), codes.ResourceExhausted, access.ReasonRateLimited)
	// …until three others push it out; then it starts afresh.
	_ = call(3)
	_ = call(4)
	_ = call(5)
	if err := call(0); err != nil {
		t.Fatalf("evicted caller: %v", err)
	}
}
