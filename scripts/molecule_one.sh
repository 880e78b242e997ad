#!/usr/bin/env bash
# One molecule scenario, its output kept in .lab/runs/molecule-<scenario>.log; prints one line
# with the result and time, and on failure the end of the log. scripts/test.sh runs several of
# these side by side (MOLECULE_JOBS).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
scenario=$1
log=.lab/runs/molecule-$scenario.log
mkdir -p .lab/runs
t0=$(date +%s)
echo "--- molecule scenario $scenario: start $(date -u +%H:%M:%S)"
if molecule test -s "$scenario" >"$log" 2>&1; then
  echo "--- molecule scenario $scenario: ok in $(( $(date +%s) - t0 ))s"
  exit 0
fi
echo "--- molecule scenario $scenario: FAILED in $(( $(date +%s) - t0 ))s; the last 300 lines of $log:"
tail -n 300 "$log"
exit 1
