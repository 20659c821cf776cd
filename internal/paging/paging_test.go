package paging_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/paging"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func numbers(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// collect pages through items the way a caller does and returns every item
// seen and how many pages it took.
func collect(t *testing.T, items []int, size int32, scope string) ([]int, int) {
	t.Helper()
	var got []int
	token, pages := "", 0
	for {
		page, next, err := paging.Page(items, size, token, scope)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		got = append(got, page...)
		pages++
		if next == "" {
			return got, pages
		}
		if pages > len(items)+1 {
			t.Fatalf("no end after %d pages", pages)
		}
		token = next
	}
}

func TestPagingVisitsEveryItemOnce(t *testing.T) {
	for _, tc := range []struct {
		n         int
		size      int32
		wantPages int
	}{
		{0, 0, 1}, {1, 0, 1}, {100, 0, 1}, {101, 0, 2}, {10, 3, 4}, {9, 3, 3}, {2500, 5000, 3},
	} {
		items := numbers(tc.n)
		got, pages := collect(t, items, tc.size, "ListX\x00acme")
		if !slices.Equal(got, items) || pages != tc.wantPages {
			t.Errorf("n=%d size=%d: %d items in %d pages, want %d in %d", tc.n, tc.size, len(got), pages, tc.n, tc.wantPages)
		}
	}
}

func TestPageSizeMayChangeBetweenPages(t *testing.T) {
	items := numbers(10)
	first, next, err := paging.Page(items, 4, "", "s")
	if err != nil || next == "" {
		t.Fatalf("first page: %v %q", err, next)
	}
	rest, last, err := paging.Page(items, 100, next, "s")
	if err != nil || last != "" || !slices.Equal(append(first, rest...), items) {
		t.Fatalf("second page %v, next %q, err %v", rest, last, err)
	}
}

func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("err = %v, want INVALID_ARGUMENT", err)
	}
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && br.GetFieldViolations()[0].GetField() == field {
			if info := rpcerr.Info(err); info == nil || info.GetReason() != rpcerr.ReasonInvalidArgument {
				t.Fatalf("ErrorInfo %v", info)
			}
			return
		}
	}
	t.Fatalf("no BadRequest naming %s in %v", field, st.Details())
}

func TestBadTokensAreInvalidArgument(t *testing.T) {
	items := numbers(10)
	const scope = "ListImportTypes\x00acme"
	_, next, _ := paging.Page(items, 3, "", scope)
	for _, tc := range []struct{ name, token, scope string }{
		{"garbage", "not a token", scope},
		{"base64 of junk", "AAAAAAAAAAAAAAAA", scope},
		{"truncated", next[:len(next)-2], scope},
		{"too long", strings.Repeat("A", 200), scope},
		{"from another account", next, "ListImportTypes\x00globex"},
		{"from another list", next, "ListReportTypes\x00acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := paging.Page(items, 3, tc.token, tc.scope)
			wantFieldError(t, err, "page_token")
		})
	}
	_, _, err := paging.Page(items, -1, "", scope)
	wantFieldError(t, err, "page_size")
}

func TestATokenPastTheEndOfAShrunkListEndsIt(t *testing.T) {
	_, next, _ := paging.Page(numbers(10), 8, "", "s")
	page, last, err := paging.Page(numbers(5), 8, next, "s")
	if err != nil || len(page) != 0 || last != "" {
		t.Fatalf("page %v next %q err %v; want an empty last page", page, last, err)
	}
}

func ExamplePage() {
	types := []string{"grants", "participants", "terminations"}
	page, next, _ := paging.Page(types, 2, "", "ListImportTypes\x00demo")
	fmt.Println(page, next != "")
	page, next, _ = paging.Page(types, 2, next, "ListImportTypes\x00demo")
	fmt.Println(page, next != "")
	// Output:
	// [grants participants] true
	// [terminations] false
}
