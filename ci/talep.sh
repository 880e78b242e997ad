#!/usr/bin/env bash
# Pipeline stage `lint`: every new commit that changes inventories/production/ or group_vars/
# must name its written request (Talep: 2026/1234). The range is the merge request's commits,
# or what a push brought; a new branch is checked against the default branch.
source "$(dirname "$0")/lib.sh"

head=${CI_COMMIT_SHA:-HEAD}
zero=0000000000000000000000000000000000000000
if [ -n "${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}" ]; then
  base=$CI_MERGE_REQUEST_DIFF_BASE_SHA
elif [ -n "${CI_COMMIT_BEFORE_SHA:-}" ] && [ "$CI_COMMIT_BEFORE_SHA" != "$zero" ]; then
  base=$CI_COMMIT_BEFORE_SHA
elif [ -n "${CI_DEFAULT_BRANCH:-}" ] && git rev-parse -q --verify "origin/$CI_DEFAULT_BRANCH" >/dev/null; then
  base=$(git merge-base "origin/$CI_DEFAULT_BRANCH" "$head")
else
  ci_log "no base commit known: checking the whole history (with ci/talep-exempt.txt)"
  exec ci/check_talep.py --all
fi
ci_log "checking $base..$head"
exec ci/check_talep.py --range "$base..$head"
