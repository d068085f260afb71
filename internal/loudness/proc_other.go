//go:build !linux

package loudness

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
