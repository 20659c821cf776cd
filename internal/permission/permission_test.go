package permission_test

import (
	"fmt"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/permission"
)

func TestKnown(t *testing.T) {
	for _, p := range permission.All() {
		if !p.Known() {
			t.Errorf("%s from All() is not Known", p)
		}
	}
	for _, p := range []permission.Permission{"", "token", "TOKEN:GET", "token:get ", "*"} {
		if p.Known() {
			t.Errorf("%q is Known", p)
		}
	}
}

func TestAllIsACopy(t *testing.T) {
	a := permission.All()
	a[0] = "mine"
	if permission.All()[0] != permission.TokenGet {
		t.Fatal("changing All's result changed the list")
	}
}

func ExampleNames() {
	fmt.Println(permission.Names())
	// Output: token:get, token:refresh, token:invalidate, imports:write, imports:read, reports:write, reports:read, accounts:list
}
