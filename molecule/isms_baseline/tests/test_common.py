"""Behaviour of role common on a converged Debian 12 server and Pardus 23 desktop (the ISMS baseline
runs on top of it in this scenario, as in site.yml)."""

import os
import time
import uuid

import pytest
import testinfra

RECEIVER = "isms-debian"
SENDER = "isms-pardus"


def test_time_zone_is_istanbul(host):
    assert host.file("/etc/localtime").linked_to.endswith("/Europe/Istanbul")
    assert host.check_output("date +%z") == "+0300"


def test_turkish_and_english_locales_are_generated(host):
    available = host.check_output("locale -a").split()
    assert "tr_TR.utf8" in available
    assert "en_US.utf8" in available


def test_default_locale_depends_on_the_host_class(host):
    expected = "tr_TR.UTF-8" if host.backend.get_hostname() == SENDER else "en_US.UTF-8"
    assert host.check_output(". /etc/default/locale && echo $LANG") == expected


def test_chrony_uses_the_organisation_time_servers(host):
    conf = host.file("/etc/chrony/chrony.conf")
    assert conf.contains(r"^server ntp1\.mol\.ornek\.bel\.tr iburst")
    assert conf.contains(r"^server 10\.231\.0\.1 iburst")
    # chronyd parses the configuration it would run with.
    with host.sudo():
        assert host.run("chronyd -p -f /etc/chrony/chrony.conf").rc == 0


def test_chrony_does_not_pretend_to_run_in_a_container(host):
    # Containers lack CAP_SYS_TIME: the role configures chrony but must not claim it runs.
    assert host.package("chrony").is_installed
    assert not host.service("chrony").is_running


def test_apt_reaches_the_mirror_through_the_configured_proxy(host):
    assert host.file("/etc/apt/apt.conf.d/01proxy").contains("http://10.231.0.1:3142")
    with host.sudo():
        update = host.run("apt-get update -q")
    assert update.rc == 0, update.stderr
    assert "bookworm-security" in update.stdout
    policy = host.check_output("apt-cache policy")
    assert "deb.debian.org/debian-security bookworm-security/main" in policy


def test_unattended_upgrades_take_security_updates(host):
    assert host.package("unattended-upgrades").is_installed
    assert host.file("/etc/apt/apt.conf.d/20auto-upgrades").contains('Unattended-Upgrade "1"')
    with host.sudo():
        dry = host.run("unattended-upgrade --dry-run --debug 2>&1")
    assert dry.rc == 0, dry.stdout[-2000:]
    assert "Debian-Security" in dry.stdout


def test_administrator_exists_with_key_group_and_request_reference(host):
    user = host.user("test.yonetici")
    assert user.exists
    assert "bim-admins" in user.groups
    assert "2026/0500" in user.gecos
    with host.sudo():
        keys = host.file("/home/test.yonetici/.ssh/authorized_keys").content_string.splitlines()
    assert [k for k in keys if k.strip()] == [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEmHu4ak5C+CJgSElAFlQ6BFvO57M1isyqnr4+Hxgpft test.yonetici@mol"
    ]


def test_departed_administrator_is_removed(host):
    assert not host.user("ayrilan.yonetici").exists
    assert not host.file("/home/ayrilan.yonetici").exists


def test_sudo_rules_are_valid_and_grant_admins(host):
    with host.sudo():
        assert host.run("visudo -c").rc == 0
        listing = host.check_output("sudo -l -U test.yonetici")
    assert "(ALL : ALL) ALL" in listing
    assert "NOPASSWD" not in listing


def test_hostname_and_hosts_file(host):
    name = host.backend.get_hostname()
    assert host.check_output("hostname") == name
    assert host.check_output(f"getent hosts {name}.mol.ornek.bel.tr").split()[1:] != []
    peer = SENDER if name == RECEIVER else RECEIVER
    assert host.run(f"getent hosts {peer}").rc == 0


def test_rsyslog_is_running(host):
    assert host.service("rsyslog").is_running


def test_logs_from_the_desktop_arrive_on_the_log_server(host):
    if host.backend.get_hostname() != RECEIVER:
        pytest.skip("runs once, on the receiving host")
    sender = testinfra.get_host(f"ansible://{SENDER}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])
    marker = f"belediye-molecule-{uuid.uuid4()}"
    sender.run(f"logger -t molecule-test {marker}")
    day = host.check_output("date +%F")
    path = f"/var/log/remote/{SENDER}/{day}.log"
    for _ in range(40):
        with host.sudo():
            if host.run(f"grep -q {marker} {path}").rc == 0:
                return
        time.sleep(0.5)
    pytest.fail(f"{marker} sent by {SENDER} never reached {path} on {RECEIVER}")
