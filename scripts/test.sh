#!/usr/bin/env bash
# `make test`: every test of belediye-iac, stage by stage, with each stage's time.
#
#   scripts/test.sh                 all stages
#   scripts/test.sh lint unit       only the named stages (deps and venv always run)
#
# Stages: lint, unit, image, molecule, lab, lablife. The lab stage brings the lab up,
# converges it with playbooks/site.yml twice (the second run must change nothing) and runs
# the integration tests. lablife then checks lab/labctl.py itself on that lab: `up` twice,
# recovery from a killed run, and a `down` that leaves nothing behind. Whatever a stage
# brings up is torn down at the end, even on failure (lint and unit alone leave a running
# lab alone).
# A failing stage does not stop the later ones, so one run shows every failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export CONTAINERS_CONF="$PWD/lab/containers.conf"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1
export PATH="$PWD/.venv/bin:$PATH"

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint unit image molecule lab lablife)
declare -a summary=()
failed=0
suite_start=$(date +%s)

run_stage() {
  local name=$1; shift
  local t0 t1 rc
  t0=$(date +%s)
  echo
  echo "=== stage $name: start $(date -u +%H:%M:%S)"
  "$@"
  rc=$?
  t1=$(date +%s)
  local status=ok
  [ $rc -eq 0 ] || { status="FAILED (rc=$rc)"; failed=1; }
  summary+=("$(printf '%-10s %6ss  %s' "$name" $((t1 - t0)) "$status")")
  echo "=== stage $name: $status in $((t1 - t0))s"
  return $rc
}

uses_lab=0
for s in "${stages[@]}"; do
  case $s in image | molecule | lab | lablife) uses_lab=1 ;; esac
done

teardown() {
  if [ $uses_lab -eq 1 ]; then
    echo
    echo "=== teardown: lab down"
    python lab/labctl.py down || true
  fi
  echo
  echo "=== make test: stage times"
  printf '%s\n' "${summary[@]}"
  echo "total      $(( $(date +%s) - suite_start ))s"
}
trap teardown EXIT

stage_lint() {
  local rc=0
  yamllint --strict . || rc=1
  shellcheck --severity=warning scripts/*.sh lab/image/*.sh .ci/run || rc=1
  ruff check . || rc=1
  ruff format --check . || rc=1
  ansible-lint --profile production --offline || rc=1
  return $rc
}

stage_unit() {
  pytest -q tests/unit
}

stage_image() {
  python lab/labctl.py image
}

stage_molecule() {
  local rc=0 scenario t0
  for scenario in molecule/*/molecule.yml; do
    scenario=$(basename "$(dirname "$scenario")")
    t0=$(date +%s)
    echo "--- molecule scenario $scenario"
    if molecule test -s "$scenario"; then
      echo "--- molecule scenario $scenario: ok in $(( $(date +%s) - t0 ))s"
    else
      echo "--- molecule scenario $scenario: FAILED in $(( $(date +%s) - t0 ))s"
      rc=1
    fi
  done
  return $rc
}

stage_lab() {
  python lab/labctl.py up || return 1
  scripts/converge.sh --assert-idempotent || return 1
  pytest -q tests/integration
}

stage_lablife() {
  pytest -q -p no:cacheprovider tests/lab
}

run_stage deps scripts/deps.sh || exit 1
run_stage venv scripts/venv.sh || exit 1
for s in "${stages[@]}"; do
  case $s in
    lint | unit | image | molecule | lab | lablife) run_stage "$s" "stage_$s" ;;
    *) echo "unknown stage: $s" >&2; failed=1 ;;
  esac
done
exit $failed
