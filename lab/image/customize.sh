#!/usr/bin/env bash
# mmdebstrap customize hook: turns the fresh root filesystem ($1) into a lab host.
set -euo pipefail
root=${1:?root directory}

# Each container gets its own machine-id and its own SSH host keys at first boot.
: >"$root/etc/machine-id"
rm -f "$root"/etc/ssh/ssh_host_*
mkdir -p "$root/etc/systemd/system/ssh.service.d"
cat >"$root/etc/systemd/system/ssh.service.d/10-lab-hostkeys.conf" <<'UNIT'
# Lab image: host keys are made on first boot, then the stock config test runs.
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
UNIT

# Units that have nothing to do in a container.
for unit in getty@tty1.service console-getty.service systemd-remount-fs.service \
            sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# The automation account. Its authorized_keys is bind-mounted by lab/labctl.py.
chroot "$root" useradd --create-home --shell /bin/bash --comment "Ansible automation (lab)" ansible
install -d -m 0700 -o 1000 -g 1000 "$root/home/ansible/.ssh"
printf 'ansible ALL=(ALL:ALL) NOPASSWD: ALL\n' >"$root/etc/sudoers.d/00-lab-ansible"
chmod 0440 "$root/etc/sudoers.d/00-lab-ansible"
chroot "$root" visudo -cf /etc/sudoers.d/00-lab-ansible >/dev/null

# The locales every host of the estate gets (role common: tr_TR.UTF-8 and en_US.UTF-8), generated
# once here; the role still lists and checks them.
sed -i -E 's/^# *(en_US\.UTF-8 UTF-8|tr_TR\.UTF-8 UTF-8)$/\1/' "$root/etc/locale.gen"
chroot "$root" locale-gen >/dev/null

# unattended-upgrades is in the image, but enabling it is role common's decision (its own
# 20auto-upgrades): a timer of a fresh container must not take the dpkg lock during a test.
rm -f "$root/etc/apt/apt.conf.d/20auto-upgrades"

# apt: no package lists in the image, and stamps dated in the past, so that the
# first `apt update_cache cache_valid_time=...` on a host really updates.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
mkdir -p "$root/var/lib/apt/periodic"
touch "$root/var/lib/apt/periodic/update-success-stamp"
touch -d 2000-01-01 "$root/var/lib/apt/lists" "$root/var/lib/apt/periodic/update-success-stamp"
rm -f "$root"/var/log/*.log "$root"/var/log/apt/*
