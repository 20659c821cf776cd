package accountview_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/accountview"
)

func TestWithoutAViewEveryAccountIsVisible(t *testing.T) {
	if v, ok := accountview.From(context.Background()); ok {
		t.Fatalf("From found a view %+v in a context without one", v)
	}
}

func TestARestrictedViewShowsOnlyItsAccounts(t *testing.T) {
	type other struct{}
	ctx := accountview.Restrict(context.Background(), "apikey:ops", func(a string) bool { return a == "acme" })
	// A context derived from the restricted one still carries the view.
	v, ok := accountview.From(context.WithValue(ctx, other{}, 1))
	if !ok {
		t.Fatal("From lost the view")
	}
	if !v.Visible("acme") || v.Visible("globex") || v.Visible("") {
		t.Errorf("Visible(acme, globex, \"\") = %v, %v, %v; want true, false, false", v.Visible("acme"), v.Visible("globex"), v.Visible(""))
	}
	if v.Scope() != "apikey:ops" {
		t.Errorf("Scope = %q, want apikey:ops", v.Scope())
	}
}

// A view restricted with no predicate fails closed: it shows nothing,
// never everything.
func TestANilPredicateShowsNothing(t *testing.T) {
	v, ok := accountview.From(accountview.Restrict(context.Background(), "s", nil))
	if !ok || v.Visible("acme") {
		t.Errorf("view %v, Visible(acme) = %v; want a view showing nothing", ok, v.Visible("acme"))
	}
}

func ExampleRestrict() {
	// The access guard, for a caller allowed on acme only:
	ctx := accountview.Restrict(context.Background(), "apikey:payroll", func(a string) bool { return a == "acme" })
	// The ListAccounts handler, before paging:
	var visible []string
	for _, a := range []string{"acme", "globex", "initech"} {
		if v, ok := accountview.From(ctx); !ok || v.Visible(a) {
			visible = append(visible, a)
		}
	}
	fmt.Println(visible)
	// Output: [acme]
}
