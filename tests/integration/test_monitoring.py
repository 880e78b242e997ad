"""Every Linux lab host's Zabbix agent answers the lab's Zabbix address, with the estate's key only.

The lab has no Zabbix server (roles/monitoring_agent/README.md says why). Its stand-in is log01,
the address in the lab's `monitoring_agent_servers`: the tests ask each agent from there with
Zabbix's own zabbix_get, which speaks the server's protocol. Debian 12 ships zabbix_get only in its
Zabbix server and proxy packages, so it is unpacked from zabbix-proxy-sqlite3 (through the lab's apt
proxy) into /run, where nothing of it outlives the host, and no proxy is installed. The key is
log01's own key file, which the role wrote from the lab vault.
"""

from __future__ import annotations

import shlex

import pytest

from .conftest import group_members

ASKER = "log01"
TOOLS = "/run/belediye-test-zabbix-get"
ZABBIX_GET = f"{TOOLS}/usr/bin/zabbix_get"
PSK_FILE = "/etc/zabbix/belediye-agent.psk"
IDENTITY = "belediye-lab-zabbix"


@pytest.fixture(scope="module")
def asker(lab_hosts):
    """log01, with zabbix_get unpacked."""
    host = lab_hosts[ASKER]
    host.run_expect(
        [0],
        f"test -x {ZABBIX_GET} || (install -d -m 0700 {TOOLS} && cd {TOOLS} && "
        "apt-get -q download zabbix-proxy-sqlite3 && dpkg-deb -x zabbix-proxy-sqlite3_*.deb . && "
        "rm -f zabbix-proxy-sqlite3_*.deb)",
    )
    return host


@pytest.fixture(scope="module")
def agents(inventory) -> dict[str, str]:
    """Every Linux lab host and its address."""
    hostvars = inventory["_meta"]["hostvars"]
    return {name: hostvars[name]["ansible_host"] for name in group_members(inventory, "linux")}


def ask_all(asker, agents: dict[str, str], key: str, tls: list[str]) -> dict[str, tuple[int, str]]:
    """Ask every agent for one item in one SSH round trip; {host: (exit code, answer)}."""
    script = "; ".join(
        f"out=$({shlex.join([ZABBIX_GET, '-s', address, '-t', '5', '-k', key, *tls])} 2>&1); "
        f'printf "%s\\t%s\\t%s\\n" {name} $? "$(echo "$out" | tr "\\n\\t" "  ")"'
        for name, address in agents.items()
    )
    out = asker.run(f"bash -c {shlex.quote(script)}").stdout
    answers = {}
    for line in out.splitlines():
        name, code, text = line.split("\t", 2)
        answers[name] = (int(code), text.strip())
    assert set(answers) == set(agents), out
    return answers


PSK = ["--tls-connect", "psk", "--tls-psk-identity", IDENTITY, "--tls-psk-file", PSK_FILE]


def test_the_key_file_holds_the_lab_vaults_key(asker, vault_value):
    assert asker.file(PSK_FILE).content_string.strip() == vault_value("vault_lab_monitoring_agent_psk").strip()


def test_every_agent_names_itself_with_the_key(asker, agents):
    answers = ask_all(asker, agents, "agent.hostname", PSK)
    assert answers == {name: (0, name) for name in agents}


def test_every_agent_reports_its_uptime_with_the_key(asker, agents):
    answers = ask_all(asker, agents, "system.uptime", PSK)
    wrong = {name: answer for name, answer in answers.items() if answer[0] != 0 or not answer[1].isdigit()}
    assert wrong == {}
    assert all(int(text) > 0 for _, text in answers.values())


def refused(answers: dict[str, tuple[int, str]]) -> dict[str, str]:
    """The hosts that did not refuse: an answer, or no connection at all (a timeout is a firewall or
    a dead agent, not a refusal). Agents refuse by closing the connection or failing the handshake."""
    return {name: text for name, (code, text) in answers.items() if code == 0 or "Timeout" in text}


def test_no_agent_answers_without_the_key(asker, agents):
    answers = ask_all(asker, agents, "agent.hostname", [])
    assert refused(answers) == {}


def test_no_agent_answers_a_wrong_key(asker, agents):
    wrong = f"{TOOLS}/wrong.psk"
    asker.run_expect([0], f"umask 077 && python3 -c 'import secrets; print(secrets.token_hex(32))' > {wrong}")
    tls = ["--tls-connect", "psk", "--tls-psk-identity", IDENTITY, "--tls-psk-file", wrong]
    answers = ask_all(asker, agents, "agent.hostname", tls)
    assert refused(answers) == {}
