package cpuclock_test

import (
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/cpuclock"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Self grows while the process computes.
func TestSelfCountsThisProcesssWork(t *testing.T) {
	before := cpuclock.Self()
	if before == 0 {
		t.Skip("no CPU clock on this platform")
	}
	x := uint64(1)
	for range 50_000_000 { // tens of milliseconds of CPU, far above the clock's tick
		x = x*6364136223846793005 + 1
	}
	if used := cpuclock.Self() - before; used <= 0 {
		t.Errorf("Self moved by %v over busy work (%d)", used, x)
	}
}
