//go:build linux

package loudness

import "syscall"

// sysProcAttr has the kernel SIGKILL ffmpeg when the thread that started it
// dies (in practice: when the server dies, even by SIGKILL), so no orphan
// keeps decoding. The kernel ties Pdeathsig to the forking OS thread; the
// Go runtime retires a thread only when a goroutine exits while
// runtime.LockOSThread'd, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
