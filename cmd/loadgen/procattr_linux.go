package main

import "syscall"

// dieWithParent makes the kernel kill a server if the driver itself is
// killed (SIGKILL leaves no chance to clean up), so no server outlives its
// run.
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
