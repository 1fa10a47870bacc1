//go:build !linux

package loadtest

import (
	"os/exec"
	"time"
)

// stopWithParent does nothing here: only Linux can tie a child's life to
// its parent's. The load test stops its server itself on every normal exit.
func stopWithParent(*exec.Cmd) {}

// ownCPU is not measured here: the floors then report no CPU time.
func ownCPU() time.Duration { return 0 }
