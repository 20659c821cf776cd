package callnote_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/callnote"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCacheHitReachesTheNote(t *testing.T) {
	ctx, note := callnote.With(context.Background())
	if note.CacheHit() {
		t.Fatal("a fresh note says cache hit")
	}
	callnote.CacheHit(ctx)
	if !note.CacheHit() {
		t.Error("CacheHit on the call's context did not reach its note")
	}
}

func TestCacheHitWithoutANoteIsHarmless(t *testing.T) {
	callnote.CacheHit(context.Background()) // must not panic
	_, other := callnote.With(context.Background())
	callnote.CacheHit(context.Background())
	if other.CacheHit() {
		t.Error("a cache hit on one call marked another call's note")
	}
}

func ExampleWith() {
	// The interceptor:
	ctx, note := callnote.With(context.Background())
	// The handler, served from the cache:
	callnote.CacheHit(ctx)
	// The interceptor again:
	if note.CacheHit() {
		fmt.Println("routine: not audited")
	}
	// Output: routine: not audited
}

// The access guard, inside the access log, records the caller into the
// note the access log put in the context; the guard's own use of the note
// for cache hits shares it.
func TestCallerReachesTheOuterNote(t *testing.T) {
	ctx, outer := callnote.With(context.Background())
	if outer.Caller() != "" {
		t.Fatal("a fresh note names a caller")
	}
	inner, ok := callnote.From(context.WithValue(ctx, struct{}{}, 1))
	if !ok || inner != outer {
		t.Fatalf("From under the interceptor's context = %p, %v; want its note %p", inner, ok, outer)
	}
	inner.SetCaller("apikey:ops")
	callnote.CacheHit(ctx)
	if outer.Caller() != "apikey:ops" || !outer.CacheHit() {
		t.Errorf("outer note: caller %q, cache hit %v; want apikey:ops, true", outer.Caller(), outer.CacheHit())
	}
	if _, ok := callnote.From(context.Background()); ok {
		t.Error("From found a note in a context without one")
	}
}

// The noted context is still the call's: its values, deadline and
// cancellation pass through, to contexts derived from it too.
func TestWithKeepsTheCallsContext(t *testing.T) {
	type k struct{}
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), k{}, "v"))
	ctx, note := callnote.With(parent)
	child, stop := context.WithCancel(ctx)
	defer stop()
	if ctx.Value(k{}) != "v" {
		t.Errorf("parent's value lost: %v", ctx.Value(k{}))
	}
	if n, ok := callnote.From(child); !ok || n != note {
		t.Error("a derived context does not find the note")
	}
	cause := fmt.Errorf("client went away")
	cancel(cause)
	<-child.Done()
	if context.Cause(child) != cause {
		t.Errorf("cause %v, want %v", context.Cause(child), cause)
	}
}
