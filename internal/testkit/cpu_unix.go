//go:build unix

package testkit

import (
	"syscall"
	"time"
)

// ProcessCPU is the user and system CPU time the process has used, for
// benchmarks that report CPU per operation: on a shared machine that is
// steadier than wall time, which includes waiting for a core.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
