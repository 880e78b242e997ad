#!/usr/bin/env bash
# Create or refresh the control node's virtual environment (.venv) from requirements.txt, and the
# one of sslyze (.venv-sslyze) from requirements-sslyze.txt: its pins would break .venv's pysnmp.
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

# build_venv DIR REQUIREMENTS: (re)build DIR when REQUIREMENTS changed since its last build.
build_venv() {
  local dir=$1 requirements=$2 stamp want py
  stamp=$dir/.requirements.sha256
  want=$(sha256sum <"$requirements" | cut -d' ' -f1)
  if [ -x "$dir/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  py=$(find_python) || { echo "venv: no Python >= 3.12 found (set PYTHON=/path/to/python3.12)" >&2; exit 1; }
  echo "venv: building $dir with $py"
  [ -x "$dir/bin/python" ] || "$py" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" 2> >(grep -v "is neither a file nor a directory" >&2)
  echo "$want" >"$stamp"
}

build_venv .venv requirements.txt
build_venv .venv-sslyze requirements-sslyze.txt
