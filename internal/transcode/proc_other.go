//go:build !unix

package transcode

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func blockUntilExited(int) bool { return false }

// killGroup kills p (no process groups here).
func killGroup(p *os.Process) error { return p.Kill() }
