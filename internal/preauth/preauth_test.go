package preauth_test

import (
	"context"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/preauth"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMarkAuthenticated(t *testing.T) {
	ctx := context.Background()
	if preauth.Authenticated(ctx) {
		t.Error("a fresh context is authenticated")
	}
	if !preauth.Authenticated(preauth.MarkAuthenticated(ctx)) {
		t.Error("a marked context is not authenticated")
	}
}
