package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/eeo-gateway/eeo-gateway/access"
	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/eeo-gateway/eeo-gateway/internal/callnote"
	"github.com/eeo-gateway/eeo-gateway/internal/testkit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// The access log runs around the Guard and learns from the note it puts
// in the context who the Guard authenticated: for allowed and refused
// calls alike, and nobody for a call whose credential failed. The Guard
// keeps its cache-hit bookkeeping on that same note.
func TestGuardNamesTheCallerToTheNoteAroundIt(t *testing.T) {
	log, buf, events := auditLog(t)
	key, k := apiKey(t, "payroll")
	g, err := access.New(access.Config{
		APIKeys:  []access.APIKey{k},
		Policies: []access.Policy{{Caller: keyID("payroll"), Accounts: []string{"A"}, Permissions: []access.Permission{access.PermTokenGet}}},
		Audit:    log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	intercept := g.UnaryInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: eeov1.TokenService_GetToken_FullMethodName}
	hit := func(ctx context.Context, _ any) (any, error) {
		callnote.CacheHit(ctx)
		return &eeov1.GetTokenResponse{}, nil
	}
	call := func(token, account string) (*callnote.Note, error) {
		ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+token))
		ctx, note := callnote.With(ctx)
		_, err := intercept(ctx, &eeov1.GetTokenRequest{Account: account}, info, hit)
		return note, err
	}

	note, err := call(key, "A")
	if err != nil {
		t.Fatal(err)
	}
	if note.Caller() != keyID("payroll") || !note.CacheHit() {
		t.Errorf("allowed call: note caller %q, cache hit %v; want %q, true", note.Caller(), note.CacheHit(), keyID("payroll"))
	}
	if n := len(events()); n != 0 {
		t.Errorf("a cache hit under an outer note was audited (%d events):\n%s", n, buf)
	}

	note, err = call(key, "B")
	testkit.WantStatus(t, err, codes.PermissionDenied, access.ReasonPermissionDenied)
	if note.Caller() != keyID("payroll") {
		t.Errorf("denied call: note caller %q, want %q", note.Caller(), keyID("payroll"))
	}

	note, err = call("eeo_not-a-key", "A")
	testkit.WantStatus(t, err, codes.Unauthenticated, "")
	if note.Caller() != "" {
		t.Errorf("unauthenticated call: note caller %q, want none", note.Caller())
	}
}

// An audited call's duration runs from when the access log around the
// Guard started it (the note's start), so the Guard need not read the
// clock again; with an injected clock the Guard keeps to its own.
func TestGuardTimesTheAuditFromTheNotesStart(t *testing.T) {
	fetched := func(context.Context, any) (any, error) { return &eeov1.GetTokenResponse{}, nil }
	info := &grpc.UnaryServerInfo{FullMethod: eeov1.TokenService_GetToken_FullMethodName}
	for _, tc := range []struct {
		name     string
		now      func() time.Time
		atLeastH bool // the duration includes the note's hour
	}{
		{"wall clock", nil, true},
		{"injected clock", testkit.NewClockAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).Now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, buf, events := auditLog(t)
			key, k := apiKey(t, "payroll")
			g, err := access.New(access.Config{
				APIKeys:  []access.APIKey{k},
				Policies: []access.Policy{{Caller: keyID("payroll"), Accounts: []string{"A"}, Permissions: []access.Permission{access.PermTokenGet}}},
				Audit:    log,
				Now:      tc.now,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(g.Close)
			ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+key))
			ctx, note := callnote.With(ctx)
			note.SetStart(time.Now().Add(-time.Hour))
			if _, err := g.UnaryInterceptor()(ctx, &eeov1.GetTokenRequest{Account: "A"}, info, fetched); err != nil {
				t.Fatal(err)
			}
			evs := events()
			if len(evs) != 1 {
				t.Fatalf("%d audit events, want 1:\n%s", len(evs), buf)
			}
			d, ok := evs[0]["duration"].(float64)
			if !ok {
				t.Fatalf("duration %v (%T), want nanoseconds:\n%s", evs[0]["duration"], evs[0]["duration"], buf)
			}
			if got := time.Duration(d) >= time.Hour; got != tc.atLeastH {
				t.Errorf("duration %v; want at least an hour: %v", time.Duration(d), tc.atLeastH)
			}
		})
	}
}
