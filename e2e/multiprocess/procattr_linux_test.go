package multiprocess_test

import "syscall"

// setParentDeathSignal makes the kernel SIGKILL the child when the test
// binary dies (a timeout panic, a kill -9 of go test), when no cleanup runs.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
