package main

import (
	"os/exec"
	"syscall"
)

// stopWithParent has the kernel end the load test's server when the load
// test itself dies, even by SIGKILL.
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
