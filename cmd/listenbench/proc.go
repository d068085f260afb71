package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of utime/stime in /proc/<pid>/stat. Linux fixes it at
// 100 for user space on every architecture Go supports.
const userHZ = 100

// procSample is one reading of a process's CPU time and memory.
type procSample struct {
	at      time.Time
	cpu     time.Duration // user + system, all threads
	sys     time.Duration // system part of cpu
	rssKiB  int64
	threads int
}

// procFiles are a process's /proc/<pid>/stat and status, opened once: a
// run may use every descriptor it is allowed, and /proc files give fresh
// contents on every read from offset 0.
type procFiles struct {
	pid          int
	stat, status *os.File
	buf          []byte
}

func openProc(pid int) (*procFiles, error) {
	stat, err := os.Open(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		stat.Close()
		return nil, err
	}
	return &procFiles{pid: pid, stat: stat, status: status, buf: make([]byte, 16<<10)}, nil
}

func (p *procFiles) Close() {
	p.stat.Close()
	p.status.Close()
}

func (p *procFiles) read(f *os.File) ([]byte, error) {
	n, err := f.ReadAt(p.buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: empty (process gone?)", f.Name())
	}
	return p.buf[:n], nil
}

// sample reads the process's CPU time, threads and RSS.
func (p *procFiles) sample() (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := p.read(p.stat)
	if err != nil {
		return s, err
	}
	user, sys, threads, err := parseStat(stat)
	if err != nil {
		return s, fmt.Errorf("/proc/%d/stat: %w", p.pid, err)
	}
	s.cpu = time.Duration(user+sys) * time.Second / userHZ
	s.sys = time.Duration(sys) * time.Second / userHZ
	s.threads = threads
	status, err := p.read(p.status)
	if err != nil {
		return s, err
	}
	if s.rssKiB, err = parseRSS(status); err != nil {
		return s, fmt.Errorf("/proc/%d/status: %w", p.pid, err)
	}
	return s, nil
}

// parseStat returns utime and stime (in clock ticks) and num_threads. The
// command name may hold spaces and parentheses, so fields are counted from
// the last ')'.
func parseStat(b []byte) (user, sys uint64, threads int, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, fmt.Errorf("no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime 15, num_threads 20.
	if len(f) < 18 {
		return 0, 0, 0, fmt.Errorf("only %d fields", len(f)+2)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	th, err3 := strconv.Atoi(f[17])
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, fmt.Errorf("bad utime/stime/num_threads %q %q %q", f[11], f[12], f[17])
	}
	return ut, st, th, nil
}

// parseRSS returns VmRSS in KiB.
func parseRSS(b []byte) (int64, error) {
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS")
}

// selfSample is this process's CPU (getrusage, microsecond resolution)
// and RSS (from self, when open), to report the load tool's own cost.
func selfSample(self *procFiles) procSample {
	s := procSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		s.sys = time.Duration(ru.Stime.Nano())
	}
	if self != nil {
		if b, err := self.read(self.status); err == nil {
			s.rssKiB, _ = parseRSS(b)
		}
	}
	return s
}

// cpuPct is CPU use between two samples as % of one core: all of it, and
// the part spent in the kernel.
func cpuPct(a, b procSample) (all, sys float64) {
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return 0, 0
	}
	return 100 * float64(b.cpu-a.cpu) / float64(wall), 100 * float64(b.sys-a.sys) / float64(wall)
}

// raiseNoFile lifts RLIMIT_NOFILE to at least need descriptors: the soft
// limit up to the hard one, and the hard one too when allowed (root).
func raiseNoFile(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= need {
		return nil
	}
	want := lim
	want.Cur = max(lim.Cur, min(need, lim.Max))
	if need > lim.Max {
		want.Cur, want.Max = need, need
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// Not allowed to raise the hard limit: take what there is.
		want.Cur, want.Max = lim.Max, lim.Max
		if err2 := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err2 != nil {
			return err2
		}
		return fmt.Errorf("open files limited to %d (need %d): %w", lim.Max, need, err)
	}
	return nil
}

// readPIDFile reads a process id written by a server or a script.
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: not a process id: %q", path, strings.TrimSpace(string(b)))
	}
	return pid, nil
}
