package exitcode_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitcode.OK},
		{errors.New("boom"), exitcode.Failure},
		{exitcode.Usagef("bad flag %q", "--x"), exitcode.Usage},
		{fmt.Errorf("wrapped: %w", exitcode.With(exitcode.NotFound, errors.New("no such import"))), exitcode.NotFound},
	} {
		if got := exitcode.Of(tc.err); got != tc.want {
			t.Errorf("Of(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if exitcode.With(exitcode.Auth, nil) != nil {
		t.Error("With(code, nil) must stay nil so callers can wrap unconditionally")
	}
}
