"""Behaviour of the Kea DHCPv4 server on a converged Debian 12 host.

The client is Debian's dhclient on cli0, in a network namespace of its own at the far end of the
veth pair that prepare.yml built (kea0 on the server side). Every test takes real leases over
that wire and checks them where an auditor would: in Kea's lease file and as a Law 5651
`kea-lease` line in the journal, the line that rsyslog forwards to the log server.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
SCENARIO = Path(__file__).resolve().parents[1]
CONFIG = "/etc/kea/kea-dhcp4.conf"
LEASES = "/var/lib/kea/kea-leases4.csv"
SCRIPT = "/usr/local/lib/belediye/kea-lease-log"
CLIENT_CONF = "/run/mol-dhcp/cli0.conf"
SUBNET_ID = 10231250  # 10.231.250.0/24: the role's default id, the first three octets
POOL = range(100, 150)
RESERVED = {"mac": "02:00:5e:fa:00:42", "ip": "10.231.250.42", "hostname": "yazici-test-01"}
LIFETIME = 30


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(host):
    """The instance, with commands run as root."""
    with host.sudo():
        yield host


def in_client(root, command: str):
    """Run a shell command on the client side of the wire (cli0's network namespace)."""
    pid = root.check_output("systemctl show -p MainPID --value mol-dhcp-client")
    assert pid not in ("", "0"), "the client's namespace (unit mol-dhcp-client) is gone"
    quoted = command.replace("'", "'\\''")
    return root.run(f"nsenter -t {pid} -U -n --preserve-credentials sh -c '{quoted}'")


def client_as(root, mac: str) -> None:
    """Stop any DHCP client on cli0 (without a release) and give cli0 another MAC address."""
    kill_client(root)
    res = in_client(
        root,
        f"ip -4 addr flush dev cli0 && ip link set cli0 down && ip link set cli0 address {mac} && ip link set cli0 up",
    )
    assert res.rc == 0, res.stderr


def take_lease(root, mac: str) -> dict:
    """cli0 takes a real lease with Debian's dhclient; returns what the client got."""
    client_as(root, mac)
    since = now(root)
    leases = f"/run/mol-dhcp/{mac.replace(':', '')}.leases"
    res = in_client(
        root, f"timeout 60 dhclient -1 -v -cf {CLIENT_CONF} -lf {leases} -pf /run/mol-dhcp/dhclient.pid cli0"
    )
    assert res.rc == 0, f"no lease for {mac}: {res.stderr}"
    text = root.check_output(f"cat {leases}")
    last = text.rsplit("lease {", 1)[1]
    got = {
        "mac": mac,
        "ip": re.search(r"fixed-address ([0-9.]+);", last).group(1),
        "lease": last,
        "file": leases,
        "since": since,
    }
    got["configured"] = in_client(root, "ip -o -4 addr show dev cli0").stdout
    return got


def kill_client(root) -> None:
    """Stop the DHCP client without a release (as a switched-off PC) and wait until it is gone."""
    in_client(
        root,
        "pid=$(cat /run/mol-dhcp/dhclient.pid 2>/dev/null) || exit 0; kill $pid 2>/dev/null; "
        "while kill -0 $pid 2>/dev/null; do sleep 0.1; done; rm -f /run/mol-dhcp/dhclient.pid",
    )


def stop_client(root, got: dict, release: bool) -> None:
    if release:
        res = in_client(root, f"dhclient -r -v -cf {CLIENT_CONF} -lf {got['file']} -pf /run/mol-dhcp/dhclient.pid cli0")
        assert res.rc == 0, res.stderr
        assert f"DHCPRELEASE of {got['ip']}" in res.stderr
    else:
        kill_client(root)


def now(root) -> int:
    """The instance's clock, in seconds (lines are looked for from a moment on, so reruns see only their own)."""
    return int(root.check_output("date +%s"))


def lease_lines(root, since: int = 0) -> list[dict]:
    """The kea-lease lines in the journal from `since` on, as dicts (plus the journal's facility and priority)."""
    out = root.check_output(f"journalctl -t kea-lease -o json --no-pager --since @{since}")
    lines = []
    for raw in out.splitlines():
        entry = json.loads(raw)
        fields = dict(item.split("=", 1) for item in entry["MESSAGE"].split(" "))
        fields["_facility"] = entry.get("SYSLOG_FACILITY")
        fields["_priority"] = entry.get("PRIORITY")
        fields["_message"] = entry["MESSAGE"]
        lines.append(fields)
    return lines


def wait_for_line(root, since: int, timeout: float = 60, **match) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in lease_lines(root, since) if all(line.get(k) == v for k, v in match.items())]
        if found:
            return found[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no kea-lease line with {match} within {timeout}s")
        time.sleep(1)


def epoch(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp())


# --- the server ------------------------------------------------------------------------------------


def test_configuration_is_valid_for_kea(root):
    res = root.run(f"kea-dhcp4 -t {CONFIG}")
    assert res.rc == 0, res.stdout[-2000:] + res.stderr


def test_kea_is_enabled_and_running(root):
    service = root.service("kea-dhcp4-server")
    assert service.is_enabled
    assert service.is_running


def test_journald_never_rate_limits_keas_lines(root):
    assert root.check_output("systemctl show -p LogRateLimitIntervalUSec --value kea-dhcp4-server") == "0"


def test_only_the_test_segment_is_served_never_the_lab_bridge(root):
    config = json.loads(root.file(CONFIG).content_string)["Dhcp4"]
    assert config["interfaces-config"]["interfaces"] == ["kea0"]
    assert [subnet["subnet"] for subnet in config["subnet4"]] == ["10.231.250.0/24"]
    started = root.check_output("journalctl -u kea-dhcp4-server -o cat --no-pager | grep ADD_IFACE | tail -n 1")
    assert "interface kea0" in started
    assert "eth0" not in started


def test_run_script_hook_ships_with_kea_common(root):
    files = root.check_output("dpkg -L kea-common").splitlines()
    hook = next(path for path in files if path.endswith("/kea/hooks/libdhcp_run_script.so"))
    config = json.loads(root.file(CONFIG).content_string)["Dhcp4"]
    assert config["hooks-libraries"] == [
        {"library": hook, "parameters": {"name": SCRIPT, "sync": False}},
    ]


def test_run_script_hook_is_loaded_by_the_running_kea(root):
    log = root.check_output("journalctl -u kea-dhcp4-server -o cat --no-pager")
    since_start = log.rsplit("DHCP4_STARTING", 1)[1]
    assert "RUN_SCRIPT_LOAD" in since_start
    assert re.search(r"HOOKS_LIBRARY_LOADED hooks library \S+/libdhcp_run_script\.so successfully loaded", since_start)


def test_kea_logs_to_syslog(root):
    entry = json.loads(root.check_output("journalctl -t kea-dhcp4 -o json --no-pager -n 1"))
    assert entry["_SYSTEMD_UNIT"] == "kea-dhcp4-server.service"
    assert entry["SYSLOG_FACILITY"] == "16"  # local0: Kea's syslog output


# --- leases ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool_lease(root):
    return take_lease(root, "02:00:5e:fa:00:10")


def test_client_leases_an_address_from_the_plans_pool(pool_lease):
    host_part = int(pool_lease["ip"].rsplit(".", 1)[1])
    assert pool_lease["ip"].startswith("10.231.250.")
    assert host_part in POOL
    assert f"inet {pool_lease['ip']}/24" in pool_lease["configured"]


def test_client_gets_the_gateway_domain_dns_ntp_and_lifetime(pool_lease):
    lease = pool_lease["lease"]
    assert "option routers 10.231.250.1;" in lease
    assert 'option domain-name "mol.ornek.bel.tr";' in lease
    assert "option domain-name-servers 10.231.250.53;" in lease
    assert "option ntp-servers 10.231.250.123;" in lease
    assert f"option dhcp-lease-time {LIFETIME};" in lease
    assert "option dhcp-server-identifier 10.231.250.2;" in lease


def test_lease_is_in_keas_lease_file(root, pool_lease):
    rows = [row.split(",") for row in root.check_output(f"cat {LEASES}").splitlines()[1:]]
    mine = [row for row in rows if row[0] == pool_lease["ip"] and row[1] == pool_lease["mac"]]
    assert mine, f"{pool_lease['ip']} / {pool_lease['mac']} not in {LEASES}"
    assert mine[-1][3] == str(LIFETIME)
    assert mine[-1][5] == str(SUBNET_ID)


def test_lease_is_logged_once_as_a_5651_line_with_its_term(root, pool_lease):
    line = wait_for_line(
        root, pool_lease["since"], event="leases4_committed", ip=pool_lease["ip"], mac=pool_lease["mac"]
    )
    assert list(line)[:10] == [
        "event",
        "ip",
        "mac",
        "hostname",
        "client_id",
        "start",
        "end",
        "lifetime",
        "subnet",
        "iface",
    ]
    assert line["hostname"] == "mol-istemci"
    assert line["lifetime"] == str(LIFETIME)
    assert line["subnet"] == str(SUBNET_ID)
    assert line["iface"] == "kea0"
    assert epoch(line["end"]) - epoch(line["start"]) == LIFETIME
    # The term is the lease's own: Kea's lease file has its expiry (start + lifetime).
    rows = [row.split(",") for row in root.check_output(f"cat {LEASES}").splitlines()[1:]]
    expiries = {int(row[4]) for row in rows if row[0] == pool_lease["ip"] and row[1] == pool_lease["mac"]}
    assert epoch(line["end"]) in expiries
    # local6.info, the class the log server files as IP allocation logs.
    assert (line["_facility"], line["_priority"]) == ("22", "6")


def test_renewal_is_logged(root, pool_lease):
    # dhclient renews at half the lifetime (15 s).
    line = wait_for_line(
        root,
        pool_lease["since"],
        timeout=LIFETIME + 30,
        event="lease4_renew",
        ip=pool_lease["ip"],
        mac=pool_lease["mac"],
    )
    assert epoch(line["end"]) - epoch(line["start"]) == LIFETIME


def test_release_is_logged_once(root, pool_lease):
    since = now(root)
    stop_client(root, pool_lease, release=True)
    line = wait_for_line(root, since, event="lease4_release", ip=pool_lease["ip"], mac=pool_lease["mac"])
    assert line["iface"] == "kea0"
    # Kea also passes the released lease to leases4_committed; the script logs it once.
    time.sleep(1)
    assert not [ln for ln in lease_lines(root, since) if ln["event"] == "leases4_committed_deleted"]


def test_reservation_is_honoured_with_its_host_name(root):
    got = take_lease(root, RESERVED["mac"])
    assert got["ip"] == RESERVED["ip"]
    assert f'option host-name "{RESERVED["hostname"]}";' in got["lease"]
    line = wait_for_line(root, got["since"], event="leases4_committed", ip=RESERVED["ip"], mac=RESERVED["mac"])
    assert line["hostname"] == RESERVED["hostname"]
    config = json.loads(root.file(CONFIG).content_string)["Dhcp4"]
    reservation = config["subnet4"][0]["reservations"][0]
    assert reservation["user-context"] == {"talep": "2026/0600"}
    since = now(root)
    stop_client(root, got, release=True)
    wait_for_line(root, since, event="lease4_release", ip=RESERVED["ip"], mac=RESERVED["mac"])


def test_expiry_is_logged(root):
    got = take_lease(root, "02:00:5e:fa:00:11")
    stop_client(root, got, release=False)
    # Kea reclaims expired leases every 10 s.
    line = wait_for_line(root, got["since"], timeout=LIFETIME + 30, event="lease4_expire", ip=got["ip"], mac=got["mac"])
    assert line["iface"] == "-"


DECLINE = r"""
import socket, struct, sys
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
ip, server = socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3])
packet = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x5651, 0, 0, bytes(4), bytes(4), bytes(4),
                     bytes(4), mac + bytes(10), bytes(64), bytes(128))
packet += bytes([99, 130, 83, 99, 53, 1, 4, 50, 4]) + ip + bytes([54, 4]) + server + bytes([255])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"cli0")
s.bind(("0.0.0.0", 68))
s.sendto(packet, ("255.255.255.255", 67))
"""


def test_decline_and_recovery_are_logged(root):
    # A client that finds its address in use sends DHCPDECLINE (RFC 2131 4.4.1). dhclient does not
    # check for conflicts, so the test sends the DHCPDECLINE itself, from the client's MAC on cli0.
    got = take_lease(root, "02:00:5e:fa:00:12")
    stop_client(root, got, release=False)
    script = base64.b64encode(DECLINE.encode()).decode()
    res = in_client(
        root,
        f"echo {script} | base64 -d > /run/mol-dhcp/decline.py && "
        f"python3 /run/mol-dhcp/decline.py {got['mac']} {got['ip']} 10.231.250.2",
    )
    assert res.rc == 0, res.stderr
    declined = wait_for_line(root, got["since"], event="lease4_decline", ip=got["ip"], mac=got["mac"])
    assert declined["iface"] == "kea0"
    expiries = len(
        [ln for ln in lease_lines(root, got["since"]) if ln["event"] == "lease4_expire" and ln["ip"] == got["ip"]]
    )
    # After the probation period (10 s here) the address returns to the pool: lease4_recover.
    wait_for_line(root, got["since"], timeout=90, event="lease4_recover", ip=got["ip"])
    time.sleep(2)
    # Kea also calls lease4_expire for the recovered address; the script logs the recovery once.
    assert (
        len([ln for ln in lease_lines(root, got["since"]) if ln["event"] == "lease4_expire" and ln["ip"] == got["ip"]])
        == expiries
    )


# --- the lease log script ----------------------------------------------------------------------------


def test_script_runs_as_kea_user_and_cleans_client_supplied_values(root):
    since = now(root)
    marker = f"10.231.250.{since % 50 + 150}"
    res = root.run(
        f"runuser -u _kea -- env -i LEASE4_ADDRESS={marker} LEASE4_HWADDR=02:00:5e:fa:00:99 "
        "'LEASE4_HOSTNAME=evil host=1 event=forged' LEASE4_CLTT=1796000000 LEASE4_VALID_LIFETIME=60 "
        f"LEASE4_SUBNET_ID={SUBNET_ID} {SCRIPT} lease4_renew"
    )
    assert res.rc == 0, res.stderr
    line = wait_for_line(root, since, event="lease4_renew", ip=marker)
    assert line["hostname"] == "evil_host_1_event_forged"
    assert line["_message"].count("event=") == 1
    assert epoch(line["start"]) == 1796000000
    assert epoch(line["end"]) == 1796000060


def test_script_never_fails_kea_on_odd_input(root):
    for args in ("", "no_such_hook", "leases4_committed"):
        res = root.run(f"runuser -u _kea -- env -i LEASES4_SIZE=x LEASE4_CLTT=y {SCRIPT} {args}")
        assert res.rc == 0, (args, res.stderr)


# --- AppArmor and HA -------------------------------------------------------------------------------


def test_apparmor_profile_lets_kea_run_the_script_and_parses(root):
    profile = root.file("/etc/apparmor.d/usr.sbin.kea-dhcp4").content_string
    assert "include if exists <local/usr.sbin.kea-dhcp4>" in profile
    local = root.file("/etc/apparmor.d/local/usr.sbin.kea-dhcp4").content_string
    assert f"{SCRIPT} rix," in local
    res = root.run("apparmor_parser --skip-kernel-load --skip-cache /etc/apparmor.d/usr.sbin.kea-dhcp4")
    assert res.rc == 0, res.stderr


def _role_inputs(**overrides) -> tuple[dict, dict]:
    """The role's inputs as the scenario sets them, and the plan, read through the role's own filters."""
    for path in (ROOT / "roles" / "dhcp" / "filter_plugins", ROOT / "plugins" / "filter"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    import ipplan

    defaults = yaml.safe_load((ROOT / "roles" / "dhcp" / "defaults" / "main.yml").read_text())
    scenario = yaml.safe_load((SCENARIO / "molecule.yml").read_text())
    group_vars = scenario["provisioner"]["inventory"]["group_vars"]["dhcp_servers"]
    inputs = {**defaults, **{k: v for k, v in group_vars.items() if k.startswith("dhcp_")}, **overrides}
    plan = {"domain": group_vars["ipplan"]["domain"], "vlans": ipplan.ipplan_networks(group_vars["ipplan"])}
    return inputs, plan


@pytest.mark.parametrize(
    ("mode", "this", "roles"),
    [
        pytest.param("hot-standby", "dhcp01", ("primary", "standby"), id="hot-standby-primary"),
        pytest.param("hot-standby", "dhcp02", ("primary", "standby"), id="hot-standby-standby"),
        pytest.param("load-balancing", "dhcp01", ("primary", "secondary"), id="load-balancing"),
    ],
)
def test_ha_pair_configuration_is_accepted_by_kea(root, mode, this, roles):
    peers = [
        {"name": "dhcp01", "url": "http://10.231.250.2:8000/", "role": roles[0]},
        {"name": "dhcp02", "url": "http://10.231.250.3:8000/", "role": roles[1]},
    ]
    inputs, plan = _role_inputs(dhcp_ha_peers=peers, dhcp_ha_mode=mode, dhcp_ha_this_server=this)
    import dhcp_kea  # the role's own filter, on the path since _role_inputs

    live = json.loads(root.file(CONFIG).content_string)["Dhcp4"]
    hooks_dir = live["hooks-libraries"][0]["library"].rsplit("/", 1)[0]
    system = {
        "hooks_dir": hooks_dir,
        "lease_file": "/var/lib/kea/kea-leases4.csv",
        "control_socket": "/run/kea/kea4-ctrl-socket",
        "lease_log_script": SCRIPT,
    }
    config = dhcp_kea.dhcp_kea_config(inputs, plan, system)
    # The pair differs from the running server only by HA (and the multi-threading HA needs).
    assert {k: v for k, v in config["Dhcp4"].items() if k not in ("hooks-libraries", "multi-threading")} == {
        k: v for k, v in live.items() if k not in ("hooks-libraries", "multi-threading")
    }
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    res = root.run(f"echo {encoded} | base64 -d > /run/mol-dhcp/ha.json && kea-dhcp4 -t /run/mol-dhcp/ha.json")
    assert res.rc == 0, res.stdout[-3000:]
    assert "libdhcp_ha.so successfully" in res.stdout
