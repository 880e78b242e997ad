"""Law 5651, end to end in the lab: a Pardus desktop takes a DHCP lease from the gateway fw01 (the
lab's DHCP server, as in a small directorate), the lease event travels over syslog-TLS to log01 and
is filed in the IP allocation class; closed days are signed with an RFC 3161 token from the lab TSA
(lab/tsa/tsa.py, started by labctl on the bridge); verification names every tampered file; a TSA
outage loses nothing and the backlog is signed later.

Signing needs a closed day, and a real one closes only at midnight. The signing tests therefore
work on a test tree on log01 (/srv/log5651-itest, with its own copy of the deployed configuration)
whose past days are made of the lease and web lines that log01 really received today. The
deployed tree and its timers are left as the role made them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import subprocess
import tarfile
import uuid

import pytest

from .conftest import BIN, ROOT, wait_for

LABCTL = [str(BIN / "python"), str(ROOT / "lab" / "labctl.py")]
TOOL = "/usr/local/sbin/log5651"
TEST_ROOT = "/srv/log5651-itest"
TEST_CONFIG = "/etc/log5651/itest.json"
DHCP_SERVER = "fw01"  # the lab gateway serves DHCP on the clients LAN (inventories/lab/hosts.yml)
GATEWAY_CLIENTS = "10.231.8.1"  # fw01 eth1, the plan's gateway of lab/clients


@pytest.fixture(scope="module")
def log01(lab_hosts):
    return lab_hosts["log01"]


@pytest.fixture(scope="module")
def today(log01) -> str:
    return log01.check_output("date +%F")


@pytest.fixture(scope="module")
def lease(lab_hosts, log01, today):
    """pardus01 takes a real lease on its clients LAN interface (eth1) from fw01's Kea."""
    pardus = lab_hosts["pardus01"]
    if pardus.run("command -v dhclient").rc != 0:
        # The lab client's DHCP client (a real Pardus desktop has NetworkManager's), via the lab apt proxy.
        res = pardus.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends isc-dhcp-client")
        assert res.rc == 0, res.stderr
    mac = pardus.check_output("cat /sys/class/net/eth1/address").strip().lower()
    pardus.run("dhclient -r eth1; ip -4 addr flush dev eth1")
    res = pardus.run("timeout 60 dhclient -1 -v eth1")
    assert res.rc == 0, f"pardus01 got no lease on eth1: {res.stderr}"
    addr = pardus.check_output("ip -o -4 addr show dev eth1 | awk '{print $4}'").split("/")[0]
    # dhclient's record of the lease it holds now: the last one in its lease file.
    options = pardus.check_output("cat /var/lib/dhcp/dhclient.leases").rsplit("lease {", 1)[-1]
    return {"mac": mac, "ip": addr, "options": options}


def test_pardus_desktop_leases_an_address_from_the_plan(lease, lab_hosts):
    assert re.fullmatch(r"10\.231\.8\.(1[0-9][0-9])", lease["ip"]), lease
    assert 100 <= int(lease["ip"].rsplit(".", 1)[1]) <= 199
    leases = lab_hosts[DHCP_SERVER].check_output("cat /var/lib/kea/kea-leases4.csv")
    assert any(line.startswith(lease["ip"] + ",") and lease["mac"] in line.lower() for line in leases.splitlines())


def test_the_lease_comes_from_the_gateway_which_is_also_its_router(lease):
    # fw01 answers on its clients LAN address, and the router option is fw01 too.
    assert f"option dhcp-server-identifier {GATEWAY_CLIENTS};" in lease["options"], lease["options"]
    assert f"option routers {GATEWAY_CLIENTS};" in lease["options"], lease["options"]


def test_lease_event_reaches_the_log_server_in_the_ip_allocation_class(lease, log01, today):
    def found():
        res = log01.run(f"grep -h 'kea-lease' {'/srv/log5651'}/dhcp/{today}/*.log")
        return [
            line
            for line in res.stdout.splitlines()
            if f"ip={lease['ip']} " in line + " " and f"mac={lease['mac']}" in line.lower()
        ]

    lines = wait_for(found, timeout=60)
    assert lines, f"no kea-lease line for {lease} in /srv/log5651/dhcp/{today} on log01"
    line = lines[-1]
    for key in ("start=", "end=", "hostname="):
        assert key in line, line
    # Filed in the protected class tree only: not in the general tree that group adm reads.
    # Kea's own log names the MAC too (DHCP4_LEASE_ALLOC [hwtype=1 <mac>]): it is filed in the class.
    # (The desktop's own dhclient names its own MAC in the desktop's own log; that is not a lease record.)
    general = log01.run(f"grep -rli '{lease['mac']}' /var/log/remote/{DHCP_SERVER}/ 2>/dev/null")
    assert general.stdout.strip() == "", f"lease lines leaked into the general log tree: {general.stdout}"
    # The class tree is readable by the dedicated group only.
    stat = log01.check_output(f"stat -c '%a %U %G' /srv/log5651/dhcp/{today}")
    assert stat.split()[0] in ("2750", "750"), stat
    assert stat.split()[2] == "log5651", stat


def test_web_access_lines_travel_over_tls_into_the_web_class(lab_hosts, log01, today):
    marker = f"itest-{uuid.uuid4().hex[:12]}"
    app01 = lab_hosts["app01"]
    app01.run(f"logger -t nginx-access '10.231.0.99 - - \"GET /{marker} HTTP/1.1\" 200 512'")
    got = wait_for(lambda: log01.run(f"grep -l {marker} /srv/log5651/web/{today}/*.log").stdout.strip(), timeout=60)
    assert got, f"the web access line {marker} never reached /srv/log5651/web/{today} on log01"
    assert got.endswith("/app01.log"), got
    # It travelled over TLS: app01's forwarder uses the gtls driver towards port 6514.
    fwd = app01.check_output("cat /etc/rsyslog.d/90-belediye-forward.conf")
    assert 'StreamDriver="gtls"' in fwd
    assert 'port="6514"' in fwd


def _closed_days(n: int) -> list[str]:
    base = dt.date.today()
    return [(base - dt.timedelta(days=n - i)).isoformat() for i in range(n)]


@pytest.fixture(scope="module")
def test_tree(log01, lease, today):
    """/srv/log5651-itest: past days built from today's real dhcp and web files, and a config for it."""
    cfg = json.loads(log01.check_output("cat /etc/log5651/config.json"))
    cfg["root"] = TEST_ROOT
    cfg["records_file"] = "/var/log/log5651/itest-records.jsonl"
    cfg["lock_file"] = "/run/lock/log5651-itest.lock"
    log01.run(f"chattr -R -i {TEST_ROOT} 2>/dev/null; rm -rf {TEST_ROOT}")
    log01.run(f"install -d -m 2750 -g log5651 {TEST_ROOT}")
    res = log01.run(f"cat > {TEST_CONFIG} <<'EOF'\n{json.dumps(cfg, indent=2)}\nEOF")
    assert res.rc == 0, res.stderr
    days = _closed_days(3)
    for day in days:
        for cls in ("dhcp", "web"):
            res = log01.run(
                f"install -d -m 2750 -g log5651 {TEST_ROOT}/{cls}/{day} && "
                f"cp -p /srv/log5651/{cls}/{today}/*.log {TEST_ROOT}/{cls}/{day}/"
            )
            assert res.rc == 0, res.stderr
    yield days
    log01.run(f"chattr -R -i {TEST_ROOT} 2>/dev/null; rm -rf {TEST_ROOT} {TEST_CONFIG}")


def tool(host, args: str):
    return host.run(f"{TOOL} --config {TEST_CONFIG} {args}")


def test_tsa_outage_loses_nothing_and_the_backlog_is_signed_when_it_returns(log01, test_tree):
    subprocess.run([*LABCTL, "tsa-stop"], check=True, capture_output=True)
    try:
        before = log01.check_output(f"find {TEST_ROOT} -type f | sort")
        outage = log01.run(f"{TOOL} --config {TEST_CONFIG} sign")
        assert outage.rc != 0, "sign must fail while the TSA is down"
        after = log01.check_output(f"find {TEST_ROOT} -type f | sort")
        assert after == before or set(before.split()) <= set(after.split()), "files were lost during the outage"
        assert "MANIFEST.sha256.tsr" not in after
        alert = log01.run("journalctl -t log5651 -p crit --since '-2 min' --no-pager -q")
        assert alert.stdout.strip(), "the outage raised no CRIT alert in syslog"
        status = tool(log01, "status --json")
        assert status.rc != 0 or "unsigned" in status.stdout
    finally:
        subprocess.run([*LABCTL, "tsa-start"], check=True, capture_output=True)
    outage_end = log01.check_output("date -u +%s")
    signed = tool(log01, "sign")
    assert signed.rc == 0, signed.stdout + signed.stderr
    tokens = log01.check_output(f"find {TEST_ROOT} -name MANIFEST.sha256.tsr | sort").split()
    assert len(tokens) == 2 * len(test_tree), tokens
    # The token records the real signing time: after the outage, not the day it covers.
    text = log01.check_output(f"openssl ts -reply -in {tokens[0]} -text")
    gen = re.search(r"Time stamp: (.+)", text).group(1).strip()
    gen_s = int(log01.check_output(f"date -u -d '{gen}' +%s"))
    assert gen_s >= int(outage_end) - 5, (gen, outage_end)


def test_signed_days_verify_and_independently_with_openssl(log01, test_tree):
    res = tool(log01, "verify")
    assert res.rc == 0, res.stdout + res.stderr
    day = test_tree[0]
    indep = log01.run(
        f"cd {TEST_ROOT}/dhcp/{day} && sha256sum -c --quiet MANIFEST.sha256 && "
        "openssl ts -verify -data MANIFEST.sha256 -in MANIFEST.sha256.tsr -CAfile /etc/log5651/tsa-ca.pem"
    )
    assert indep.rc == 0, indep.stdout + indep.stderr
    assert "Verification: OK" in indep.stdout, indep.stdout
    ro = log01.check_output(f"stat -c %a {TEST_ROOT}/dhcp/{day}/MANIFEST.sha256")
    assert ro in ("440", "400"), ro


def _first_log(host, cls: str, day: str) -> str:
    return host.check_output(f"ls {TEST_ROOT}/{cls}/{day}/*.log | head -1").strip()


def _verify_fails_naming(host, cls: str, day: str, needle: str) -> str:
    res = tool(host, f"verify --from {day} --to {day} --class {cls}")
    assert res.rc != 0, f"tampering in {cls}/{day} was not detected:\n{res.stdout}"
    fail_lines = [line for line in res.stdout.splitlines() if f"{cls}/{day}" in line and "FAIL" in line.upper()]
    assert fail_lines, res.stdout
    assert any(needle in line for line in fail_lines), f"{needle!r} not named in:\n{res.stdout}"
    return res.stdout


@pytest.fixture
def restore(log01, test_tree):
    """Snapshot of the signed test tree, put back after a tampering test."""
    log01.run(f"rm -rf {TEST_ROOT}.bak; cp -a {TEST_ROOT} {TEST_ROOT}.bak")
    yield
    log01.run(f"chattr -R -i {TEST_ROOT} 2>/dev/null; rm -rf {TEST_ROOT}; mv {TEST_ROOT}.bak {TEST_ROOT}")


def test_one_flipped_byte_is_detected_naming_the_file(log01, test_tree, restore):
    day = test_tree[0]
    path = _first_log(log01, "dhcp", day)
    log01.run(f"chattr -i {path} 2>/dev/null; chmod u+w {path}")
    flip = (
        "python3 -c \"import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; "
        f"open(p,'wb').write(b)\" {path}"
    )
    assert log01.run(flip).rc == 0
    _verify_fails_naming(log01, "dhcp", day, path.rsplit("/", 1)[1])


def test_a_deleted_file_is_detected_naming_the_file(log01, test_tree, restore):
    day = test_tree[0]
    path = _first_log(log01, "web", day)
    log01.run(f"chattr -i {path} 2>/dev/null; rm -f {path}")
    _verify_fails_naming(log01, "web", day, path.rsplit("/", 1)[1])


def test_an_added_file_is_detected_naming_the_file(log01, test_tree, restore):
    day = test_tree[1]
    log01.run(f"chattr -i {TEST_ROOT}/dhcp/{day} 2>/dev/null; echo forged > {TEST_ROOT}/dhcp/{day}/forged.log")
    _verify_fails_naming(log01, "dhcp", day, "forged.log")


def test_a_token_of_another_day_is_detected(log01, test_tree, restore):
    # The test's dhcp days are copies of one real file, so their manifests (and tokens) are alike:
    # the other day's token comes from the web class, whose files differ.
    day, other = test_tree[0], test_tree[1]
    tsr = f"{TEST_ROOT}/dhcp/{day}/MANIFEST.sha256.tsr"
    log01.run(f"chattr -i {tsr} 2>/dev/null; chmod u+w {tsr}; cp {TEST_ROOT}/web/{other}/MANIFEST.sha256.tsr {tsr}")
    _verify_fails_naming(log01, "dhcp", day, "token")


def test_a_token_from_an_untrusted_tsa_is_detected(log01, test_tree, restore, tmp_path):
    """A second TSA with its own CA (lab/tsa/tsa.py, used offline on the controller) signs the
    day's real manifest: the imprint is right, the signer is not trusted."""
    rogue = tmp_path / "rogue"
    subprocess.run(
        [str(BIN / "python"), str(ROOT / "lab" / "tsa" / "tsa.py"), "init", str(rogue), "--name", "Rogue TSA"],
        check=True,
        capture_output=True,
    )
    day = test_tree[2]
    manifest = log01.check_output(f"cat {TEST_ROOT}/web/{day}/MANIFEST.sha256") + "\n"
    (tmp_path / "MANIFEST.sha256").write_text(manifest)
    q, r = tmp_path / "q.tsq", tmp_path / "r.tsr"
    subprocess.run(
        ["openssl", "ts", "-query", "-data", str(tmp_path / "MANIFEST.sha256"), "-sha256", "-cert", "-out", str(q)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "ts", "-reply", "-config", str(rogue / "tsa.cnf"), "-queryfile", str(q), "-out", str(r)],
        check=True,
        capture_output=True,
        cwd=rogue,
    )
    tsr = f"{TEST_ROOT}/web/{day}/MANIFEST.sha256.tsr"
    log01.run(f"chattr -i {tsr} 2>/dev/null; chmod u+w {tsr}")
    b64 = base64.b64encode(r.read_bytes()).decode()
    assert log01.run(f"echo {b64} | base64 -d > {tsr}").rc == 0
    _verify_fails_naming(log01, "web", day, "TSA")


def test_export_bundle_for_an_authority_verifies_with_plain_openssl(log01, test_tree, lease, today):
    # The test days are copies of today's files, so their lines carry today's time stamps.
    out = "/root/itest-export.tar.gz"
    day = test_tree[0]
    res = tool(
        log01,
        f"export --from {day}T00:00:00 --to {today}T23:59:59 --mac {lease['mac']} --out {out} "
        "--requester 'Itest Savcılığı 2026/1' --reason 'integration test'",
    )
    assert res.rc == 0, res.stdout + res.stderr
    check = log01.run(
        "set -e; d=$(mktemp -d); tar -xzf " + out + " -C $d; cd $d; "
        "grep -c . matches.log; "
        "for m in $(find days -name MANIFEST.sha256); do "
        " (cd $(dirname $m) && sha256sum -c --quiet MANIFEST.sha256 && "
        "  openssl ts -verify -data MANIFEST.sha256 -in MANIFEST.sha256.tsr -CAfile $d/tsa-ca.pem >/dev/null); "
        "done; echo BUNDLE-OK; rm -rf $d"
    )
    assert check.rc == 0, check.stdout + check.stderr
    assert "BUNDLE-OK" in check.stdout, check.stdout
    assert int(check.stdout.split()[0]) >= 1
    # Every export is recorded, without the log lines themselves (KVKK).
    rec = log01.check_output("tail -n 1 /var/log/log5651/itest-records.jsonl")
    entry = json.loads(rec)
    assert entry.get("action") == "export"
    assert "Itest" in json.dumps(entry, ensure_ascii=False)
    assert "kea-lease" not in rec
    log01.run(f"rm -f {out}")


def test_the_deployed_signing_service_runs_clean(log01):
    res = log01.run("systemctl start log5651-sign.service")
    assert res.rc == 0, res.stderr
    assert log01.check_output("systemctl show -p Result --value log5651-sign.service") == "success"
    for timer in ("log5651-sign.timer", "log5651-prune.timer", "log5651-status.timer"):
        assert log01.service(timer).is_enabled, timer
        assert log01.service(timer).is_running, timer


def run_playbook(name: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "ansible-playbook"), f"playbooks/{name}", "--limit", "log01", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_auditors_verify_playbook_passes_and_then_names_a_tampered_file(log01, test_tree, restore):
    ok = run_playbook("log5651-verify.yml", "-e", f"log5651_config={TEST_CONFIG}")
    assert ok.returncode == 0, ok.stdout[-3000:]
    assert f"{2 * len(test_tree)} days verified" in ok.stdout
    day = test_tree[1]
    path = _first_log(log01, "web", day)
    log01.run(f"chattr -i {path} 2>/dev/null; chmod u+w {path}; echo forged-line >> {path}")
    bad = run_playbook("log5651-verify.yml", "-e", f"log5651_config={TEST_CONFIG}", "-e", f"log5651_from={day}")
    assert bad.returncode != 0
    assert f"web/{day}" in bad.stdout
    assert path.rsplit("/", 1)[1] in bad.stdout


def test_export_playbook_fetches_a_private_bundle_to_the_control_node(log01, test_tree, lease, today):
    res = run_playbook(
        "log5651-export.yml",
        "-e", f"log5651_config={TEST_CONFIG}",
        "-e", f"log5651_from={test_tree[0]}",
        "-e", f"log5651_to={today}T23:59:59",
        "-e", f"log5651_ip={lease['ip']}",
        "-e", "log5651_requester='Itest Başsavcılığı 2026/2'",
        "-e", "log5651_reason='integration test'",
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:]
    bundles = sorted((ROOT / "reports" / "5651").glob(f"log5651-export-{test_tree[0].replace('-', '')}*-log01.tar.gz"))
    assert bundles, res.stdout[-2000:]
    bundle = bundles[-1]
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"
    assert lease["ip"] not in res.stdout  # the selector stays out of the run's output (no_log)
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        matches = tar.extractfile("matches.log").read().decode()
    assert any(n.endswith("MANIFEST.sha256.tsr") for n in names)
    assert f"ip={lease['ip']} " in matches
    assert log01.run("ls /root/log5651-export-*.tar.gz").rc != 0, "the bundle was left on the log server"
    bundle.unlink()


def test_prune_deletes_an_expired_day_that_verifies_and_keeps_a_tampered_one(log01, test_tree, today):
    """Two days older than the dhcp class's retention: both signed now, one then tampered with.
    The prune deletes the sound one and refuses the other, and records both."""
    retention = json.loads(log01.check_output(f"cat {TEST_CONFIG}"))["classes"]["dhcp"]["retention_days"]
    old = [(dt.date.today() - dt.timedelta(days=retention + n)).isoformat() for n in (5, 6)]
    for day in old:
        res = log01.run(
            f"install -d -m 2750 -g log5651 {TEST_ROOT}/dhcp/{day} && "
            f"cp -p /srv/log5651/dhcp/{today}/*.log {TEST_ROOT}/dhcp/{day}/"
        )
        assert res.rc == 0, res.stderr
    signed = tool(log01, "sign")
    assert signed.rc == 0, signed.stdout + signed.stderr
    sound, tampered = old
    path = _first_log(log01, "dhcp", tampered)
    log01.run(f"chattr -i {path} 2>/dev/null; chmod u+w {path}; echo forged-line >> {path}")
    pruned = tool(log01, "prune")
    assert pruned.rc != 0, "a prune that refused a day must say so in its exit status"
    assert log01.run(f"test -e {TEST_ROOT}/dhcp/{sound}").rc != 0, f"dhcp/{sound} was not pruned"
    assert log01.run(f"test -e {TEST_ROOT}/dhcp/{tampered}").rc == 0, f"dhcp/{tampered} was pruned unverified"
    for day in test_tree:  # days within retention are kept
        assert log01.run(f"test -e {TEST_ROOT}/dhcp/{day}/MANIFEST.sha256.tsr").rc == 0
    records = [json.loads(line) for line in log01.check_output("cat /var/log/log5651/itest-records.jsonl").splitlines()]
    by_day = {(r.get("action"), r.get("day")) for r in records}
    assert ("prune", sound) in by_day, records[-3:]
    assert any(action.startswith("prune-") and day == tampered for action, day in by_day), records[-3:]
    log01.run(f"chattr -R -i {TEST_ROOT}/dhcp/{tampered} 2>/dev/null; rm -rf {TEST_ROOT}/dhcp/{tampered}")
