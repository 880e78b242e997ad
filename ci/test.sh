#!/usr/bin/env bash
# Pipeline stage `test`: every test (`make test`): unit, molecule and the lab. Needs root, podman
# and the packages that scripts/deps.sh installs, i.e. a privileged runner of its own.
source "$(dirname "$0")/lib.sh"
exec make test
