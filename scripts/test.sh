#!/usr/bin/env bash
# `make test`: every test of belediye-iac, stage by stage (lint and netbox side by side), with each
# stage's time and the machine's busy cores meanwhile.
#
#   scripts/test.sh                 all stages
#   scripts/test.sh lint unit       only the named stages (deps and venv always run)
#
# Stages: lint, unit, netbox, image, lab, molecule, integration, lablife. The netbox stage runs a
# real NetBox on loopback (lab/netbox/netboxctl.py) and tests the seeding, the dynamic inventory and
# the fact write-back against it; the integration stage uses the same NetBox for the write-back from
# the lab hosts. The lab stage brings the lab up and applies playbooks/site.yml with the pipeline's
# own script (ci/apply.sh). The integration stage needs that converged lab: it plans site.yml again
# in check mode with ci/plan.sh (which must find nothing left to change) and runs the integration
# tests, which also verify the run ledger both runs wrote (`scripts/test.sh lab integration`).
# lablife then checks lab/labctl.py itself on that lab: `up` twice, recovery from a killed run, and a
# `down` that leaves nothing behind. Whatever a stage brings up is torn down at the end, even on
# failure (lint and unit alone leave a running lab alone).
# A failing stage does not stop the later ones, so one run shows every failure.
#
# Time budget: the whole run has MAKE_TEST_BUDGET seconds (88 minutes by default: CI stops the job at
# 90; a stopped stage gets 30 s after TERM, the teardown takes about 30).
# A stage still running when the budget is spent is stopped (its whole process group), the stages
# after it are not started, and the teardown still prints the stage times, each molecule scenario's
# time and the failure lines: a run that is too slow says where its time went instead of being
# killed from outside with nothing printed.
set -uo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.." || exit 1
export CONTAINERS_CONF="$PWD/lab/containers.conf"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1
export PATH="$PWD/.venv/bin:$PATH"
# Every ansible-playbook run of the tests goes to the lab's own run ledger, not the control node's.
export BELEDIYE_LEDGER_PATH="${BELEDIYE_LEDGER_PATH:-$PWD/.lab/ledger/ledger.jsonl}"

# `scripts/test.sh __stage NAME`: one stage's body, in the process group that `timeout` gives it.
if [ "${1:-}" = "__stage" ]; then
  stage_only=$2
else
  stage_only=""
fi
budget=${MAKE_TEST_BUDGET:-5280}
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint unit netbox image lab molecule integration lablife)
declare -a summary=() failed_stages=()
failed=0
suite_start=$(date +%s)

# Machine-wide CPU counters (busy and total jiffies): a stage's line says how many of the cores were
# busy while it ran, so that a slow stage shows whether it waited or computed.
cpu_ticks() { awk '/^cpu /{printf "%d %d\n", $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }

# run_stage NAME CMD...: one stage, its output in .lab/runs/stage-NAME.log (and on the terminal unless
# STAGE_QUIET=1, for a stage that runs beside another); its summary line and whether it failed go to
# .lab/runs/stage-NAME.result, which the caller collects (a stage may run in a background job).
run_stage() {
  local name=$1; shift
  local t0 t1 rc b0 a0 b1 a1
  t0=$(date +%s)
  echo
  echo "=== stage $name: start $(date -u +%H:%M:%S)"
  # The stage's output is also kept, so that the end of the run can repeat what failed: CI shows
  # only the last lines of a long run.
  mkdir -p .lab/runs
  local left=$((suite_start + budget - t0))
  if [ $left -le 0 ]; then
    echo "=== stage $name: not started, the time budget (MAKE_TEST_BUDGET=${budget}s) is spent"
    printf 'failed\t%-10s %6ss  %s\n' "$name" 0 "NOT RUN (time budget spent)" >".lab/runs/stage-$name.result"
    return 1
  fi
  read -r b0 a0 < <(cpu_ticks)
  # Stopped with its whole process group (molecule, ansible, podman clients) when the budget runs
  # out; KILL 30 s after TERM.
  if [ "${STAGE_QUIET:-0}" = 1 ]; then
    echo "=== stage $name: runs beside another stage; its output: .lab/runs/stage-$name.log"
    timeout -k 30 "$left" "$@" >".lab/runs/stage-$name.log" 2>&1
    rc=$?
  else
    timeout -k 30 "$left" "$@" 2>&1 | tee ".lab/runs/stage-$name.log"
    rc=${PIPESTATUS[0]}
  fi
  t1=$(date +%s)
  read -r b1 a1 < <(cpu_ticks)
  local status=ok state=ok cores
  cores=$(awk -v b=$((b1 - b0)) -v a=$((a1 - a0)) -v n="$(nproc)" 'BEGIN { printf "%.1f", (a > 0 ? n * b / a : 0) }')
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    status="STOPPED: the time budget (MAKE_TEST_BUDGET=${budget}s) ran out"
    state=failed
  elif [ $rc -ne 0 ]; then
    status="FAILED (rc=$rc)"
    state=failed
  fi
  printf '%s\t%-10s %6ss  %-4s %s\n' "$state" "$name" $((t1 - t0)) "${cores}c" "$status" >".lab/runs/stage-$name.result"
  echo "=== stage $name: $status in $((t1 - t0))s (machine CPU: $cores of $(nproc) cores busy)"
  return $rc
}

# run_group STAGE...: the stages side by side (the first on the terminal, the others quiet), then
# their results into the summary. A stage of a group never needs another of the same group.
run_group() {
  local first=1 s pids=()
  for s in "$@"; do
    rm -f ".lab/runs/stage-$s.result"
    if [ $# -eq 1 ]; then
      run_stage "$s" "$self" __stage "$s"
    elif [ $first -eq 1 ]; then
      run_stage "$s" "$self" __stage "$s" &
      pids+=($!)
    else
      STAGE_QUIET=1 run_stage "$s" "$self" __stage "$s" &
      pids+=($!)
    fi
    first=0
  done
  [ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
  for s in "$@"; do
    local line state
    line=$(cat ".lab/runs/stage-$s.result" 2>/dev/null) || line=$(printf 'failed\t%-10s %6ss  %s' "$s" 0 "FAILED (no result)")
    state=${line%%$'\t'*}
    summary+=("${line#*$'\t'}")
    if [ "$state" != ok ]; then
      failed=1
      failed_stages+=("$s")
    fi
  done
}

uses_lab=0 uses_netbox=0
for s in "${stages[@]}"; do
  case $s in image | molecule | lab | integration | lablife) uses_lab=1 ;; esac
  case $s in netbox | integration) uses_netbox=1 ;; esac
done

teardown() {
  if [ $uses_lab -eq 1 ]; then
    echo
    echo "=== teardown: lab down"
    python lab/labctl.py down || true
  fi
  if [ $uses_netbox -eq 1 ]; then
    echo
    echo "=== teardown: NetBox down"
    python lab/netbox/netboxctl.py down || true
  fi
  local f
  if [[ " ${stages[*]} " == *" molecule "* ]] && [ -s .lab/runs/stage-molecule.log ]; then
    echo
    echo "=== molecule scenarios: result and time"
    grep -E '^--- molecule scenario .*: (ok|FAILED) in' .lab/runs/stage-molecule.log | sed 's/; the last .*//' || true
  fi
  if [ -s .lab/runs/flaky.txt ]; then
    echo
    echo "=== flaky: passed only on a second run (see the logs named)"
    cat .lab/runs/flaky.txt
  fi
  for f in "${failed_stages[@]}"; do
    echo
    echo "=== failed stage $f: its failure lines (whole output: .lab/runs/stage-$f.log)"
    failure_lines "$f" 60
  done
  echo
  echo "=== make test: stage times"
  printf '%s\n' "${summary[@]}"
  echo "total      $(( $(date +%s) - suite_start ))s"
  # The scenarios' times once more, a few to a line: CI's tail must say where the molecule time went.
  if [[ " ${stages[*]} " == *" molecule "* ]] && [ -s .lab/runs/stage-molecule.log ]; then
    sed -nE 's/^--- molecule scenario ([a-z_]+): (ok|FAILED) in ([0-9]+s).*/\1 \3 \2/p' .lab/runs/stage-molecule.log |
      paste -sd';' | sed 's/;/; /g' | fold -s -w 110 | sed 's/^/molecule: /'
  fi
  # CI shows only the last lines of a long run: they name what failed, once more, in short.
  if [ ${#failed_stages[@]} -gt 0 ]; then
    echo
    echo "=== in short, what failed"
    if [ -s .lab/runs/stage-molecule.log ]; then
      grep -E '^--- molecule scenario .*: FAILED in' .lab/runs/stage-molecule.log | sed 's/; the last .*//' | sort -u || true
    fi
    for f in "${failed_stages[@]}"; do
      printf '%s\n' "${summary[@]}" | grep -E "^$f +[0-9]+s +STOPPED" || failure_lines "$f" 4 | cut -c1-240 | sed "s/^/$f: /"
    done
  fi
}
trap teardown EXIT

# The last N lines of a stage's log that say what failed (or the end of the log if none does).
failure_lines() {
  local log=".lab/runs/stage-$1.log"
  [ -s "$log" ] || return 0
  # Diff lines of a run's output (a file's "+ except ValueError:") are not failures.
  grep -E -e 'fatal: \[|failed: \[|^FAILED |^ERROR |^E   |Error:|rc=[1-9]' -e '^ +[0-9]+:[0-9]+ +error ' "$log" |
    grep -Ev '^[-+@]' | tail -n "$2" | cut -c1-400 | grep . ||
    tail -n "$2" "$log" | cut -c1-400
}

stage_deps() {
  scripts/deps.sh
}

stage_venv() {
  scripts/venv.sh
}

stage_lint() {
  local rc=0
  yamllint --strict . || rc=1
  shellcheck --severity=warning scripts/*.sh lab/image/*.sh ci/*.sh githooks/commit-msg .ci/run || rc=1
  ruff check . || rc=1
  ruff format --check . || rc=1
  ansible-lint --profile production --offline || rc=1
  ci/check_talep.py --all || rc=1
  return $rc
}

stage_unit() {
  # Two workers: much of the unit time is spent waiting on ansible-playbook and git. tests/devices
  # drives the device simulators on loopback (ephemeral ports), with their client libraries and
  # through our modules; they need no lab.
  pytest -q -n 2 --durations=40 tests/unit tests/devices tests/network
}

stage_netbox() {
  # NetBox's own venv (about 40 s the first time), then the tests: each module restores an empty
  # NetBox from the committed schema dump (seconds), so the 336 migrations never run here.
  python lab/netbox/netboxctl.py install || return 1
  pytest -q --durations=10 tests/netbox
}

stage_image() {
  python lab/labctl.py image
}

stage_molecule() {
  # Scenarios run side by side (MOLECULE_JOBS at a time, 2 by default): each has its own
  # containers; labctl serialises what they share (network, proxy, known_hosts).
  python lab/labctl.py prepare || return 1
  rm -f .lab/runs/flaky.txt
  # Runs beside the integration stage: the scenarios' playbooks write to a ledger of their own, so
  # that the lab's ledger holds the lab's runs only, as the integration tests expect.
  export BELEDIYE_LEDGER_PATH="$PWD/.lab/ledger/molecule.jsonl"
  # Longest first (times of a clean run on CI's two cores), so that the lanes end together; a
  # scenario missing from the list runs last. The mail scenario leaves clamd and the milter to the
  # lab, where the integration tests send EICAR through them (MOL_MAIL_CLAMAV=false).
  # (Measured 2026-12-02 beside the integration stage: identity 808 s, isms_baseline 326, log_server 301,
  # backup_target 229, backup_client 170, pardus_desktop 159, mail_server 141, antivirus 135, dhcp 134,
  # web 96, firewall 67, switch 65, monitoring_agent 37, windows_baseline 20.)
  local longest_first=(identity isms_baseline log_server backup_target backup_client pardus_desktop mail_server
    antivirus dhcp web firewall switch monitoring_agent windows_baseline)
  local scenarios=() s
  for s in "${longest_first[@]}"; do [ -f "molecule/$s/molecule.yml" ] && scenarios+=("$s"); done
  for s in molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$s")")
    [[ " ${scenarios[*]} " == *" $s "* ]] || scenarios+=("$s")
  done
  printf '%s\n' "${scenarios[@]}" | MOL_MAIL_CLAMAV=false xargs -P "${MOLECULE_JOBS:-2}" -I{} scripts/molecule_one.sh {}
}

stage_lab() {
  python lab/labctl.py up || return 1
  local t0
  t0=$(date +%s)
  # The apply ends with the time of each role and of the slowest tasks: where the lab stage's time goes.
  # No --diff (APPLY_DIFF=0): the throw-away lab needs no change evidence, and diffs cost about a
  # tenth of a run (carried back, redacted and written by the ledger callback).
  ANSIBLE_CALLBACKS_ENABLED=ledger,ansible.posix.profile_roles,ansible.posix.profile_tasks \
    PROFILE_TASKS_TASK_OUTPUT_LIMIT=25 \
    INVENTORY=inventories/lab APPLY_SERIAL=100% APPLY_DIFF=0 APPLY_DIR=.lab/runs/apply ALLOW_DIRTY=1 LEDGER_REQUIRED=1 \
    ci/apply.sh || return 1
  echo "--- lab apply (ci/apply.sh): $(( $(date +%s) - t0 ))s"
}

stage_integration() {
  [ -f .lab/ssh/config ] || { echo "integration: the lab is not up; run the lab stage first (scripts/test.sh lab integration)"; return 1; }
  local t0
  t0=$(date +%s)
  # The plan checks that site.yml leaves nothing to change. Each role's own idempotence is proved
  # by its molecule scenario; here, on the host that carries the most roles together (log01: five)
  # and on the devices, whose runs cost nothing on the hosts. More hosts: LAB_PLAN_LIMIT=log01,mail01,...;
  # every lab host: LAB_PLAN_LIMIT=all (28 minutes on two cores at the last measure, 12 on four hosts).
  export LAB_PLAN_LIMIT=${LAB_PLAN_LIMIT:-log01,devices,windows_desktops}
  INVENTORY=inventories/lab PLAN_DIR=.lab/runs/plan PLAN_EXPECT_NO_CHANGES=1 LEDGER_REQUIRED=1 \
    LIMIT="$LAB_PLAN_LIMIT" ci/plan.sh || return 1
  echo "--- lab plan (ci/plan.sh on $LAB_PLAN_LIMIT, nothing may be left to change): $(( $(date +%s) - t0 ))s"
  t0=$(date +%s)
  pytest -q --durations=15 tests/integration
  local rc=$?
  echo "--- lab integration tests: $(( $(date +%s) - t0 ))s"
  return $rc
}

stage_lablife() {
  pytest -q -p no:cacheprovider tests/lab
}

if [ -n "$stage_only" ]; then
  trap - EXIT
  "stage_$stage_only"
  exit $?
fi
# ansible-lint uses one core, the NetBox stage about one: they run side by side (measured: 318 s
# for both, against 245 + 273 one after the other). Molecule beside the lab's apply gained nothing
# (stop 27: each kept both cores busy on its own; the scenarios took 2.2 to 3.4 times as long).
# The integration tests, though, wait on hosts and timers more than they compute (about 0.8 busy
# cores on average at stop 26), so molecule runs beside them once the lab is converged (measured:
# 2,438 s for both, molecule being the longer; one after the other they took about 2,400 + 1,500 s).
# Molecule's instances have their own addresses (10.231.0.128/25) and labctl serialises what both
# share; the one shared thing both change, the lab's ClamAV mirror, only ever moves to a newer
# database, and both stages' tests accept a newer one. The NetBox stage ends before the integration
# stage, which uses its NetBox.
groups=("lint netbox" "unit" "image" "lab" "integration molecule" "lablife")
for s in "${stages[@]}"; do
  [[ " ${groups[*]} " == *" $s "* ]] || { echo "unknown stage: $s" >&2; failed=1; }
done
run_group deps
if [ ${#failed_stages[@]} -gt 0 ]; then exit 1; fi
run_group venv
if [ ${#failed_stages[@]} -gt 0 ]; then exit 1; fi
for g in "${groups[@]}"; do
  chosen=()
  for s in $g; do
    [[ " ${stages[*]} " == *" $s "* ]] && chosen+=("$s")
  done
  [ ${#chosen[@]} -eq 0 ] || run_group "${chosen[@]}"
done
exit $failed
