#!/usr/bin/env bash
# Runs every fuzz target in the module for a bounded number of executions
# each (default 100000x). Crashes found land in the package's testdata/fuzz and
# fail the run; commit them as regression inputs once fixed.
#
# Budgets are execution counts, not durations: with a duration, Go's fuzz
# coordinator can report "context deadline exceeded" at the boundary when a
# worker is still busy (go.dev/issue/75804), and minimising a new input
# (60 s by default) outlives a short -fuzztime. A count has no deadline to
# race; the outer timeout only catches a real hang.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-100000x}"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($budget)"
    timeout 600 go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" \
      -fuzzminimizetime 2000x "$pkg"
  done
done
