"""Behaviour of the ISMS (BGYS) baseline on a converged Debian 12 server and Pardus 23 desktop.

Where a control can be exercised, the test exercises it (an SSH login with a password, a weak
cipher, su by an ordinary user, a weak password, a file changed behind AIDE's back) rather than
reading the configuration back.
"""

import base64
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
KEY = ROOT / ".lab" / "ssh" / "id_ed25519"
KNOWN_HOSTS = ROOT / ".lab" / "ssh" / "known_hosts"


@pytest.fixture
def root(host):
    """The instance, with commands run as root (the probes read root-only files)."""
    with host.sudo():
        yield host


def ssh(host, *options: str, user: str = "ansible", command: str = "true") -> subprocess.CompletedProcess:
    """An SSH attempt from the control node to the instance, with the given client options."""
    address = host.ansible.get_variables()["ansible_host"]
    argv = [
        "ssh",
        "-o",
        f"UserKnownHostsFile={KNOWN_HOSTS}",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "ControlPath=none",
        *options,
        f"{user}@{address}",
        command,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


# --- SSH -----------------------------------------------------------------------------------


def test_ssh_refuses_passwords_and_offers_only_keys(root):
    res = ssh(root, "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive")
    assert res.returncode == 255
    assert "Permission denied (publickey)" in res.stderr


def test_ssh_refuses_root_even_with_an_authorised_key(root):
    assert root.file("/root/.ssh/authorized_keys").exists  # prepare.yml gave root the lab key
    res = ssh(root, "-i", str(KEY), "-o", "IdentitiesOnly=yes", user="root")
    assert res.returncode == 255
    assert "Permission denied" in res.stderr


@pytest.mark.parametrize(
    "offer",
    [
        ["Ciphers=aes128-cbc"],
        ["Ciphers=3des-cbc"],
        # With an AEAD cipher no MAC is negotiated, so offer a counter-mode cipher with the weak MAC.
        ["Ciphers=aes256-ctr", "MACs=hmac-sha1"],
        ["Ciphers=aes256-ctr", "MACs=hmac-md5"],
        ["KexAlgorithms=diffie-hellman-group14-sha1"],
        ["HostKeyAlgorithms=ssh-rsa"],
    ],
)
def test_ssh_refuses_weak_algorithms(root, offer):
    options = [word for item in offer for word in ("-o", item)]
    res = ssh(root, "-i", str(KEY), "-o", "IdentitiesOnly=yes", *options)
    assert res.returncode == 255
    assert "Unable to negotiate" in res.stderr or "no matching" in res.stderr


def test_an_administrator_key_still_logs_in_and_sees_the_bilingual_banner_first(root):
    res = ssh(root, "-i", str(KEY), "-o", "IdentitiesOnly=yes", command="echo logged-in")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "logged-in"
    assert "UYARI" in res.stderr
    assert "WARNING" in res.stderr


def test_sshd_closes_idle_sessions_and_limits_attempts(root):
    effective = dict(line.split(" ", 1) for line in root.check_output("sshd -T").splitlines() if " " in line)
    assert effective["channeltimeout"] == "session=900"
    assert int(effective["maxauthtries"]) <= 3
    assert effective["x11forwarding"] == "no"
    assert effective["allowtcpforwarding"] == "no"


# --- Passwords, accounts, sessions ------------------------------------------------------------


def test_a_weak_password_is_refused_and_a_strong_one_accepted(root):
    weak = root.run("echo 'personel.bir:kisa1' | LC_ALL=C chpasswd")
    assert weak.rc != 0
    assert "BAD PASSWORD" in weak.stdout + weak.stderr
    strong = root.run("echo 'personel.bir:Uzun-ve-Karmasik-2026!' | chpasswd")
    assert strong.rc == 0, strong.stderr


def test_a_recent_password_cannot_be_reused(root):
    first = root.run("echo 'personel.iki:Birinci-Parola-2026!x' | chpasswd")
    assert first.rc == 0, first.stderr
    again = root.run("echo 'personel.iki:Ikinci-Parola-2026!y' | chpasswd")
    assert again.rc == 0, again.stderr
    reused = root.run("echo 'personel.iki:Birinci-Parola-2026!x' | chpasswd")
    assert reused.rc != 0


SU_HELPER = r"""
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.environ["LC_ALL"] = "C"
    os.execvp("su", ["su", "-c", "id -un", sys.argv[1]])
buf, sent = b"", False
deadline = time.time() + 20
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 1)
    if not ready:
        continue
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
    if not sent and buf.rstrip().endswith(b":"):
        os.write(fd, sys.argv[2].encode() + b"\n")
        sent = True
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
print(buf.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def put_su_helper(host):
    encoded = base64.b64encode(SU_HELPER.encode()).decode()
    host.check_output(f"echo {encoded} | base64 -d > /tmp/su_pty.py && chmod 0644 /tmp/su_pty.py")


def test_an_ordinary_user_cannot_su_even_with_the_right_password(root):
    root.run("echo 'personel.iki:Hedef-Parola-2026!zz' | chpasswd")
    put_su_helper(root)
    res = root.run("runuser -u personel.bir -- python3 /tmp/su_pty.py personel.iki 'Hedef-Parola-2026!zz'")
    assert res.rc != 0
    assert "personel.iki" not in res.stdout.split("assword", 1)[-1].split()
    assert "Permission denied" in res.stdout or "Authentication failure" in res.stdout


def test_repeated_failures_lock_the_account(root):
    root.run("faillock --user personel.bir --reset")
    put_su_helper(root)
    for _ in range(5):
        root.run("runuser -u personel.iki -- python3 /tmp/su_pty.py personel.bir yanlis-parola")
    tally = root.check_output("faillock --user personel.bir")
    root.run("faillock --user personel.bir --reset")
    assert tally.count("V") + tally.count("I") >= 5, tally


def test_login_shells_get_a_readonly_idle_timeout_and_umask_027(root):
    res = root.run("runuser -u personel.bir -- bash -lc 'echo $TMOUT; TMOUT=0'")
    assert res.stdout.split()[0] == "900"
    assert "readonly" in res.stderr
    assert root.check_output("runuser -u personel.bir -- bash -lc umask") == "0027"


def test_sudo_is_logged_to_its_own_rotated_file(root):
    root.check_output("sudo -u ansible sudo -n true")
    log = root.file("/var/log/sudo.log")
    assert log.exists
    assert "COMMAND=/usr/bin/true" in log.content_string
    assert root.file("/etc/logrotate.d/bgys-sudo").exists
    assert root.run("logrotate --debug /etc/logrotate.d/bgys-sudo").rc == 0


# --- Kernel, filesystems, media, services ----------------------------------------------------


# A server never allows USB storage and hides other users' processes; the desktop class (USB by
# directorate, no hidepid) is checked on the lab's Pardus desktops (tests/integration/test_isms.py).
def test_a_server_refuses_usb_storage(root):
    assert "install usb-storage /bin/false" in root.file("/etc/modprobe.d/bgys-usb-01.conf").content_string


def test_a_server_mounts_proc_with_hidepid(root):
    assert "hidepid=invisible" in root.file("/etc/fstab").content_string


def test_sysctl_files_carry_the_hardening_but_are_not_applied_in_a_container(root):
    conf = root.file("/etc/sysctl.d/99-zz-bgys-krn-02.conf").content_string
    assert "kernel.kptr_restrict = 2" in conf
    # The lab root is a container: its kernel is the test machine's and must be left alone.
    assert root.file("/etc/sysctl.d/99-zz-bgys-krn-01.conf").contains("net.ipv4.conf.all.rp_filter = 1")


def test_an_expired_exception_no_longer_protects_its_control(root):
    # isms-debian's exception for BGYS-SRV-02 expired on 2025-01-31: the control is enforced again.
    assert root.service("ctrl-alt-del.target").is_masked
    assert root.service("debug-shell.service").is_masked


def test_legacy_clients_are_removed(root):
    assert not root.package("telnet").is_installed


def test_only_root_may_use_cron_and_at(root):
    assert root.file("/etc/cron.allow").content_string.split() == ["root"]
    assert root.file("/etc/at.allow").content_string.split() == ["root"]


# --- File integrity --------------------------------------------------------------------------


def test_aide_notices_a_file_changed_behind_its_back(root):
    assert root.service("dailyaidecheck.timer").is_enabled
    clean = root.run("aide --config=/etc/aide/aide.conf --check")
    root.check_output("echo tampered > /etc/bgys-aide-probe")
    try:
        dirty = root.run("aide --config=/etc/aide/aide.conf --check")
    finally:
        root.run("rm -f /etc/bgys-aide-probe")
    assert dirty.rc != 0
    assert "/etc/bgys-aide-probe" in dirty.stdout
    assert "/etc/bgys-aide-probe" not in clean.stdout


def test_kernel_bound_daemons_are_skipped_in_a_container_and_leave_the_host_running(root):
    # auditd, acct and usbguard cannot run in a container; their failed start at installation must
    # not outlive the converge (usbguard's start there times out 90 s later, after the role ran).
    states = {u: root.run(f"systemctl is-failed {u}").stdout.strip() for u in ("auditd", "acct", "usbguard")}
    assert states == dict.fromkeys(states, "inactive"), states
    assert root.run("systemctl is-system-running").stdout.strip() == "running", root.run(
        "systemctl --failed --no-legend --plain"
    ).stdout
