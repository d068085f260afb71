//go:build unix && !linux

package transcode

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// blockUntilExited is not implemented here: the group is then only
// signalled until Wait reaps the leader.
func blockUntilExited(int) bool { return false }

// killGroup SIGKILLs the process group led by p.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }
