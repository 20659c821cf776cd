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
