//go:build !linux

package multiprocess_test

import "syscall"

// setParentDeathSignal: only Linux has a parent-death signal; elsewhere
// the test's cleanup is what kills its processes.
func setParentDeathSignal(*syscall.SysProcAttr) {}
