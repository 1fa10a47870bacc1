//go:build !linux

package main

import "os/exec"

// stopWithParent does nothing here: only Linux can tie a child's life to
// its parent's. The load test stops its server itself on every normal exit.
func stopWithParent(*exec.Cmd) {}
