#!/usr/bin/env bash
# Pipeline stage `plan`: the site playbook in check mode with --diff, so reviewers see what a
# merge would change before it is applied. Kept as artifacts: plan.log (the run), plan.md (a
# readable report from the run's ledger line: hosts, changed tasks, diffs) and plan.json.
#
# Environment (defaults in brackets):
#   INVENTORY [inventories/production]  PLAYBOOK [playbooks/site.yml]  LIMIT []
#   PLAN_DIR [reports/plan]             VAULT_PASSWORD_FILE (production vault, GitLab File variable)
#   PLAN_EXPECT_NO_CHANGES [0]          1: fail when any host would change (drift check)
#   LEDGER_REQUIRED [1 on GitLab, else 0]  1: fail the job when the ledger did not record the run
# Extra arguments go to ansible-playbook. Exit status: ansible-playbook's, else 3 for drift,
# 4 for a missing ledger record.
source "$(dirname "$0")/lib.sh"
ci_venv

INVENTORY=${INVENTORY:-inventories/production}
PLAYBOOK=${PLAYBOOK:-playbooks/site.yml}
PLAN_DIR=${PLAN_DIR:-reports/plan}
LEDGER_REQUIRED=${LEDGER_REQUIRED:-$([ -n "${CI_JOB_ID:-}" ] && echo 1 || echo 0)}
[ -e "$INVENTORY" ] || ci_die "INVENTORY=$INVENTORY does not exist"
[ -f "$PLAYBOOK" ] || ci_die "PLAYBOOK=$PLAYBOOK does not exist"

ci_recorded_run plan "$PLAN_DIR" --check --diff "$@"
rc=$CI_RC
if [ "$rc" -eq 0 ] && [ "${PLAN_EXPECT_NO_CHANGES:-0}" = 1 ]; then
  [ -f "$PLAN_DIR/plan.json" ] || { ci_log "DRIFT unknown: the ledger has no record of the plan"; exit 4; }
  drift=$(python3 -c 'import json,sys
run = json.load(open(sys.argv[1]))
print(" ".join(sorted(h for h, s in run["hosts"].items() if s["changed"])))' "$PLAN_DIR/plan.json")
  if [ -n "$drift" ]; then
    ci_log "DRIFT: these hosts would change: $drift (see $PLAN_DIR/plan.md)"
    rc=3
  else
    ci_log "plan: no host would change"
  fi
fi
exit "$rc"
