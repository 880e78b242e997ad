"""Behaviour of the Zabbix agent on a converged Debian 12 host, asked by the real zabbix_get.

zabbix_get runs inside the instance (prepare.yml unpacked it) and asks the agent over 127.0.0.1,
the scenario's only allowed server, with the pre-shared key from the key file the role wrote. The
answers are the agent's own values: its host name, the kernel, the uptime. Without the key, with
a wrong key, with the wrong identity, or from an address that is not a server, it answers nothing.
"""

from __future__ import annotations

import hashlib
import shlex

import pytest

ZABBIX_GET = "/opt/mol-zabbix-get/usr/bin/zabbix_get"
PSK_FILE = "/etc/zabbix/belediye-agent.psk"
CONFIG = "/etc/zabbix/zabbix_agent2.conf"
IDENTITY = "belediye-molecule"
PSK = hashlib.sha256(b"belediye-molecule-monitoring-agent").hexdigest()  # as molecule.yml makes it


def zabbix_get(host, key: str, *, address="127.0.0.1", source=None, identity=IDENTITY, psk_file=PSK_FILE):
    """Run zabbix_get in the instance; with identity None, unencrypted."""
    argv = [ZABBIX_GET, "-s", address, "-t", "5", "-k", key]
    if source:
        argv += ["-I", source]
    if identity is not None:
        argv += ["--tls-connect", "psk", "--tls-psk-identity", identity, "--tls-psk-file", psk_file]
    return host.run(shlex.join(argv))


@pytest.fixture(scope="module")
def wrong_psk_file(host):
    path = "/run/mol-wrong.psk"
    wrong = hashlib.sha256(b"not-the-estate-key").hexdigest()
    host.run_expect([0], f"install -m 0600 /dev/null {path} && echo {wrong} > {path}")
    return path


def test_agent_runs_and_starts_at_boot(host):
    service = host.service("zabbix-agent2")
    assert service.is_running
    assert service.is_enabled


def test_key_file_is_the_vaults_key_readable_by_root_and_the_agent_only(host):
    key = host.file(PSK_FILE)
    assert key.content_string.strip() == PSK
    assert (key.user, key.group, key.mode) == ("root", "zabbix", 0o640)
    # The agent's user can read it, others cannot.
    assert host.run(f"runuser -u zabbix -- cat {PSK_FILE}").rc == 0
    assert host.run(f"runuser -u nobody -- cat {PSK_FILE}").rc != 0


def test_agent_names_itself_with_the_inventory_name(host):
    res = zabbix_get(host, "agent.hostname")
    assert res.rc == 0, res.stderr
    assert res.stdout.strip() == "mon-agent"


def test_agent_reports_the_kernel_and_uptime(host):
    uname = zabbix_get(host, "system.uname")
    assert uname.rc == 0, uname.stderr
    assert uname.stdout.strip() == host.check_output("uname -snrvm")
    uptime = zabbix_get(host, "system.uptime")
    assert uptime.rc == 0, uptime.stderr
    assert int(uptime.stdout.strip()) > 0
    ping = zabbix_get(host, "agent.ping")
    assert ping.stdout.strip() == "1"


def test_agent_refuses_an_unencrypted_request(host):
    res = zabbix_get(host, "agent.hostname", identity=None)
    assert "mon-agent" not in res.stdout
    assert res.rc != 0 or res.stdout.strip() == ""


def test_agent_refuses_a_wrong_key(host, wrong_psk_file):
    res = zabbix_get(host, "agent.hostname", psk_file=wrong_psk_file)
    assert res.rc != 0
    assert "mon-agent" not in res.stdout


def test_agent_refuses_a_wrong_identity(host):
    res = zabbix_get(host, "agent.hostname", identity="kimse")
    assert res.rc != 0
    assert "mon-agent" not in res.stdout


def test_agent_refuses_an_address_that_is_not_a_server(host):
    """The right key from the instance's own lab address, which is not in Server (127.0.0.1)."""
    address = host.check_output("ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1")
    res = zabbix_get(host, "agent.hostname", address=address, source=address)
    assert res.rc != 0
    assert "mon-agent" not in res.stdout


def test_configuration_carries_the_autoregistration_metadata(host):
    lines = host.file(CONFIG).content_string.splitlines()
    assert "HostMetadata=belediye linux servers" in lines
    assert "Server=127.0.0.1" in lines
    assert "TLSAccept=psk" in lines
    # No ServerActive in this scenario: no active checks, and so no TLSConnect either.
    assert not [line for line in lines if line.startswith(("ServerActive=", "TLSConnect="))]


def test_agent_logs_to_syslog(host):
    res = host.run("journalctl -u zabbix-agent2 -o cat --no-pager")
    assert "Starting Zabbix Agent 2" in res.stdout
