//go:build linux

package transcode

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr puts the child in its own process group and has the kernel
// SIGKILL it when the thread that started it dies (in practice: when the
// server process dies, even by SIGKILL, so no orphan encoder keeps running).
// Caveat: the kernel ties Pdeathsig to the forking OS thread; the Go runtime
// only retires a thread when a goroutine exits while runtime.LockOSThread'd,
// so Start must not be called from such a goroutine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// blockUntilExited waits until pid has exited without reaping it
// (waitid WNOWAIT), so the pid stays reserved. It reports whether it did.
func blockUntilExited(pid int) bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err == nil
		}
	}
}

// killGroup SIGKILLs the process group led by p.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }
