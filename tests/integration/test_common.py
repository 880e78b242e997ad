"""The common baseline, end to end across lab hosts: people log in, sudo works, logs travel."""

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from .conftest import BIN, ROOT, SSH_CONFIG


@pytest.fixture(scope="module")
def admin_key(tmp_path_factory, vault_value) -> Path:
    key = tmp_path_factory.mktemp("admin") / "id_ed25519"
    key.write_text(vault_value("vault_lab_admin_ssh_private_key").rstrip("\n") + "\n")
    key.chmod(0o600)
    return key


def ssh_as(user: str, key: Path, host: str, command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-F", str(SSH_CONFIG), "-o", "ControlMaster=no", "-i", str(key), "-l", user, host, command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("host", ["app01", "pardus01"])
def test_administrator_logs_in_with_key_and_sudoes_with_vault_password(admin_key, vault_value, host):
    who = ssh_as("deniz.kaya", admin_key, host, "id -un")
    assert who.returncode == 0, who.stderr
    assert who.stdout.strip() == "deniz.kaya"
    password = vault_value("vault_lab_admin_password").rstrip("\n")
    sudo = ssh_as("deniz.kaya", admin_key, host, "sudo -S -p '' id -u", stdin=password + "\n")
    assert sudo.returncode == 0, sudo.stderr
    assert sudo.stdout.strip() == "0"


def test_sudo_refuses_a_wrong_password(admin_key):
    sudo = ssh_as("deniz.kaya", admin_key, "app01", "sudo -S -p '' id -u", stdin="yanlis-parola\n")
    assert sudo.returncode != 0


def test_departed_administrator_is_removed_by_the_next_run(lab_hosts):
    """eski.yonetici is `state: absent` in the lab inventory. Give app01 the account back, as it was
    before the leaving request, and the next run of the accounts area removes it with its keys."""
    app01 = lab_hosts["app01"]
    app01.check_output("useradd --create-home --comment 'Eski Yonetici,Talep 2025/0001' eski.yonetici")
    app01.check_output("install -d -o eski.yonetici -m 0700 /home/eski.yonetici/.ssh")
    old_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEmHu4ak5C+CJgSElAFlQ6BFvO57M1isyqnr4+Hxgpft eski@lab"
    app01.check_output(f"echo '{old_key}' > /home/eski.yonetici/.ssh/authorized_keys")
    assert app01.user("eski.yonetici").exists
    res = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/site.yml", "--limit", "app01",
         "--tags", "common_accounts"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:]
    assert "changed=0" not in res.stdout.split("PLAY RECAP")[-1], "the run did not remove anything"
    assert not app01.user("eski.yonetici").exists
    assert not app01.file("/home/eski.yonetici").exists
    for name, h in lab_hosts.items():
        assert not h.user("eski.yonetici").exists, f"eski.yonetici still exists on {name}"


def test_administrator_account_carries_its_request_reference(lab_hosts):
    for name, h in lab_hosts.items():
        assert "2026/9001" in h.user("deniz.kaya").gecos, name


def test_every_host_forwards_its_logs_to_the_log_server(lab_hosts):
    marker = f"belediye-it-{uuid.uuid4()}"
    senders = [n for n in lab_hosts if n != "log01"]
    for name in senders:
        lab_hosts[name].run(f"logger -t integration-test {marker}-{name}")
    log01 = lab_hosts["log01"]
    day = log01.check_output("date +%F")
    missing = set(senders)
    for _ in range(60):
        for name in list(missing):
            if log01.run(f"grep -q {marker}-{name} /var/log/remote/{name}/{day}.log").rc == 0:
                missing.discard(name)
        if not missing:
            return
        time.sleep(0.5)
    pytest.fail(f"logs of {sorted(missing)} never reached log01")


# That a check-mode plan of the converged lab changes nothing is the lab stage's own step before
# these tests (ci/plan.sh with PLAN_EXPECT_NO_CHANGES=1, scripts/test.sh), not a second full run here.
