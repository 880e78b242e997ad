"""Behaviour of the antivirus role on a Debian 12 server (av-debian) and a Pardus 23 desktop
(av-pardus), with signatures from the lab's ClamAV mirror (lab/avmirror.py).

The EICAR test file is assembled by lab/avmirror.py at run time and written on the instance as hex,
so no file of the repository holds it.
"""

import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
sys.path.insert(0, str(ROOT / "lab"))
import avmirror  # noqa: E402

DB = "/var/lib/clamav/belediye-lab.cud"
SOCKET = "/run/clamav/clamd.ctl"
STATE = "/var/lib/belediye/antivirus"
QUARANTINE = f"{STATE}/quarantine"
EICAR_NAME = "Belediye.Test.EICAR.UNOFFICIAL"
USER_DIR = "/home/ayse.yilmaz/Belgeler"

PING = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as exc:
    print("refused", exc.errno)
    sys.exit(0)
s.sendall(b"zPING\0")
print(s.recv(100).rstrip(b"\0").decode())
"""


def name(host) -> str:
    return host.backend.get_hostname()


def root_run(host, command: str):
    with host.sudo():
        return host.run(command)


def write_bytes(host, path: str, data: bytes, owner: str = "root") -> None:
    script = "import sys; open(sys.argv[1], 'wb').write(bytes.fromhex(sys.argv[2]))"
    res = root_run(host, f"python3 -c {shlex.quote(script)} {shlex.quote(path)} {data.hex()} && chown {owner} {path}")
    assert res.rc == 0, res.stderr


def header_version(host) -> int:
    res = root_run(host, f"head -c 512 {DB}")
    assert res.rc == 0, res.stderr
    return int(res.stdout.split(":")[2])


def status(host) -> dict:
    res = root_run(host, f"cat {STATE}/status.json")
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout)


def test_config_files_and_tools_are_root_owned_and_not_writable_by_others(host):
    paths = [
        "/etc/clamav/clamd.conf",
        "/etc/clamav/freshclam.conf",
        "/etc/belediye/antivirus.json",
        "/etc/systemd/system/antivirus-scan.service",
        "/etc/systemd/system/antivirus-scan.timer",
        "/etc/systemd/system/clamav-daemon.service.d/belediye-antivirus.conf",
        "/etc/systemd/system/clamav-daemon.socket.d/belediye-antivirus.conf",
        "/etc/systemd/system/clamav-freshclam.service.d/belediye-antivirus.conf",
        "/etc/systemd/system/clamav-clamonacc.service.d/belediye-antivirus.conf",
        "/usr/local/lib/belediye/antivirus-scan",
        "/usr/local/lib/belediye/antivirus-status",
    ]
    for path in paths:
        f = host.file(path)
        assert f.exists, path
        assert (f.user, f.group) == ("root", "root"), path
        assert f.mode & 0o022 == 0, f"{path} is writable by group or others ({oct(f.mode)})"


def test_freshclam_fetches_the_lab_database_directly_without_official_databases(host):
    conf = host.file("/etc/clamav/freshclam.conf").content_string
    assert "DatabaseCustomURL http://10.231.0.1:3320/belediye-lab.cud" in conf
    for db in ("daily", "main", "bytecode"):
        assert f"ExcludeDatabase {db}" in conf
    assert not [line for line in conf.splitlines() if line.startswith(("HTTPProxy", "HTTPProxyServer"))]
    assert "NotifyClamd /etc/clamav/clamd.conf" in conf
    svc = host.service("clamav-freshclam")
    assert svc.is_running
    assert svc.is_enabled
    env = root_run(host, "systemctl show clamav-freshclam -p UnsetEnvironment").stdout
    assert "http_proxy" in env


def test_freshclam_fetched_the_lab_database(host):
    db = host.file(DB)
    assert db.exists
    assert db.user == "clamav"
    assert root_run(host, f"head -c 11 {DB}").stdout == "ClamAV-VDB:"
    assert not host.file("/var/lib/clamav/daily.cvd").exists


def test_clamd_runs_and_answers_ping_on_its_socket(host):
    svc = host.service("clamav-daemon")
    assert svc.is_running
    assert svc.is_enabled
    res = root_run(host, f"python3 -c {shlex.quote(PING)} {SOCKET}")
    assert res.stdout.strip() == "PONG", res.stdout + res.stderr


def test_clamd_socket_is_for_root_and_group_clamav_only(host):
    sock = host.file(SOCKET)
    assert sock.is_socket
    assert sock.mode == 0o660
    assert sock.group == "clamav"
    res = root_run(host, f"runuser -u ayse.yilmaz -- python3 -c {shlex.quote(PING)} {SOCKET}")
    assert res.stdout.startswith("refused 13"), res.stdout + res.stderr


def test_quarantine_and_state_are_not_for_everyone(host):
    q = host.file(QUARANTINE)
    assert q.is_directory
    assert (q.user, q.group, q.mode) == ("root", "root", 0o700)
    s = host.file(STATE)
    assert (s.user, s.group, s.mode) == ("root", "adm", 0o750)


def test_scan_timer_is_enabled_on_the_calendar(host):
    timer = host.service("antivirus-scan.timer")
    assert timer.is_enabled
    assert timer.is_running
    cal = root_run(host, "systemctl show antivirus-scan.timer -p TimersCalendar").stdout
    assert "Mon..Fri *-*-* 12:30:00" in cal
    assert host.service("antivirus-status.timer").is_enabled


@pytest.fixture(scope="module")
def scanned(host):
    """An EICAR file in a user's documents and in an excluded tree, a clean file beside them, then
    one run of the scan service."""
    tag = uuid.uuid4().hex[:8]
    infected = f"{USER_DIR}/fatura-{tag}.com"
    excluded = f"/srv/yedek/eski-{tag}.com"
    clean = f"{USER_DIR}/not-{tag}.txt"
    write_bytes(host, infected, avmirror.eicar(), owner="ayse.yilmaz")
    write_bytes(host, excluded, avmirror.eicar())
    write_bytes(host, clean, b"Toplanti notlari\n", owner="ayse.yilmaz")
    res = root_run(host, "systemctl start antivirus-scan.service")
    assert res.rc == 0, res.stderr
    last = json.loads(root_run(host, f"cat {STATE}/last-scan.json").stdout)
    return {"infected": infected, "excluded": excluded, "clean": clean, "last": last, "tag": tag}


def test_eicar_is_found_and_moved_to_the_quarantine(host, scanned):
    assert not host.file(scanned["infected"]).exists
    moved = f"{QUARANTINE}/fatura-{scanned['tag']}.com"
    assert root_run(host, f"stat -c '%U %a' {moved}").stdout.split() == ["root", "400"]
    assert host.file(scanned["clean"]).exists
    assert host.file(scanned["excluded"]).exists, "the excluded tree was scanned"
    last = scanned["last"]
    assert last["result"] == "infected"
    assert last["exit_code"] == 1
    assert last["files_scanned"] >= 2
    assert "/opt/olmayan-dizin" in last["skipped_paths"]
    detection = next(d for d in last["detections"] if d["path"] == scanned["infected"])
    assert detection["signature"] == EICAR_NAME
    assert detection["quarantine"] == moved


def test_scan_service_succeeds_when_it_finds_something(host, scanned):
    res = root_run(host, "systemctl show antivirus-scan.service -p Result -p ExecMainStatus")
    assert "Result=success" in res.stdout
    assert "ExecMainStatus=1" in res.stdout


def test_status_records_the_detection_and_the_signature_age(host, scanned):
    f = host.file(f"{STATE}/status.json")
    assert (f.user, f.group, f.mode) == ("root", "adm", 0o640)
    st = status(host)
    assert any(d["path"] == scanned["infected"] and d["signature"] == EICAR_NAME for d in st["detections"])
    assert st["scan"]["last"]["result"] == "infected"
    sig = st["signatures"]
    assert sig["newest_database"] == "belediye-lab.cud"
    assert 0 <= sig["age_hours"] < 24
    assert sig["max_age_hours"] == 24
    assert sig["stale"] is False
    db = next(d for d in st["databases"] if d["file"] == "belediye-lab.cud")
    assert db["kind"] == "custom"
    assert db["version"] >= 1
    assert st["clamd"]["ping"] is True
    assert st["clamd"]["active"] == "active"
    assert st["freshclam"]["active"] == "active"
    assert st["quarantine"]["files"] >= 1


def test_onaccess_is_configured_where_asked_and_skipped_in_a_container(host):
    clamd_conf = host.file("/etc/clamav/clamd.conf").content_string
    onacc = host.service("clamav-clamonacc")
    if name(host) == "av-pardus":
        assert "OnAccessIncludePath /home" in clamd_conf
        assert "OnAccessExcludeUname clamav" in clamd_conf
        assert onacc.is_enabled
        assert root_run(host, "systemctl start clamav-clamonacc").rc == 0
        props = root_run(host, "systemctl show clamav-clamonacc -p ConditionResult -p ActiveState").stdout
        assert "ConditionResult=no" in props
        assert "ActiveState=inactive" in props
        assert "--fdpass" in root_run(host, "systemctl show clamav-clamonacc -p ExecStart").stdout
    else:
        assert "OnAccess" not in clamd_conf
        assert not onacc.is_enabled
        assert not onacc.is_running


@pytest.fixture(scope="module")
def bumped():
    """The lab mirror publishes the next database version (built once per version, cached)."""
    env = dict(os.environ, CONTAINERS_CONF=str(ROOT / "lab" / "containers.conf"))
    res = subprocess.run(
        [sys.executable, str(ROOT / "lab" / "labctl.py"), "av-mirror", "--bump"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return avmirror.read_version(ROOT / ".cache" / "avmirror")


def test_freshclam_fetches_an_update_and_clamd_uses_it(host, bumped):
    assert root_run(host, "systemctl kill --kill-whom=main --signal=SIGUSR1 clamav-freshclam").rc == 0
    deadline = time.monotonic() + 180
    # A newer version is fine: the lab's integration tests, beside this scenario in make test, may
    # bump the same mirror, and each database holds every earlier version's signature too.
    while header_version(host) < bumped and time.monotonic() < deadline:
        time.sleep(2)
    assert header_version(host) >= bumped
    sample = f"/root/bump-{bumped}.txt"
    write_bytes(host, sample, avmirror.bump_text(bumped).encode())
    expected = f"{avmirror.BUMP_SIGNATURE}{bumped}.UNOFFICIAL FOUND"
    deadline = time.monotonic() + 120
    while True:
        out = root_run(host, f"clamdscan --fdpass --no-summary {sample}").stdout
        if expected in out or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert expected in out
