package ctxvalue_test

import (
	"context"
	"errors"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/ctxvalue"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type keyA struct{}
type keyB struct{}
type plainKey struct{}

func TestValuesStackAndKeepTheParentsContext(t *testing.T) {
	cause := errors.New("stopped")
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), plainKey{}, "plain"))
	ctx := context.Context(ctxvalue.With[keyA](parent, 1))
	ctx = ctxvalue.With[keyB](ctx, "b")
	ctx = ctxvalue.With[keyA](ctx, 2) // nearer to ctx: shadows the first

	if v, ok := ctxvalue.From[keyA, int](ctx); !ok || *v != 2 {
		t.Errorf("From[keyA] = %v, %v; want 2, true", v, ok)
	}
	if v, ok := ctxvalue.From[keyB, string](ctx); !ok || *v != "b" {
		t.Errorf("From[keyB] = %v, %v; want b, true", v, ok)
	}
	if _, ok := ctxvalue.From[keyB, int](ctx); ok {
		t.Error("From[keyB, int] found a value put as a string")
	}
	if _, ok := ctxvalue.From[keyA, int](parent); ok {
		t.Error("From[keyA] found a value in a context without one")
	}
	if got := ctx.Value(plainKey{}); got != "plain" {
		t.Errorf("parent's value = %v; want plain", got)
	}
	cancel(cause)
	if ctx.Err() == nil || context.Cause(ctx) != cause {
		t.Errorf("after the parent's cancel: Err %v, Cause %v; want canceled with %v", ctx.Err(), context.Cause(ctx), cause)
	}
}

func TestUpdatesInPlaceAreSeenThroughFrom(t *testing.T) {
	ctx := ctxvalue.With[keyA](context.Background(), 0)
	v, _ := ctxvalue.From[keyA, int](ctx)
	*v = 7
	if got, _ := ctxvalue.From[keyA, int](ctx); *got != 7 {
		t.Errorf("after an update: %d; want 7", *got)
	}
}

func TestAddingAndReadingAValueAllocatesOnce(t *testing.T) {
	parent := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		ctx := ctxvalue.With[keyA](parent, [4]int{1, 2, 3, 4})
		if v, ok := ctxvalue.From[keyA, [4]int](ctx); !ok || v[3] != 4 {
			t.Fatal("value lost")
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations; want 1", allocs)
	}
}
