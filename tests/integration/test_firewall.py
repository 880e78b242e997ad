"""The lab gateway fw01 (roles/firewall, nftables), tested with real traffic between lab networks.

pardus02 sits on the clients LAN (eth1, blab1) with a lease from fw01 itself, the LAN's DHCP
server (so the policy must admit the desktops' requests); app01 has eth2 on the lab's stand-in for
the internet (blab2). The only way between the two segments is fw01, which routes them, NATs the
clients LAN onto the internet segment and drops everything its policy
(inventories/lab/group_vars/nftables_firewalls.yml) does not allow. Its logged connections reach
log01's 5651 traffic class through ulogd2 and the host's syslog forwarding.

In the lab eth0 carries every host's default route (the lab bridge), so the test routes the
internet segment through the clients LAN's gateway on pardus02 itself, as a desktop whose default
gateway is fw01 would; the route is removed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import uuid

import pytest

from .conftest import BIN, ROOT, wait_for

GATEWAY_CLIENTS = "10.231.8.1"  # fw01 eth1, the plan's gateway of lab/clients
GATEWAY_INTERNET = "10.231.24.1"  # fw01 eth2: the address the clients LAN is NATed to
WEB = "10.231.24.10"  # app01 eth2
INTERNET = "10.231.24.0/24"
ALLOWED_PORT = 80  # service `web` of rule istemci-web
DENIED_PORT = 8081  # in no rule: the default drop
TRAFFIC_ROOT = "/srv/log5651/traffic"


def sh(host, cmd: str):
    res = host.run(cmd)
    assert res.rc == 0, f"{cmd}: rc={res.rc} {res.stderr or res.stdout}"
    return res.stdout


@pytest.fixture(scope="module")
def fw01(lab_hosts):
    return lab_hosts["fw01"]


@pytest.fixture(scope="module")
def client(lab_hosts):
    """pardus02 with a lease on the clients LAN and the internet segment routed via fw01.

    The lab's hosts have no default route (tests/integration/test_lab.py): a lease taken here
    brings the router option, fw01, as a default route, so the lease is released afterwards.
    """
    pardus = lab_hosts["pardus02"]
    leased = False
    if pardus.run("ip -o -4 addr show dev eth1 | grep -q ' inet '").rc != 0:
        if pardus.run("command -v dhclient").rc != 0:
            sh(pardus, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends isc-dhcp-client")
        res = pardus.run("timeout 60 dhclient -1 eth1")
        assert res.rc == 0, f"pardus02 got no lease on eth1: {res.stderr}"
        leased = True
    address = sh(pardus, "ip -o -4 addr show dev eth1 | awk '{print $4}' | head -n1").strip().split("/")[0]
    sh(pardus, f"ip route replace {INTERNET} via {GATEWAY_CLIENTS} dev eth1")
    yield {"host": pardus, "ip": address}
    pardus.run(f"ip route del {INTERNET} via {GATEWAY_CLIENTS} dev eth1")
    if leased:
        pardus.run("dhclient -r eth1; ip -4 addr flush dev eth1; ip route del default via 10.231.8.1 dev eth1")
    assert "default" not in pardus.check_output("ip -4 route show"), "pardus02 kept a default route"


@pytest.fixture(scope="module")
def web(lab_hosts):
    """Two web servers on app01's internet address: one the policy allows, one it does not."""
    app01 = lab_hosts["app01"]
    units = []
    for port in (ALLOWED_PORT, DENIED_PORT):
        unit = f"itest-fw-web-{port}"
        app01.run(f"systemctl stop {unit} 2>/dev/null; systemctl reset-failed {unit} 2>/dev/null")
        sh(
            app01,
            f"systemd-run --unit {unit} --property=WorkingDirectory=/usr/share/doc "
            f"python3 -m http.server {port} --bind {WEB}",
        )
        units.append(unit)
    for port in (ALLOWED_PORT, DENIED_PORT):
        # Both answer on app01 itself: a timeout from the client is the firewall, not a dead server.
        assert wait_for(lambda p=port: http_get(app01, WEB, p, seconds=2) == "200", 20), f"app01 serves no {port}"
    yield {"host": app01, "units": dict(zip((ALLOWED_PORT, DENIED_PORT), units, strict=True))}
    for unit in units:
        app01.run(f"systemctl stop {unit}")


# The lab hosts have no curl: a few lines of Python make the request, from a chosen source port,
# and tell a timeout (dropped) from a refusal (a reset) from an HTTP status.
PROBE = """
import socket, sys
host, port, path, timeout, local_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
s = socket.socket()
s.settimeout(timeout)
if local_port:
    s.bind(("", local_port))
try:
    s.connect((host, port))
    s.sendall(("GET /" + path + " HTTP/1.0\\r\\nHost: " + host + "\\r\\n\\r\\n").encode())
    print(s.recv(64).split()[1].decode())
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
"""


def http_get(host, address: str, port: int, path: str = "", seconds: float = 4, local_port: int = 0) -> str:
    """'200' (or another status), 'timeout' or 'refused', as seen from `host`."""
    res = host.run(f"python3 -c {shlex.quote(PROBE)} {address} {port} {shlex.quote(path)} {seconds} {local_port}")
    assert res.rc == 0, res.stderr
    return res.stdout.strip()


def test_the_gateway_loads_the_ruleset_and_keeps_it_across_a_reload(fw01):
    assert fw01.service("nftables").is_enabled
    tables = sh(fw01, "nft list tables")
    assert "inet belediye" in tables, tables
    # The unit loads the same file that the role wrote: a restart leaves the same ruleset.
    before = sh(fw01, "nft list table inet belediye | grep -v 'packets\\|bytes'")
    sh(fw01, "systemctl restart nftables")
    assert sh(fw01, "nft list table inet belediye | grep -v 'packets\\|bytes'") == before


def test_an_allowed_flow_crosses_the_gateway_natted_to_its_internet_address(client, web):
    marker = f"itest-{uuid.uuid4().hex[:10]}"
    got = http_get(client["host"], WEB, ALLOWED_PORT, f"?{marker}")
    assert got == "200", f"pardus02 -> {WEB}:{ALLOWED_PORT}: {got}"
    unit = web["units"][ALLOWED_PORT]
    seen = wait_for(
        lambda: [ln for ln in web["host"].run(f"journalctl -u {unit} -o cat").stdout.splitlines() if marker in ln], 10
    )
    assert seen, f"{unit} logged no request with {marker}"
    # http.server logs the peer first: the gateway's internet address, never the desktop's own.
    assert seen[-1].startswith(f"{GATEWAY_INTERNET} "), seen
    assert client["ip"] not in seen[-1], seen


def test_a_flow_no_rule_allows_is_dropped_not_refused(client, web):
    # A timeout: the packets vanished at the default drop (a refusal would be a reset).
    assert http_get(client["host"], WEB, DENIED_PORT, seconds=3) == "timeout"


def test_the_gateway_itself_refuses_ssh_from_the_clients_lan(client):
    # (The probe speaks HTTP; it never gets that far: the SYN is dropped.)
    assert http_get(client["host"], GATEWAY_CLIENTS, 22, seconds=3) == "timeout"


def dhcp_rule_packets(fw01) -> int:
    """Packets counted by the rule istemci-dhcp in fw01's input chain."""
    chain = sh(fw01, "nft list chain inet belediye input")
    [count] = re.findall(
        r'udp dport 67 ct state new counter packets (\d+) bytes \d+ accept comment "istemci-dhcp"', chain
    )
    return int(count)


def test_the_gateways_dhcp_rule_admits_a_renewal_from_the_clients_lan(client, fw01):
    # Kea reads requests through a raw socket, which sees them before nftables does: a lease taken
    # says nothing about the policy, so the rule's own counter is what shows that it admits them.
    # A renewal is a unicast from the desktop's address to fw01's udp 67 (Kea ignores this one).
    before = dhcp_rule_packets(fw01)
    probe = f"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('{GATEWAY_CLIENTS}', 67))"
    sh(client["host"], f"python3 -c {shlex.quote(probe)}")
    assert wait_for(lambda: dhcp_rule_packets(fw01) > before, timeout=10), "istemci-dhcp counted no packet"


def test_the_logged_connection_reaches_the_5651_traffic_class_on_log01(client, web, lab_hosts):
    log01 = lab_hosts["log01"]
    port = 40000 + uuid.uuid4().int % 20000
    assert http_get(client["host"], WEB, ALLOWED_PORT, local_port=port) == "200"
    today = log01.check_output("date +%F")

    def found():
        out = log01.run(f"grep -rh 'SPT={port} ' {TRAFFIC_ROOT}/{today}/ 2>/dev/null").stdout
        return [ln for ln in out.splitlines() if f"SRC={client['ip']} " in ln]

    lines = wait_for(found, timeout=60)
    assert lines, f"no traffic line for {client['ip']}:{port} in {TRAFFIC_ROOT}/{today} on log01"
    line = lines[-1]
    for field in (f"DST={WEB} ", f"DPT={ALLOWED_PORT} ", "PROTO=TCP", "istemci-web"):
        assert field in line, line
    assert "fw01" in line or log01.run(f"ls {TRAFFIC_ROOT}/{today}/fw01*.log").rc == 0, line


RULESET_STATE = "sha256sum /etc/nftables.conf /etc/nftables.d/*; nft list table inet belediye | grep -v 'packets'"


def lab_policy() -> dict:
    inventory = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", "inventories/lab", "--host", "fw01"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(inventory)["firewall_policy"]


def apply_policy(policy: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "inventories/lab",
            "playbooks/firewalls.yml",
            "-l",
            "fw01",
            "-e",
            json.dumps({"firewall_policy": policy}),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
        timeout=600,
        check=False,
    )


def test_bad_policy_data_is_refused_before_any_change(fw01):
    before = sh(fw01, RULESET_STATE)
    policy = lab_policy()
    policy["rules"].append(
        {
            "name": "eksik-nesne",
            "from": "istemci",
            "to": "internet",
            "source": "olmayan_nesne",
            "service": "web",
            "action": "accept",
        }
    )
    res = apply_policy(policy)
    assert res.returncode != 0, res.stdout[-2000:]
    refusal = [ln for ln in res.stdout.splitlines() if "olmayan_nesne" in ln]
    assert refusal, res.stdout[-3000:]
    assert "fw01" in refusal[0], refusal
    # Nothing changed on fw01: the same files, the same loaded ruleset.
    assert sh(fw01, RULESET_STATE) == before


def test_a_policy_that_would_lock_out_the_control_node_is_refused_before_any_change(fw01):
    before = sh(fw01, RULESET_STATE)
    policy = lab_policy()
    # Sound data, but the control node's own SSH rule is gone: the default drop would take it.
    policy["rules"] = [r for r in policy["rules"] if r["name"] != "yonetim-ssh"]
    res = apply_policy(policy)
    assert res.returncode != 0, res.stdout[-2000:]
    refusal = [ln for ln in res.stdout.splitlines() if "would drop new SSH connections" in ln]
    assert refusal, res.stdout[-3000:]
    assert "fw01" in refusal[0], refusal
    assert "10.231.0.1" in refusal[0], refusal
    assert sh(fw01, RULESET_STATE) == before
