package requestid_test

import (
	"context"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/requestid"
)

func TestValid(t *testing.T) {
	for _, ok := range []string{"a", "req-123", "0af7651916cd43dd8448eb211c80319c", "lb:abc/def+x=@y_z.1", strings.Repeat("x", 128)} {
		if !requestid.Valid(ok) {
			t.Errorf("Valid(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", 129), "has space", "new\nline", "quote\"", "ünïcode", "semi;colon", "<script>"} {
		if requestid.Valid(bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
}

func TestOrKeepsGoodIdsAndReplacesBadOnes(t *testing.T) {
	if got := requestid.Or("req-1"); got != "req-1" {
		t.Errorf("Or(req-1) = %q", got)
	}
	a, b := requestid.Or("bad id"), requestid.Or("")
	if !requestid.Valid(a) || !requestid.Valid(b) || a == b {
		t.Errorf("generated ids %q, %q: want two different valid ids", a, b)
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	if requestid.From(ctx) != "" {
		t.Fatal("id in an empty context")
	}
	if got := requestid.From(requestid.With(ctx, "r-1")); got != "r-1" {
		t.Fatalf("From = %q", got)
	}
}
