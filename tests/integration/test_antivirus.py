"""Antivirus across the lab estate (roles/antivirus, playbooks/antivirus-report.yml).

Every Linux host runs clamd with the lab's own signature database, which freshclam fetched from
the lab mirror (lab/avmirror.py on the bridge). An EICAR file on a Pardus desktop is found by the
scheduled scan's service, moved to the quarantine and shows up, with the desktop's name, in the one
report that the report playbook builds for the whole estate. When the mirror publishes a newer
database, every host fetches it and clamd detects what only the new one knows.

The single-host details (permissions, exclusions, on-access settings, status fields) are the
molecule scenario's; this module checks what only the estate shows. The EICAR bytes are assembled
at run time (lab/avmirror.py), so no file of the repository holds them.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
import time
import uuid

import pytest

from .conftest import BIN, ROOT

sys.path.insert(0, str(ROOT / "lab"))
import avmirror  # noqa: E402

DB = f"/var/lib/clamav/{avmirror.DB_NAME}"
STATE = "/var/lib/belediye/antivirus"
EICAR_NAME = f"{avmirror.EICAR_SIGNATURE}.UNOFFICIAL"


def write_bytes(host, path: str, data: bytes, owner: str = "root") -> None:
    script = "import sys; open(sys.argv[1], 'wb').write(bytes.fromhex(sys.argv[2]))"
    directory = path.rsplit("/", 1)[0]
    res = host.run(
        f"mkdir -p {shlex.quote(directory)} && python3 -c {shlex.quote(script)} {shlex.quote(path)} {data.hex()}"
        f" && chown {owner} {shlex.quote(path)}"
    )
    assert res.rc == 0, res.stderr


def header_version(host) -> int:
    """The version in the header of the lab database on the host (ClamAV-VDB:<date>:<version>:...)."""
    res = host.run(f"head -c 512 {DB}")
    assert res.rc == 0, res.stderr
    return int(res.stdout.split(":")[2])


def build_report(tmp_path_factory) -> dict:
    """Run the report playbook for the whole lab; return its directory and the parsed English CSVs."""
    out = tmp_path_factory.mktemp("antivirus-report")
    res = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/antivirus-report.yml",
         "-e", f"antivirus_report_out={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    with (out / "hosts.en.csv").open(encoding="utf-8") as f:
        hosts = {row["Host"]: row for row in csv.DictReader(f)}
    with (out / "detections.en.csv").open(encoding="utf-8") as f:
        detections = list(csv.DictReader(f))
    return {"dir": out, "stdout": res.stdout, "hosts": hosts, "detections": detections}


def test_every_linux_host_runs_clamd_with_the_lab_database(lab_hosts):
    problems = []
    for name, host in sorted(lab_hosts.items()):
        for unit in ("clamav-daemon", "clamav-freshclam"):
            if not host.service(unit).is_running:
                problems.append(f"{name}: {unit} is not running")
        if not host.file(DB).exists:
            problems.append(f"{name}: {DB} is missing")
        ping = host.run("clamdscan --ping 1")
        if ping.rc != 0:
            problems.append(f"{name}: clamd does not answer ({ping.stdout.strip()} {ping.stderr.strip()})")
    assert not problems, problems


@pytest.fixture(scope="module")
def infected_desktop(lab_hosts):
    """An EICAR file among a user's downloads on pardus01, then one run of the scan service."""
    pardus = lab_hosts["pardus01"]
    tag = uuid.uuid4().hex[:8]
    path = f"/home/itest-{tag}/İndirilenler/fatura-{tag}.com"
    write_bytes(pardus, path, avmirror.eicar())
    res = pardus.run("systemctl start antivirus-scan.service")
    assert res.rc == 0, res.stderr
    yield {"host": pardus, "path": path, "tag": tag}
    pardus.run(f"rm -rf /home/itest-{tag} {STATE}/quarantine/fatura-{tag}.com")


def test_the_scheduled_scan_quarantines_eicar_on_a_desktop(infected_desktop):
    pardus, path, tag = infected_desktop["host"], infected_desktop["path"], infected_desktop["tag"]
    assert not pardus.file(path).exists, "the infected file is still where it was"
    moved = pardus.file(f"{STATE}/quarantine/fatura-{tag}.com")
    assert moved.exists
    assert (moved.user, moved.mode) == ("root", 0o400), "a quarantined file stays its owner's or executable"
    last = json.loads(pardus.check_output(f"cat {STATE}/last-scan.json"))
    assert last["result"] == "infected"
    assert any(d["path"] == path and d["signature"] == EICAR_NAME for d in last["detections"]), last


def test_the_estate_report_names_the_desktop_and_its_detection(infected_desktop, lab_hosts, tmp_path_factory):
    report = build_report(tmp_path_factory)
    assert infected_desktop["path"] not in report["stdout"], "a detection's path (personal data) was printed"
    assert set(report["hosts"]) == set(lab_hosts)
    pardus = report["hosts"]["pardus01"]
    assert pardus["State"] == "DETECTIONS"
    assert int(pardus["Detections"]) >= 1
    assert pardus["Last scan result"] == "infected files found"
    found = [d for d in report["detections"] if d["Host"] == "pardus01" and d["Path"] == infected_desktop["path"]]
    assert found, report["detections"]
    assert found[0]["Signature"] == EICAR_NAME
    for name, row in report["hosts"].items():
        assert row["clamd"] == "running", (name, row)
        assert row["Newest database"] == avmirror.DB_NAME, (name, row)
        assert float(row["Signature age (hours)"]) < float(row["Maximum age (hours)"]), (name, row)
        if name != "pardus01":
            assert row["State"] in ("fine", "DETECTIONS"), (name, row)
    for private in ("report.en.md", "hosts.en.csv", "detections.tr.csv"):
        assert (report["dir"] / private).stat().st_mode & 0o007 == 0, private


@pytest.fixture(scope="module")
def bumped():
    """The lab mirror publishes the next database version (lab/labctl.py av-mirror --bump)."""
    env = dict(os.environ, CONTAINERS_CONF=str(ROOT / "lab" / "containers.conf"))
    res = subprocess.run(
        [str(BIN / "python"), str(ROOT / "lab" / "labctl.py"), "av-mirror", "--bump"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=env, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return avmirror.read_version(ROOT / ".cache" / "avmirror")


def test_every_host_fetches_a_new_database_from_the_mirror_and_clamd_uses_it(lab_hosts, bumped, tmp_path_factory):
    # freshclam checks on its own schedule; SIGUSR1 asks it to check now, as a sysadmin would.
    for host in lab_hosts.values():
        assert host.run("systemctl kill --kill-whom=main --signal=SIGUSR1 clamav-freshclam").rc == 0
    lagging = dict(lab_hosts)
    deadline = time.monotonic() + 120
    while lagging and time.monotonic() < deadline:
        # A newer version is fine: molecule's antivirus scenario, beside this stage, may bump the
        # same mirror, and each database holds every earlier version's signature too.
        lagging = {n: h for n, h in lagging.items() if header_version(h) < bumped}
        time.sleep(2)
    journals = {n: h.run("journalctl -u clamav-freshclam -n 8 --no-pager -o cat").stdout for n, h in lagging.items()}
    assert not lagging, f"still on an older database: {sorted(lagging)}; freshclam said: {journals}"
    sample = f"/root/itest-bump-{bumped}.txt"
    expected = f"{avmirror.BUMP_SIGNATURE}{bumped}.UNOFFICIAL FOUND"
    desktop = lab_hosts["pardus02"]
    write_bytes(desktop, sample, avmirror.bump_text(bumped).encode())
    deadline = time.monotonic() + 90
    while True:
        out = desktop.run(f"clamdscan --fdpass --no-summary {sample}").stdout
        if expected in out or time.monotonic() > deadline:
            break
        time.sleep(2)
    desktop.run(f"rm -f {sample}")
    assert expected in out
    report = build_report(tmp_path_factory)
    versions = {name: row["Version"] for name, row in report["hosts"].items()}
    assert all(str(v).isdigit() and int(v) >= bumped for v in versions.values()), versions
