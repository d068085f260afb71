package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// binaryEnv names the audio-streamer executable the tests run. TestMain
// builds one unless it is set already (to test a binary built elsewhere).
const binaryEnv = "AUDIO_STREAMER_TEST_BINARY"

// TestMain builds the real binary once for every test that runs it as a
// subprocess, and hands its path over through the environment.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Getenv(binaryEnv) != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "audio-streamer-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "audio-streamer")
	// The test runs in this package's folder, so "." is the command. Under
	// -race the server is built with it too: its races then fail the tests
	// (exit status 66), and the build reuses the packages compiled for them.
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building audio-streamer:", err)
		return 1
	}
	os.Setenv(binaryEnv, bin)
	return m.Run()
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
