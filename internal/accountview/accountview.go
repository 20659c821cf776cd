// Package accountview carries which accounts a call's caller may see from
// the access guard, which decides it, to the ListAccounts handler, which
// filters the accounts by it before paging them: a caller allowed 3 of 500
// accounts then gets full pages of its own accounts and a next_page_token
// exactly while more of them follow, instead of pages of 500 accounts
// trimmed afterwards to short or empty ones. server/ does not import
// access/ (the guard is wired in by cmd/), so the two meet here. Only code
// in this module can restrict a view: context values cannot come from the
// wire.
package accountview

import (
	"context"

	"github.com/eeo-gateway/eeo-gateway/internal/ctxvalue"
)

// View is the accounts one caller may see.
type View struct {
	scope   string
	visible func(account string) bool
}

type key struct{}

// Restrict returns ctx carrying a View that shows only the accounts visible
// reports true for; a nil visible shows none. scope names whose view it is
// (the caller), different for every view that may differ: a List method
// binds its page tokens to it, so a token issued under one view is refused
// under another rather than read as an offset into a different list.
func Restrict(ctx context.Context, scope string, visible func(account string) bool) context.Context {
	return ctxvalue.With[key](ctx, View{scope: scope, visible: visible})
}

// From returns the View restricted into ctx. Without one (no guard, access
// control off, a caller allowed on every account) every account is
// visible.
func From(ctx context.Context) (View, bool) {
	v, ok := ctxvalue.From[key, View](ctx)
	if !ok {
		return View{}, false
	}
	return *v, true
}

// Visible reports whether the view shows account.
func (v View) Visible(account string) bool {
	return v.visible != nil && v.visible(account)
}

// Scope is the scope the view was restricted with.
func (v View) Scope() string { return v.scope }
