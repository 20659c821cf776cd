package redistest

import "syscall"

// setParentDeathSignal makes the kernel SIGKILL the server when the
// process that started it dies.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
