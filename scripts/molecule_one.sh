#!/usr/bin/env bash
# One molecule scenario, its output kept in .lab/runs/molecule-<scenario>.log; prints one line
# with the result and time, and on failure the end of the log. scripts/test.sh runs several of
# these side by side (MOLECULE_JOBS).
#
# A failed scenario runs once more (MOLECULE_RETRIES, 1 by default) on fresh instances. A pass on
# the second run is not hidden: the scenario is named in .lab/runs/flaky.txt, which make test
# prints after its stage times; the first run's log stays molecule-<scenario>.log, the second is .2.log.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
scenario=$1
retries=${MOLECULE_RETRIES:-1}
mkdir -p .lab/runs
attempt=0
while :; do
  log=.lab/runs/molecule-$scenario.log
  [ $attempt -eq 0 ] || log=.lab/runs/molecule-$scenario.$((attempt + 1)).log
  t0=$(date +%s)
  echo "--- molecule scenario $scenario: start $(date -u +%H:%M:%S)"
  # The output goes to the log; what comes back is each step's time (scripts/molecule_steps.py).
  # pipefail: the status is molecule's unless the copy itself failed.
  if steps=$(molecule test -s "$scenario" 2>&1 | python3 scripts/molecule_steps.py "$log"); then
    echo "--- molecule scenario $scenario: ok in $(( $(date +%s) - t0 ))s ($steps)"
    if [ $attempt -gt 0 ]; then
      echo "molecule scenario $scenario: FLAKY, failed $attempt time(s) and then passed (logs: .lab/runs/molecule-$scenario.*)" |
        tee -a .lab/runs/flaky.txt
    fi
    exit 0
  fi
  echo "--- molecule scenario $scenario: FAILED in $(( $(date +%s) - t0 ))s ($steps); the last 300 lines of $log:"
  tail -n 300 "$log"
  [ $attempt -lt "$retries" ] || exit 1
  attempt=$((attempt + 1))
  # molecule test destroys its instances after a failure too; make sure before the next run.
  molecule destroy -s "$scenario" >>"$log" 2>&1 || true
done
