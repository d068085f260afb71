package main

import (
	"context"
	"io"
)

// check prints, per station, what will play and what will be skipped.
func check(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) int {
	return 0
}
