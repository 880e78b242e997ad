"""Shared helpers of the fake IOS tests: start lab/network/fake_ios.py in-process on loopback, and run
ansible-playbook through ansible.netcommon.network_cli against it.

Every run gets its own throw-away world under pytest's tmp_path: an inventory with passwords generated
for this run, HOME (so that network_cli reads the known_hosts written here, with the fake's host key,
and writes nothing into the real home), and the persistent-connection socket directory, which is
emptied after each run so that no ansible-connection process outlives its test.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(ROOT / "lab" / "network"))

import fake_ios  # noqa: E402 - the simulator lives outside any package

PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"
LOGIN = "netops"


@dataclass
class Switch:
    server: fake_ios.FakeIOS
    password: str
    enable: str
    name: str

    @property
    def device(self):
        return self.server.device

    def running(self):
        return self.device.running_config()


def start_switch(config="access-switch.cfg", address="127.0.4.11", name="sw-test-01", privilege=1, **kwargs):
    """A fake switch on an ephemeral port, with a login and an enable password made up for this run."""
    password = secrets.token_urlsafe(12)
    enable = secrets.token_urlsafe(12)
    text = (FIXTURES / config).read_text(encoding="utf-8")
    users = {LOGIN: {"password": password, "privilege": privilege}}
    server = fake_ios.serve(address, 0, text, users, enable, **kwargs)
    return Switch(server, password, enable, name)


@pytest.fixture
def switch():
    sw = start_switch()
    yield sw
    sw.server.shutdown()


def write_inventory(tmp_path, switches, host_vars=None, become=True):
    """An inventory of the switches (network_cli, paramiko, enable) and a known_hosts with their keys."""
    hosts = {}
    for sw in switches:
        hosts[sw.name] = {
            "ansible_host": sw.server.host,
            "ansible_port": sw.server.port,
            "ansible_user": LOGIN,
            "ansible_password": sw.password,
            **(host_vars or {}).get(sw.name, {}),
        }
        if become:
            hosts[sw.name].update(
                ansible_become=True, ansible_become_method="enable", ansible_become_password=sw.enable
            )
    data = {
        "all": {
            "children": {
                "ios_switches": {
                    "hosts": hosts,
                    "vars": {
                        "ansible_connection": "ansible.netcommon.network_cli",
                        "ansible_network_os": "cisco.ios.ios",
                        "ansible_network_cli_ssh_type": "paramiko",
                    },
                }
            }
        }
    }
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    ssh_dir = tmp_path / "home" / ".ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    (ssh_dir / "known_hosts").write_text(
        "".join(sw.server.known_hosts_line + "\n" for sw in switches), encoding="utf-8"
    )
    return path


def control_dir(tmp_path):
    return tmp_path / "pc"


def run_playbook(tmp_path, inventory, plays, *args, timeout=120):
    """Run plays (a list of dicts) with the json callback; returns (process, parsed output)."""
    book = tmp_path / f"play-{time.monotonic_ns()}.yml"
    book.write_text(yaml.safe_dump(plays, sort_keys=False, allow_unicode=True), encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        HOME=str(home),
        BELEDIYE_LEDGER_PATH=str(tmp_path / "ledger.jsonl"),
        BELEDIYE_LEDGER_SYSLOG="false",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_PERSISTENT_CONTROL_PATH_DIR=str(control_dir(tmp_path)),
        ANSIBLE_PERSISTENT_CONNECT_TIMEOUT="15",
        ANSIBLE_PERSISTENT_COMMAND_TIMEOUT="15",
        ANSIBLE_NETWORK_CLI_RETRIES="0",
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_HOST_KEY_AUTO_ADD="False",
        ANSIBLE_DEPRECATION_WARNINGS="False",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        # The fake sends each reply with its prompt in one write: no need to wait long for more.
        ANSIBLE_PERSISTENT_BUFFER_READ_TIMEOUT="0.02",
    )
    try:
        proc = subprocess.run(
            [str(PLAYBOOK), "-i", str(inventory), str(book), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        close_persistent_connections(tmp_path)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"ansible-playbook output is not JSON (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc, data


def close_persistent_connections(tmp_path, wait=10.0):
    """Ask every ansible-connection process of this test to close; fail if one stays."""
    from ansible.module_utils.connection import Connection, ConnectionError  # noqa: A004

    folder = control_dir(tmp_path)
    if not folder.is_dir():
        return
    for sock in folder.iterdir():
        if sock.name.startswith(".") or not sock.is_socket():
            continue
        with contextlib.suppress(ConnectionError):
            Connection(str(sock)).close()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not [p for p in folder.iterdir() if not p.name.startswith(".")]:
            return
        time.sleep(0.1)
    pytest.fail(f"persistent connections left behind in {folder}: {sorted(p.name for p in folder.iterdir())}")


def task_results(data, host):
    """{task name: result of the host} of every task of every play."""
    results = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            if host in task["hosts"]:
                results[task["task"]["name"]] = task["hosts"][host]
    return results
