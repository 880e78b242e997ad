# shellcheck shell=bash
# Shared by the pipeline scripts in ci/: the repository root as working directory, the control
# node's venv on PATH, plain output for CI logs, and the helpers below. Sourced, not run.
set -euo pipefail
CI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$CI_ROOT"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
export PATH="$CI_ROOT/.venv/bin:$PATH"

ci_log() { echo "[$(date -u +%H:%M:%S)] ${0##*/}: $*" >&2; }
ci_die() { ci_log "ERROR: $*"; exit 2; }

# The venv from the pinned requirements (a no-op when it is current).
ci_venv() { scripts/venv.sh >&2; }

# A run id that names the pipeline and job on GitLab, or the time and process here. The ledger
# callback records it (BELEDIYE_RUN_ID), so a script can find its own run's line afterwards.
ci_run_id() {
  local kind=$1
  echo "$kind-${CI_PIPELINE_ID:-local}-${CI_JOB_ID:-$(date -u +%Y%m%dT%H%M%SZ)}-$$"
}

# --vault-id for production when GitLab hands us the password as a File variable.
ci_vault_args() {
  if [ -n "${VAULT_PASSWORD_FILE:-}" ]; then
    [ -r "$VAULT_PASSWORD_FILE" ] || ci_die "VAULT_PASSWORD_FILE=$VAULT_PASSWORD_FILE is not readable"
    printf '%s\n' --vault-id "prod@$VAULT_PASSWORD_FILE"
  fi
}

# Apply only what is committed: a dirty work tree is not a change anyone reviewed.
ci_require_clean_tree() {
  [ "${ALLOW_DIRTY:-0}" = 1 ] && return 0
  if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
    git status --short >&2
    ci_die "the work tree has uncommitted changes; commit them (with a Talep: trailer where needed) or set ALLOW_DIRTY=1 for the lab"
  fi
}

# Publish one run's ledger line as a Markdown report and as JSON next to the log. Returns 1 when
# the ledger has no line for the run (the run itself went on: the ledger never stops a run).
ci_publish_run() {
  local run_id=$1 out_dir=$2 name=$3
  if tools/ledger.py show --run-id "$run_id" --format json >"$out_dir/$name.json" 2>"$out_dir/$name.ledger-err" &&
    tools/ledger.py show --run-id "$run_id" --format md >"$out_dir/$name.md"; then
    rm -f "$out_dir/$name.ledger-err"
    ci_log "report: $out_dir/$name.md (ledger run $run_id)"
    return 0
  fi
  ci_log "WARNING: the ledger holds no line for run $run_id: $(cat "$out_dir/$name.ledger-err")"
  rm -f "$out_dir/$name.json"
  return 1
}

# Run ansible-playbook as one recorded run: a fresh BELEDIYE_RUN_ID, the production vault id when
# given, LIMIT, the output in <out_dir>/<kind>.log, then the run's ledger line published as
# <kind>.md and <kind>.json. Sets CI_RC to ansible-playbook's exit status, or 4 when the run
# succeeded but the ledger has no line for it and LEDGER_REQUIRED=1.
#   ci_recorded_run KIND OUT_DIR ARG...    (the arguments after the inventory and playbook)
ci_recorded_run() {
  local kind=$1 out_dir=$2
  shift 2
  mkdir -p "$out_dir"
  BELEDIYE_RUN_ID=$(ci_run_id "$kind")
  export BELEDIYE_RUN_ID
  local -a vault args
  mapfile -t vault < <(ci_vault_args)
  args=(-i "$INVENTORY" "$PLAYBOOK" "${vault[@]}" "$@")
  [ -z "${LIMIT:-}" ] || args+=(--limit "$LIMIT")
  ci_log "$kind $BELEDIYE_RUN_ID: ansible-playbook ${args[*]}"
  set +e
  ansible-playbook "${args[@]}" 2>&1 | tee "$out_dir/$kind.log"
  CI_RC=${PIPESTATUS[0]}
  set -e
  ci_log "$kind: ansible-playbook exit $CI_RC"
  if ! ci_publish_run "$BELEDIYE_RUN_ID" "$out_dir" "$kind"; then
    if [ "${LEDGER_REQUIRED:-0}" = 1 ] && [ "$CI_RC" -eq 0 ]; then CI_RC=4; fi
  fi
  return 0
}
