#!/usr/bin/env bash
# Converge the lab with playbooks/site.yml.
#
#   scripts/converge.sh                      one run (what `make demo` does)
#   scripts/converge.sh --assert-idempotent  two runs; fails unless the second changes nothing
#
# Extra arguments after the flag go to ansible-playbook (e.g. --limit app01).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_NOCOLOR=1

twice=0
if [ "${1:-}" = "--assert-idempotent" ]; then twice=1; shift; fi
log_dir=.lab/runs
mkdir -p "$log_dir"

run_site() {
  local label=$1; shift
  local log="$log_dir/site-$label.log" t0 rc
  t0=$(date +%s)
  echo "converge: ansible-playbook -i inventories/lab playbooks/site.yml $* ($label run, log $log)"
  ansible-playbook -i inventories/lab playbooks/site.yml "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  echo "converge: $label run finished rc=$rc in $(( $(date +%s) - t0 ))s"
  return $rc
}

run_site first "$@" || exit 1
if [ $twice -eq 1 ]; then
  run_site second "$@" || exit 1
  # The recap lines of the second run: every host must report changed=0.
  if grep -E '^\S+\s+: ok=' "$log_dir/site-second.log" | grep -Ev 'changed=0 ' ; then
    echo "converge: FAILED: the second run changed the hosts above (not idempotent)" >&2
    exit 1
  fi
  echo "converge: second run changed nothing on any host"
fi
