#!/usr/bin/env bash
# Pipeline stage `apply` (on the merge to main): the site playbook in batches. The plays of the
# site playbook read `apply_serial` and `apply_max_fail_percentage`, which this script passes:
# with the defaults one canary host goes first, then batches of a quarter of the hosts, and a
# batch in which any host fails stops the whole run (later batches and plays are not touched).
#
# Environment (defaults in brackets):
#   INVENTORY [inventories/production]  PLAYBOOK [playbooks/site.yml]  LIMIT []
#   APPLY_SERIAL [1,25%]                batch sizes, comma-separated: numbers or percentages
#   APPLY_MAX_FAIL_PERCENTAGE [0]       stop when more than this share of a batch fails (0-100)
#   APPLY_DIR [reports/apply]           apply.log, apply.md, apply.json
#   APPLY_DIFF [1]                      1: run with --diff, so that the ledger and apply.md hold each
#                                       change's diff (the change evidence); 0 only where no one
#                                       reads the evidence (the throw-away lab of `make test`)
#   VAULT_PASSWORD_FILE, LEDGER_REQUIRED as for plan.sh; ALLOW_DIRTY=1 allows a dirty work tree
# Extra arguments go to ansible-playbook. Exit status: ansible-playbook's; 2 for bad settings
# (nothing ran); 4 when the run succeeded but the ledger did not record it.
source "$(dirname "$0")/lib.sh"
ci_venv

INVENTORY=${INVENTORY:-inventories/production}
PLAYBOOK=${PLAYBOOK:-playbooks/site.yml}
APPLY_DIR=${APPLY_DIR:-reports/apply}
APPLY_SERIAL=${APPLY_SERIAL:-1,25%}
APPLY_MAX_FAIL_PERCENTAGE=${APPLY_MAX_FAIL_PERCENTAGE:-0}
APPLY_DIFF=${APPLY_DIFF:-1}
LEDGER_REQUIRED=${LEDGER_REQUIRED:-$([ -n "${CI_JOB_ID:-}" ] && echo 1 || echo 0)}
[ -e "$INVENTORY" ] || ci_die "INVENTORY=$INVENTORY does not exist"
[ -f "$PLAYBOOK" ] || ci_die "PLAYBOOK=$PLAYBOOK does not exist"
case "$APPLY_DIFF" in
  1) diff_arg=(--diff) ;;
  0) diff_arg=() ;;
  *) ci_die "APPLY_DIFF=$APPLY_DIFF: give 1 (with diffs) or 0" ;;
esac

# Settings are checked before anything runs; the playbook gets them as JSON extra vars.
batch_vars=$(python3 - "$APPLY_SERIAL" "$APPLY_MAX_FAIL_PERCENTAGE" <<'PY'
import json, re, sys
serial, max_fail = sys.argv[1], sys.argv[2]
batches = []
for item in serial.split(","):
    item = item.strip()
    if re.fullmatch(r"[1-9][0-9]*", item):
        batches.append(int(item))
    elif re.fullmatch(r"([1-9][0-9]?|100)%", item):
        batches.append(item)
    else:
        sys.exit(f"APPLY_SERIAL={serial!r}: {item!r} is neither a host count (1, 2, ...) nor a percentage (1%..100%)")
if not re.fullmatch(r"[0-9]+", max_fail) or int(max_fail) > 100:
    sys.exit(f"APPLY_MAX_FAIL_PERCENTAGE={max_fail!r}: give a whole number from 0 to 100")
print(json.dumps({"apply_serial": batches, "apply_max_fail_percentage": int(max_fail)}))
PY
) || ci_die "bad batch settings (nothing was run)"
ci_require_clean_tree

ci_log "apply: serial $APPLY_SERIAL, max fail $APPLY_MAX_FAIL_PERCENTAGE% of a batch, diffs $([ "$APPLY_DIFF" = 1 ] && echo on || echo off)"
ci_recorded_run apply "$APPLY_DIR" "${diff_arg[@]}" -e "$batch_vars" "$@"
exit "$CI_RC"
