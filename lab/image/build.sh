#!/usr/bin/env bash
# Build the lab's Debian 12 base image as a root filesystem tarball.
#
#   lab/image/build.sh OUTPUT.tar.zst MIRROR SECURITY_MIRROR
#
# The result boots systemd as PID 1 under podman, has python3 for Ansible,
# an OpenSSH server that creates its host keys on first boot, and the
# automation account `ansible` with passwordless sudo (lab only: the
# production account is managed by the inventory).
# The recipe hash (lab/labctl.py image) covers this file and packages.txt.
set -euo pipefail

out=${1:?output tarball}
mirror=${2:?debian mirror URL}
security=${3:?debian security mirror URL}
here=$(cd "$(dirname "$0")" && pwd)
packages=$(grep -Ev '^\s*(#|$)' "$here/packages.txt" | paste -sd, -)

exec mmdebstrap \
  --variant=apt \
  --mode=root \
  --format=tar \
  --include="$packages" \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook="$here/customize.sh \"\$1\"" \
  bookworm "$out" \
  "deb $mirror bookworm main" \
  "deb $mirror bookworm-updates main" \
  "deb $security bookworm-security main"
