package floor_test

import (
	"testing"

	"github.com/eeo-gateway/eeo-gateway/bench/floor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	floor.ServeIfChild() // the test binary is the floor server TestStart starts
	goleak.VerifyTestMain(m)
}
