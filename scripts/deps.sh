#!/usr/bin/env bash
# Install what the control node and the lab need on a fresh Debian 12 machine (run as root):
# podman with runc (crun refuses this kernel's cgroup layout), mmdebstrap for the base image,
# squid as the lab's apt proxy, git and gnupg for the desktops' pull tests, and the kernel limits
# that many systemd containers need.
# Idempotent and quick when everything is present.
set -euo pipefail

need=()
# chromium renders the ISMS audit report in the tests (headless); openssl issues the lab PKI and runs
# the lab TSA (openssl ts); e2fsprogs gives chattr, which the log5651 tests use where permitted.
# PostgreSQL 15 and Redis serve the lab's NetBox (lab/netbox/netboxctl.py runs its own instances on
# loopback; the packaged services are not used).
for pkg in podman runc mmdebstrap eatmydata zstd openssh-client iproute2 openssl e2fsprogs squid shellcheck chromium gnupg git \
           postgresql-15 redis-server; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A third-party source that cannot be reached must not stop the install of Debian's packages.
  apt-get update -q >/dev/null || echo "deps: warning: apt-get update reported errors; trying the install anyway" >&2
  # squid without recommends (no squid-openssl extras); the rest as Debian ships them.
  apt-get install -y -q --no-install-recommends squid >/dev/null
  apt-get install -y -q "${need[@]}" >/dev/null
fi
# The packaged squid service is not used (the lab runs its own squid on its bridge); on a
# machine with systemd keep it from holding port 3128 and from running as an open proxy.
if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
  systemctl disable --now squid >/dev/null 2>&1 || true
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
sysctl -q -w fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288 || \
  echo "deps: warning: cannot raise inotify limits; more than ~20 lab hosts may fail to boot" >&2
