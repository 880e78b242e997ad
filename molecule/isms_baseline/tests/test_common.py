"""Behaviour of role common on a converged Debian 12 server (the ISMS baseline runs on top of it in
this scenario, as in site.yml). Forwarding to the log server from other hosts is proved on the lab:
tests/integration/test_common.py::test_every_host_forwards_its_logs_to_the_log_server."""


def test_time_zone_is_istanbul(host):
    assert host.file("/etc/localtime").linked_to.endswith("/Europe/Istanbul")
    assert host.check_output("date +%z") == "+0300"


def test_turkish_and_english_locales_are_generated(host):
    available = host.check_output("locale -a").split()
    assert "tr_TR.utf8" in available
    assert "en_US.utf8" in available


def test_a_server_defaults_to_the_english_locale(host):
    # Desktops default to Turkish: the lab's Pardus desktops (tests/integration/test_isms.py).
    assert host.check_output(". /etc/default/locale && echo $LANG") == "en_US.UTF-8"


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
    # converge.yml lists the instance's lab address in common_hosts_entries
    address = host.ansible.get_variables()["ansible_host"]
    assert name in host.check_output(f"getent hosts {address}").split()


def test_rsyslog_is_running(host):
    assert host.service("rsyslog").is_running
