#!/usr/bin/env bash
# Create or refresh the control node's virtual environment (.venv) from requirements.txt.
# Needs Python 3.12 or newer; the machine's default python3 may be older, so look further.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local c
  for c in "${PYTHON:-}" python3.12 python3.13 \
           /root/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.13*/bin/python3.13 \
           /usr/bin/python3.12 /usr/bin/python3.13 python3; do
    [ -n "$c" ] || continue
    if "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$c" || echo "$c"
      return 0
    fi
  done
  return 1
}

stamp=.venv/.requirements.sha256
want=$(sha256sum <requirements.txt | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
py=$(find_python) || { echo "venv: no Python >= 3.12 found (set PYTHON=/path/to/python3.12)" >&2; exit 1; }
echo "venv: building .venv with $py"
[ -x .venv/bin/python ] || "$py" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt 2> >(grep -v "is neither a file nor a directory" >&2)
echo "$want" >"$stamp"
