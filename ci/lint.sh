#!/usr/bin/env bash
# Pipeline stage `lint`: yamllint, shellcheck, ruff and ansible-lint (the same as `make lint`).
source "$(dirname "$0")/lib.sh"
exec scripts/test.sh lint
