//go:build !linux

package redistest

import "syscall"

// setParentDeathSignal: only Linux has a parent-death signal; elsewhere
// only the test's cleanup stops the server.
func setParentDeathSignal(*syscall.SysProcAttr) {}
