#!/usr/bin/env bash
# Runs every fuzz target in the module for a bounded time each (default 20s).
# Crashes found land in the package's testdata/fuzz and fail the run; commit
# them as regression inputs once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-20s}"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($budget)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" "$pkg"
  done
done
