"""Behaviour of the central log server on one converged Debian 12 instance, in two settings.

Most tests see the defaults (TLS with any client certificate of the scenario's CA, no plain port).
The last section applies the peers setting with reconfigure.yml (one client name under x509/name,
plain syslog from 127.0.0.0/8 only) and tests what it changes; pytest runs a file's tests in order.
Messages are sent on the instance itself with the client material prepare.yml put in
/root/mol-tls: RFC 5425 frames (octet counting) over TLS to the instance's lab address, so that
the source resolves to the instance's own name, as another host's would.
"""

import json
import os
import re
import shlex
import subprocess
import time
import uuid
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1]
# The second setting, as an inventory would give it (molecule.yml has the defaults).
PEERS_SETTING = {
    "log_server_tls_auth_mode": "x509/name",
    "log_server_tls_permitted_peers": ["logclient.mol.ornek.bel.tr"],
    "log_server_plain_enabled": True,
    "log_server_plain_sources": ["127.0.0.0/8"],
}
ROOT = "/srv/log5651"
GENERAL = "/var/log/remote"
TLS = "/root/mol-tls"

# A syslog-over-TLS client (RFC 5425: "<length> <RFC 5424 message>"), run with the instance's python3.
# argv: address port cert|- key|- source-address|- then APP MESSAGE pairs. Prints "sent N" and, after
# the messages, whether the server closed the connection ("closed") or kept it ("open").
CLIENT = r"""
import datetime, socket, ssl, sys
addr, port, cert, key, src, *pairs = sys.argv[1:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations("/root/mol-tls/ca.crt")
ctx.check_hostname = False
if cert != "-":
    ctx.load_cert_chain(cert, key)
raw = socket.create_connection((addr, int(port)), timeout=5, source_address=None if src == "-" else (src, 0))
s = ctx.wrap_socket(raw)
now = datetime.datetime.now().astimezone().isoformat(timespec="microseconds")
sent = 0
for app, msg in zip(pairs[0::2], pairs[1::2]):
    pri = 4 if app == "kernel" else 134  # kern.warning, as iptables' LOG target; local0.info
    frame = f"<{pri}>1 {now} mol-client {app} - - - {msg}".encode()
    s.sendall(str(len(frame)).encode() + b" " + frame)
    sent += 1
print("sent", sent)
s.settimeout(3)
try:
    print("closed" if s.recv(1) == b"" else "open")
except (TimeoutError, socket.timeout):
    print("open")
except (ssl.SSLError, OSError) as exc:
    print("closed", type(exc).__name__)
"""


def name(host) -> str:
    return host.backend.get_hostname()


def lab_address(host) -> str:
    return host.check_output("hostname -I").split()[0]


def send_tls(host, pairs, cert="logclient", source="-", address=None):
    """Send (app, message) pairs over TLS; returns the client's output."""
    cert_args = ["-", "-"] if cert is None else [f"{TLS}/{cert}.crt", f"{TLS}/{cert}.key"]
    args = [address or lab_address(host), "6514", *cert_args, source]
    for app, msg in pairs:
        args += [app, msg]
    with host.sudo():
        res = host.run("python3 -c " + shlex.quote(CLIENT) + " " + " ".join(shlex.quote(a) for a in args))
    assert res.rc == 0, res.stderr
    return res.stdout


def wait_for_grep(host, marker: str, paths: str, timeout: float = 60) -> str:
    """The file names under paths that contain marker, once there are any (or "" after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        with host.sudo():
            out = host.run(f"grep -rl -- {shlex.quote(marker)} {paths}").stdout.strip()
        if out or time.monotonic() > deadline:
            return out
        time.sleep(0.5)


def never_filed(host, marker: str, wait: float = 4) -> bool:
    time.sleep(wait)
    with host.sudo():
        return host.run(f"grep -rq -- {shlex.quote(marker)} {ROOT} {GENERAL}").rc != 0


@pytest.fixture
def marker() -> str:
    return f"mol-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def today(host) -> str:
    return host.check_output("date +%F")


# --- the service -----------------------------------------------------------------------------


def test_rsyslog_runs_with_a_configuration_that_checks(host):
    assert host.service("rsyslog").is_running
    assert host.service("rsyslog").is_enabled
    with host.sudo():
        check = host.run("rsyslogd -N1")
    assert check.rc == 0, check.stderr


def test_tls_listener_is_up(host):
    assert host.socket("tcp://0.0.0.0:6514").is_listening


def test_plain_port_is_off_by_default(host):
    assert not host.socket("tcp://0.0.0.0:514").is_listening
    assert not host.socket("udp://0.0.0.0:514").is_listening


def test_listener_speaks_tls_1_2_or_1_3_only(host):
    with host.sudo():
        # The client offers TLS 1.1 (security level 0 lets it); the server must not agree.
        old = host.run(
            f"openssl s_client -connect {lab_address(host)}:6514 -tls1_1 -cipher DEFAULT:@SECLEVEL=0 -brief "
            f"-cert {TLS}/logclient.crt -key {TLS}/logclient.key </dev/null"
        )
        new = host.run(
            f"openssl s_client -connect {lab_address(host)}:6514 -tls1_3 -brief "
            f"-cert {TLS}/logclient.crt -key {TLS}/logclient.key -CAfile {TLS}/ca.crt </dev/null"
        )
    assert old.rc != 0
    assert "Protocol version" not in old.stdout + old.stderr
    assert "Protocol version: TLSv1.3" in new.stdout + new.stderr


# --- filing ----------------------------------------------------------------------------------


def test_each_message_lands_in_its_class_or_the_general_tree(host, marker, today):
    src = name(host)
    out = send_tls(
        host,
        [
            ("kea-lease", f"{marker}-lease DHCPACK 10.20.30.40 to 02:00:5e:00:53:01"),
            ("nginx-access", f"{marker}-web 10.20.30.40 GET /index.html 200"),
            ("kernel", f"BGYS-NAT: {marker}-nat IN=eth1 OUT=eth0 SRC=10.20.30.40 DST=198.51.100.7"),
            ("cron", f"{marker}-plain an ordinary message"),
        ],
    )
    assert "sent 4" in out
    expected = {
        f"{marker}-lease": f"{ROOT}/dhcp/{today}/{src}.log",
        f"{marker}-web": f"{ROOT}/web/{today}/{src}.log",
        f"{marker}-nat": f"{ROOT}/traffic/{today}/{src}.log",
        f"{marker}-plain": f"{GENERAL}/{src}/{today}.log",
    }
    for text, path in expected.items():
        assert wait_for_grep(host, text, f"{ROOT} {GENERAL}") == path, text


def test_law_5651_lines_stay_out_of_the_general_tree(host, marker):
    send_tls(host, [("kea-lease", f"{marker} DHCPACK 10.20.30.41")])
    assert wait_for_grep(host, marker, ROOT)
    with host.sudo():
        assert host.run(f"grep -rq {marker} {GENERAL}").rc != 0


def test_5651_tree_is_for_the_readers_group_only(host, marker, today):
    src = name(host)
    send_tls(host, [("kea-lease", f"{marker} DHCPACK 10.20.30.42")])
    path = wait_for_grep(host, marker, f"{ROOT}/dhcp")
    assert path == f"{ROOT}/dhcp/{today}/{src}.log"
    with host.sudo():
        day = host.file(f"{ROOT}/dhcp/{today}")
        log = host.file(path)
        for d in (host.file(ROOT), host.file(f"{ROOT}/dhcp"), day):
            assert (d.user, d.group, d.mode) == ("root", "log5651", 0o2750), d.path
        assert (log.user, log.group, log.mode) == ("root", "log5651", 0o640)
        general = host.file(GENERAL)
        assert (general.user, general.group, general.mode) == ("root", "adm", 0o750)
    # The listed reader reads; an account outside the group does not.
    assert host.run(f"sudo -u test.yonetici grep -q {marker} {path}").rc == 0
    assert host.run(f"sudo -u nobody cat {path}").rc != 0


def test_readers_group_holds_exactly_the_listed_readers(host):
    members = host.group("log5651").members
    assert members == ["test.yonetici"]
    assert "log5651" not in host.user("eski.okur").groups


def test_a_sender_without_a_name_is_filed_under_its_address(host, marker, today):
    with host.sudo():
        host.run("ip address add 192.0.2.10/32 dev lo")
    try:
        send_tls(host, [("cron", f"{marker} from an address without a name")], source="192.0.2.10")
        assert wait_for_grep(host, marker, GENERAL) == f"{GENERAL}/192.0.2.10/{today}.log"
    finally:
        with host.sudo():
            host.run("ip address del 192.0.2.10/32 dev lo")


# --- who may send ----------------------------------------------------------------------------


def test_a_client_without_a_certificate_is_refused(host, marker):
    out = send_tls(host, [("kea-lease", f"{marker} sent without a certificate")], cert=None)
    assert "closed" in out
    assert never_filed(host, marker)


def test_a_certificate_of_another_ca_is_refused(host, marker):
    out = send_tls(host, [("kea-lease", f"{marker} sent with a foreign CA")], cert="rogueclient")
    assert "closed" in out
    assert never_filed(host, marker)


def test_under_x509_certvalid_any_certificate_of_the_ca_may_send(host, marker):
    send_tls(host, [("cron", f"{marker}-other from a certificate of the CA")], cert="otherclient")
    assert wait_for_grep(host, f"{marker}-other", GENERAL)


# --- a full disk -----------------------------------------------------------------------------


def test_filing_waits_while_the_disk_is_full_and_nothing_is_lost(host, marker):
    """The guard's SUSPENDED holds the lines in rsyslog's queue; READY lets them through."""
    guard = "/usr/local/sbin/log-server-diskguard --once"
    watches = f"{ROOT}=/run/log-server/5651.state {GENERAL}=/run/log-server/general.state"
    with host.sudo():
        host.run("systemctl stop log-server-diskguard.service")
        try:
            full = host.run(f"{guard} --min-free-mb 100000000 {watches}")
            assert "SUSPENDED" in full.stdout, full.stdout + full.stderr
            send_tls(host, [("kea-lease", f"{marker}-held DHCPACK 10.20.30.43"), ("cron", f"{marker}-held-too")])
            assert never_filed(host, f"{marker}-held", wait=5)
            freed = host.run(f"{guard} --min-free-mb 16 {watches}")
            assert "resumed" in freed.stdout, freed.stdout + freed.stderr
            assert wait_for_grep(host, f"{marker}-held DHCPACK", ROOT, timeout=90)
            assert wait_for_grep(host, f"{marker}-held-too", GENERAL, timeout=90)
        finally:
            host.run(f"{guard} --min-free-mb 16 {watches}")
            host.run("systemctl start log-server-diskguard.service")
    assert host.service("log-server-diskguard").is_running


# --- signing and retention -------------------------------------------------------------------


def test_signing_timers_are_enabled_and_active(host):
    for unit in ("log5651-sign.timer", "log5651-prune.timer", "log5651-status.timer", "log-server-cleanup.timer"):
        service = host.service(unit)
        assert service.is_enabled, unit
        assert service.is_running, unit
    with host.sudo():
        calendar = host.check_output("systemctl show -p TimersCalendar --value log5651-sign.timer")
        assert "*-*-* *:15:00" in calendar
        unit = host.run("systemctl cat log5651-sign.service").stdout
        assert unit.count("ExecStart=/usr/local/sbin/log5651 sign") == 1


def test_log5651_reads_its_configuration_and_reports(host):
    conf = host.file("/etc/log5651/config.json")
    with host.sudo():
        assert (conf.user, conf.group, conf.mode) == ("root", "log5651", 0o640)
        cfg = json.loads(conf.content_string)
        status = host.run("/usr/local/sbin/log5651 status --json")
    assert cfg["root"] == ROOT
    assert cfg["classes"] == {"dhcp": {"retention_days": 730}, "web": {"retention_days": 730},
                              "traffic": {"retention_days": 730}}  # fmt: skip
    assert cfg["tsa"]["url"] == "http://127.0.0.1:9/"
    assert status.rc == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["root"] == ROOT
    assert set(report["classes"]) == {"dhcp", "web", "traffic"}
    assert report["backlog"] == []


def test_the_sign_service_runs_with_nothing_closed_to_sign(host):
    with host.sudo():
        res = host.run("systemctl start log5651-sign.service")
        result = host.check_output("systemctl show -p Result --value log5651-sign.service")
    assert res.rc == 0, res.stderr
    assert result == "success"


def test_general_tree_keeps_files_for_the_retention_only(host):
    old = f"{GENERAL}/mol-retention/2024-01-01.log"
    recent = f"{GENERAL}/mol-retention/2026-01-01.log"
    with host.sudo():
        host.run(f"install -d -m 0750 -g adm {GENERAL}/mol-retention")
        host.run(f"touch -d '400 days ago' {old} && touch -d '10 days ago' {recent}")
        res = host.run("systemctl start log-server-cleanup.service")
        assert res.rc == 0, res.stderr
        assert not host.file(old).exists
        assert host.file(recent).exists
        host.run(f"rm -rf {GENERAL}/mol-retention")


def test_tls_key_is_root_only(host):
    with host.sudo():
        key = host.file("/etc/log-server/tls/server.key")
        assert (key.user, key.group, key.mode) == ("root", "root", 0o600)


# --- the peers setting (reconfigure.yml; these tests run last) ---------------------------------


def reconfigure(*options: str) -> str:
    """reconfigure.yml with the peers setting, as an operator's run; returns its plain output."""
    extra = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "peers-setting.json"
    extra.write_text(json.dumps(PEERS_SETTING))
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "-e", f"@{extra}", *options,
            str(SCENARIO / "reconfigure.yml")]  # fmt: skip
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    res = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, env=env)
    out = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", res.stdout + res.stderr).split())
    assert res.returncode == 0, out[-4000:]
    return out


@pytest.fixture(scope="module")
def peers(host):
    """The peers setting applied, and applied once more: the second run must change nothing."""
    first = reconfigure()
    second = reconfigure()
    return first, second


def test_the_peers_setting_applies_and_a_second_run_changes_nothing(host, peers):
    first, second = peers
    changed = [int(n) for n in re.findall(rf"{name(host)} : ok=\d+ changed=(\d+)", first + " " + second)]
    assert len(changed) == 2, first[-2000:]
    assert changed[0] > 0, changed
    assert changed[1] == 0, changed


def test_plain_port_listens_where_asked(host, peers):
    assert host.socket("tcp://0.0.0.0:514").is_listening
    assert host.socket("udp://0.0.0.0:514").is_listening


def test_under_x509_name_only_a_permitted_name_may_send(host, peers, marker):
    send_tls(host, [("cron", f"{marker}-permitted from the permitted name")])
    assert wait_for_grep(host, f"{marker}-permitted", GENERAL)
    out = send_tls(host, [("cron", f"{marker}-other from a certificate of the CA")], cert="otherclient")
    assert "closed" in out
    assert never_filed(host, f"{marker}-other")


def test_plain_port_accepts_listed_networks_and_counts_the_others(host, peers, marker, today):
    address = lab_address(host)
    host.run(f"logger -n 127.0.0.1 -P 514 -T -t mol-plain {marker}-tcp-ok")
    host.run(f"logger -n 127.0.0.1 -P 514 -d -t mol-plain {marker}-udp-ok")
    host.run(f"logger -n {address} -P 514 -T -t mol-plain {marker}-refused")
    host.run(f"logger -n {address} -P 514 -d -t mol-plain {marker}-refused")
    assert wait_for_grep(host, f"{marker}-tcp-ok", GENERAL) == f"{GENERAL}/localhost/{today}.log"
    assert wait_for_grep(host, f"{marker}-udp-ok", GENERAL) == f"{GENERAL}/localhost/{today}.log"
    assert never_filed(host, f"{marker}-refused", wait=1)
    # Counted per address in rsyslog's counter file (a line every 10 s in this scenario).
    stats = f"/var/log/log-server/rsyslog-stats-{today}.log"
    deadline = time.monotonic() + 60
    with host.sudo():
        while host.run(f"grep -q 'log_server_plain_refused: origin=dynstats.bucket.*{address}=' {stats}").rc != 0:
            assert time.monotonic() < deadline, f"no refused count for {address} in {stats}"
            time.sleep(1)
