//go:build unix

package cpuclock

import (
	"syscall"
	"time"
)

// Self is the user and system CPU time this process has used, for
// benchmarks and load generators that report CPU per operation: on a
// shared machine that is steadier than wall time, which includes waiting
// for a core.
func Self() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
