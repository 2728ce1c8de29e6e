package main

import "syscall"

// dieWithParent makes the kernel kill the server if testenv itself is killed
// (SIGKILL leaves no chance to clean up), so no server outlives its run.
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
