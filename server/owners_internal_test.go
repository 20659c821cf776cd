package server

import (
	"strconv"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The owner record answers NOT_FOUND only for an id recorded as another
// account's, keeps imports and reports apart, and stays bounded: past
// maxOwners the oldest entries are forgotten (and left to EEO).
func TestObjectOwners(t *testing.T) {
	o := newObjectOwners()
	o.record(kindImport, "1", "demo")
	if err := o.check(kindImport, "1", "demo"); err != nil {
		t.Fatalf("owner: %v", err)
	}
	err := o.check(kindImport, "1", "other")
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || st.Message() != "import not found" {
		t.Fatalf("other account: %v", err)
	}
	if err := o.check(kindReport, "1", "other"); err != nil {
		t.Fatalf("report 1 is not import 1: %v", err)
	}
	if err := o.check(kindImport, "unrecorded", "other"); err != nil {
		t.Fatalf("an unrecorded id is EEO's to judge: %v", err)
	}
	o.record(kindReport, "r", "demo")
	if st, _ := status.FromError(o.check(kindReport, "r", "other")); st.Code() != codes.NotFound || st.Message() != "report not found" {
		t.Fatalf("other account's report: %v", st)
	}

	for i := range maxOwners {
		o.record(kindImport, "n"+strconv.Itoa(i), "demo")
	}
	if n := len(o.owner); n != maxOwners || len(o.order) != maxOwners {
		t.Fatalf("%d entries (%d in order), want the bound %d", n, len(o.order), maxOwners)
	}
	if o.foreign(kindImport, "1", "other") {
		t.Fatal("the oldest entry was not the one forgotten")
	}
	if !o.foreign(kindImport, "n"+strconv.Itoa(maxOwners-1), "other") {
		t.Fatal("the newest entry was forgotten")
	}
}
