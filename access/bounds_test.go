package access_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// stalledUnary opens GetToken as a raw stream and sends no request
// message, as an attacker holding the call open would: only a refusal at
// the headers can end it before its deadline.
func stalledUnary(t *testing.T, e *env, token string) error {
	t.Helper()
	ctx := testCtx(t)
	if token != "" {
		ctx = bearer(ctx, token)
	}
	s, err := e.conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, eeov1.TokenService_GetToken_FullMethodName)
	if err != nil {
		return err
	}
	return s.RecvMsg(new(eeov1.GetTokenResponse))
}

// TestTapRefusesBeforeTheRequestArrives: a call without an acceptable
// credential is refused when its headers arrive, though its request never
// comes; one with a valid key is not (it waits for its request).
func TestTapRefusesBeforeTheRequestArrives(t *testing.T) {
	key, k := apiKey(t, "payroll")
	e := newEnv(t, access.Config{APIKeys: []access.APIKey{k}, Policies: []access.Policy{allPolicy(keyID("payroll"))}})
	for _, c := range []struct {
		name, token, reason string
	}{
		{"no credential", "", access.ReasonUnauthenticated},
		{"unknown API key", key + "-not", access.ReasonTokenInvalid},
		{"not a bearer token", "two words", access.ReasonTokenInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			testkit.WantStatus(t, stalledUnary(t, e, c.token), codes.Unauthenticated, c.reason)
		})
	}
	// A valid key's call is let through to wait for its request: sent
	// late, it is served.
	s, err := e.conn.NewStream(bearer(testCtx(t), key), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, eeov1.TokenService_GetToken_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	testkit.WantStatus(t, stalledUnary(t, e, ""), codes.Unauthenticated, access.ReasonUnauthenticated)
	if err := s.SendMsg(&eeov1.GetTokenRequest{Account: "A"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := s.RecvMsg(new(eeov1.GetTokenResponse)); err != nil {
		t.Errorf("a valid key's call whose request came late: %v", err)
	}
}

// TestUnauthenticatedFloodIsSummarized: a peer's failed authentications are
// audited one by one up to Unauthenticated.AuditBurst per interval; the
// rest become one summary event with their count, and every one reaches
// the Observer.
func TestUnauthenticatedFloodIsSummarized(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	log, buf, events := auditLog(t)
	_, k := apiKey(t, "payroll")
	obs := &countingObserver{}
	g, err := access.New(access.Config{
		APIKeys:         []access.APIKey{k},
		Policies:        []access.Policy{allPolicy(keyID("payroll"))},
		Audit:           log,
		Now:             now.Now,
		Unauthenticated: access.Unauthenticated{AuditBurst: 2, AuditInterval: time.Minute},
		Observer:        obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	e := startEnv(t, g, nil, insecure.NewCredentials())
	flood := func(n int) {
		for range n {
			_, err := e.tc.GetToken(testCtx(t), &eeov1.GetTokenRequest{Account: "A"})
			testkit.WantStatus(t, err, codes.Unauthenticated, access.ReasonUnauthenticated)
		}
	}
	flood(100)
	if n := len(events()); n != 2 {
		t.Errorf("%d audit events for 100 failures in one interval; want AuditBurst (2)", n)
	}
	now.Advance(time.Minute)
	flood(1)
	g.Close() // writes the summaries still due
	if n := len(events()); n != 3 {
		t.Errorf("%d audit events after the interval; want 3", n)
	}
	var summaries []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err == nil && m["msg"] == access.AuditSummaryMessage {
			summaries = append(summaries, m)
		}
	}
	if len(summaries) != 1 || summaries[0]["failures"] != float64(98) || summaries[0]["peer"] != "127.0.0.1" {
		t.Errorf("summary events %v; want one for 127.0.0.1 counting the 98 failures not audited", summaries)
	}
	if n := obs.count(access.AuthViaNone, access.AuthMissingCredentials); n != 101 {
		t.Errorf("the Observer saw %d failures; want all 101", n)
	}
}

// TestFailedJWTVerificationsAreRateLimitedPerPeer: JWTs that fail
// verification use up their address's failure budget, after which JWTs
// from it are refused unverified until the budget refills. Calls without
// a credential cost nothing to refuse and do not use it up, and API keys
// are never held back by it.
func TestFailedJWTVerificationsAreRateLimitedPerPeer(t *testing.T) {
	now := testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	key, k := apiKey(t, "payroll")
	good, forger := testkit.ES256Signer(t, "k1"), testkit.ES256Signer(t, "k1")
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, testkit.JWKS(good), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, access.Config{
		APIKeys:         []access.APIKey{k},
		JWT:             &access.JWTConfig{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"ES256"}, JWKSFile: path},
		Policies:        []access.Policy{allPolicy(keyID("payroll")), allPolicy(jwtID("svc"))},
		Unauthenticated: access.Unauthenticated{PerSecond: 1, Burst: 2},
		Now:             now.Now,
	})
	ctx := testCtx(t)
	call := func(token string) error {
		c := ctx
		if token != "" {
			c = bearer(ctx, token)
		}
		_, err := e.tc.GetToken(c, &eeov1.GetTokenRequest{Account: "A"})
		return err
	}
	valid := good.Sign(t, claims("svc", now.Now()))
	forged := forger.Sign(t, claims("svc", now.Now()))
	for range 50 {
		testkit.WantStatus(t, call(""), codes.Unauthenticated, access.ReasonUnauthenticated)
	}
	if err := call(valid); err != nil {
		t.Fatalf("a valid JWT after 50 calls without credentials: %v", err)
	}
	for range 2 {
		testkit.WantStatus(t, call(forged), codes.Unauthenticated, access.ReasonTokenInvalid)
	}
	st := testkit.WantStatus(t, call(forged), codes.ResourceExhausted, access.ReasonUnauthenticatedRateLimited)
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 || retry.GetRetryDelay().AsDuration() > time.Second {
		t.Errorf("RetryInfo %v; want a delay up to the 1s refill", retry)
	}
	testkit.WantStatus(t, call(valid), codes.ResourceExhausted, access.ReasonUnauthenticatedRateLimited)
	if err := call(key); err != nil {
		t.Errorf("an API key from the same address: %v; want it unaffected", err)
	}
	now.Advance(time.Second)
	if err := call(valid); err != nil {
		t.Errorf("a valid JWT once the budget refilled: %v", err)
	}
}

// TestTransferLimitPerCaller: a caller holds at most
// MaxConcurrentTransfersPerCaller streams; more are RESOURCE_EXHAUSTED
// CALLER_TRANSFER_LIMIT, another caller is unaffected, and a finished
// stream frees its place.
func TestTransferLimitPerCaller(t *testing.T) {
	key, k := apiKey(t, "payroll")
	otherKey, other := apiKey(t, "billing")
	e := newEnv(t, access.Config{
		APIKeys:                         []access.APIKey{k, other},
		Policies:                        []access.Policy{allPolicy(keyID("payroll")), allPolicy(keyID("billing"))},
		MaxConcurrentTransfersPerCaller: 2,
	})
	open := func(token string) (grpc.ClientStreamingClient[eeov1.CreateImportRequest, eeov1.CreateImportResponse], error) {
		s, err := e.fc.CreateImport(bearer(testCtx(t), token))
		if err != nil {
			return nil, err
		}
		// io.EOF: the server has already answered; CloseAndRecv says how.
		if err := s.Send(&eeov1.CreateImportRequest{Payload: &eeov1.CreateImportRequest_Metadata{Metadata: &eeov1.ImportMetadata{Account: "A"}}}); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return s, nil
	}
	// Held open: the fake service reads until the client closes its side.
	var held []grpc.ClientStreamingClient[eeov1.CreateImportRequest, eeov1.CreateImportResponse]
	for range 2 {
		s, err := open(key)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
	}
	// The server has both once they are past authorization: a third must be
	// refused. Wait for the fake to have seen them.
	wait := testCtx(t) // one deadline for the whole wait, not a new one per look
	for e.files.count() < 2 {
		if wait.Err() != nil {
			t.Fatal("the two uploads never reached the service")
		}
		time.Sleep(time.Millisecond) // waiting for an event, not for time to pass
	}
	s, err := open(key)
	if err == nil {
		_, err = s.CloseAndRecv()
	}
	testkit.WantStatus(t, err, codes.ResourceExhausted, access.ReasonTransferLimit)
	s, err = open(otherKey)
	if err == nil {
		_, err = s.CloseAndRecv()
	}
	if err != nil {
		t.Errorf("another caller's upload: %v", err)
	}
	if _, err := held[0].CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	s, err = open(key)
	if err == nil {
		_, err = s.CloseAndRecv()
	}
	if err != nil {
		t.Errorf("an upload after one of the two finished: %v", err)
	}
	held[1].CloseAndRecv()
}

// countingObserver counts authentications by via and outcome.
type countingObserver struct {
	access.NopObserver
	mu sync.Mutex
	n  map[[2]string]int
}

func (o *countingObserver) Authenticated(via, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[[2]string]int{}
	}
	o.n[[2]string{via, outcome}]++
}

func (o *countingObserver) count(via, outcome string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[[2]string{via, outcome}]
}
