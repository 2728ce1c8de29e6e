//go:build !linux

package main

import "syscall"

// dieWithParent does nothing where the kernel cannot tie a child's life to
// its parent; a killed driver may then leave its servers running.
func dieWithParent(*syscall.SysProcAttr) {}
