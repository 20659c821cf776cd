package server

import (
	"strings"
	"sync"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
	"google.golang.org/grpc/codes"
)

// objectKind tells imports from reports in the owner record: EEO's ids are
// only unique within one kind.
type objectKind int

const (
	kindImport objectKind = iota + 1
	kindReport
)

// maxOwners bounds the owner record; the oldest entries go first.
const maxOwners = 100_000

// objectOwners remembers which account created each import and report
// through this gateway, so another account's caller asking for that id is
// NOT_FOUND even when both accounts reach EEO through the same client (EEO
// fetches objects by id alone, and cannot tell such accounts apart).
//
// It is the second of two defences. The first is config validation, which
// refuses two accounts sharing an EEO client, so EEO itself keeps each
// account's objects apart: that is what covers the objects this record does
// not hold (created before a restart, by another replica, directly at EEO,
// or evicted). An id with no record is therefore left to EEO.
type objectOwners struct {
	mu    sync.Mutex
	owner map[ownerKey]string // guarded by mu
	order []ownerKey          // guarded by mu; insertion order, for eviction
}

type ownerKey struct {
	kind objectKind
	id   string
}

func newObjectOwners() *objectOwners {
	return &objectOwners{owner: map[ownerKey]string{}}
}

// record notes that account created the object.
func (o *objectOwners) record(kind objectKind, id, account string) {
	if id == "" {
		return
	}
	k := ownerKey{kind, id}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.owner[k]; !ok {
		o.order = append(o.order, k)
	}
	o.owner[k] = account
	for len(o.order) > maxOwners {
		delete(o.owner, o.order[0])
		o.order = o.order[1:]
	}
}

// foreign reports whether the object is recorded as another account's.
func (o *objectOwners) foreign(kind objectKind, id, account string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	owner, ok := o.owner[ownerKey{kind, id}]
	return ok && owner != account
}

// check is NOT_FOUND for an object recorded as another account's, worded as
// EEO's own 404 is, so the answer does not say the id exists elsewhere.
func (o *objectOwners) check(kind objectKind, id, account string) error {
	if !o.foreign(kind, id, account) {
		return nil
	}
	reason := ReasonImportNotFound
	if kind == kindReport {
		reason = ReasonReportNotFound
	}
	return rpcerr.New(codes.NotFound, reason, strings.ToLower(strings.ReplaceAll(reason, "_", " ")), nil)
}
