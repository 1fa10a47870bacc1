package loadtest

import (
	"os/exec"
	"syscall"
	"time"
)

// stopWithParent has the kernel end the load test's server when the load
// test itself dies, even by SIGKILL.
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// ownCPU returns the CPU time this process has used, all threads.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
