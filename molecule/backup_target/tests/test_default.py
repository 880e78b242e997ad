"""Behaviour of the backup target on one converged Debian 12 instance.

The clients are played on the instance itself, with the restic that the role installed and the
scenario's CA, towards the instance's lab address and certificate, with the credentials that
molecule.yml's password lookups made in the ephemeral directory. The tests run in file order: a
client backs up, then tries to destroy its history and to reach another client's repository; a
year of daily snapshots is pruned to the grandfather-father-son set; the tape is written, read
back, tampered with, and one file is restored from it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shlex
import time
import uuid
from pathlib import Path

import pytest

testinfra_hosts = ["ansible://bt-target"]

EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
SECRETS = EPHEMERAL / "secrets"
DATA = "/srv/backup/restic"
ETC = "/etc/belediye-backup-target"
STATE = "/var/lib/belediye/backup-target"
TAPE = "/srv/backup/tape/tape0.img"
TAPE_TOOL = "/usr/local/lib/belediye/backup-target-tape"
CA = "/root/mol-tls/ca.crt"
PORT = 8000
CLIENTS = ("bt-app", "bt-log", "bt-year")
SOURCE = "/srv/mol-data"
SCRATCH = "/var/tmp/mol-tape-repo"  # noqa: S108 - on the instance, removed first
RESTORED = "/var/tmp/mol-restore"  # noqa: S108 - on the instance, removed first
YEAR_PW = "/var/tmp/mol-year.pw"  # noqa: S105,S108 - a path on the instance; removed after use


def secret(name: str) -> str:
    """A secret that molecule.yml's password lookup made in the ephemeral directory (first word)."""
    return (SECRETS / name).read_text(encoding="utf-8").split()[0]


# One HTTP request with basic auth against the REST server; prints the status and the body's size.
HTTP_CLIENT = r"""
import base64, http.client, json, ssl, sys
cfg = json.loads(sys.argv[1])
ctx = ssl.create_default_context(cafile=cfg["ca"])
conn = http.client.HTTPSConnection(cfg["host"], cfg["port"], context=ctx, timeout=30)
headers = {}
if cfg.get("user"):
    token = base64.b64encode(f"{cfg['user']}:{cfg['password']}".encode()).decode()
    headers["Authorization"] = "Basic " + token
if cfg.get("v2"):
    headers["Accept"] = "application/vnd.x.restic.rest.v2"
body = cfg.get("body", "").encode() if cfg.get("body") is not None else None
conn.request(cfg["method"], cfg["path"], body=body, headers=headers)
res = conn.getresponse()
data = res.read()
print(json.dumps({"status": res.status, "body": data.decode(errors="replace")[:100000]}))
"""


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(host):
    """The instance, with commands run as root."""
    with host.sudo():
        yield host


@pytest.fixture(scope="module")
def address(root) -> str:
    return root.check_output("hostname -I").split()[0]


def http(root, address: str, method: str, path: str, client: str | None = None, password: str | None = None,
         body: str | None = None, v2: bool = False) -> dict:  # fmt: skip
    cfg = {"ca": CA, "host": address, "port": PORT, "method": method, "path": path, "body": body, "v2": v2}
    if client:
        cfg.update(user=client, password=password if password is not None else secret(f"{client}-http"))
    res = root.run("python3 -c " + shlex.quote(HTTP_CLIENT) + " " + shlex.quote(json.dumps(cfg)))
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def restic_env(client: str, address: str) -> str:
    """Environment assignments for a restic client of ``client`` over REST (test secrets only)."""
    url = f"rest:https://{client}:{secret(f'{client}-http')}@{address}:{PORT}/{client}/"
    return f"RESTIC_REPOSITORY={shlex.quote(url)} RESTIC_PASSWORD={shlex.quote(secret(f'{client}-repo'))}"


def restic(root, client: str, address: str, args: str):
    return root.run(f"env {restic_env(client, address)} restic --cacert {CA} --no-cache {args}")


def snapshots(root, client: str, address: str) -> list[dict]:
    res = restic(root, client, address, "snapshots --json")
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout)


def snapshots_on_target(root, client: str) -> list[dict]:
    """The snapshots of a client's repository, read on the target with the target's own key."""
    res = root.run(
        f"runuser -u restic -- restic --repo {DATA}/{client} --password-file {ETC}/target-key.password"
        " --no-cache --no-lock --json snapshots"
    )
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout)


def gfs(days: list[datetime.date], daily: int, weekly: int, monthly: int) -> set[datetime.date]:
    """The days whose snapshots a grandfather-father-son policy keeps, newest first per rule.

    Each rule walks the snapshots from the newest and keeps one whenever its period (day, ISO week,
    month) differs from the period of the last one it kept, until its count is used up.
    """
    kept: set[datetime.date] = set()
    rules = (
        (daily, lambda d: d),
        (weekly, lambda d: d.isocalendar()[:2]),
        (monthly, lambda d: (d.year, d.month)),
    )
    for count, period in rules:
        last = None
        for day in sorted(days, reverse=True):
            if count == 0:
                break
            if period(day) != last:
                kept.add(day)
                last = period(day)
                count -= 1
    return kept


@pytest.fixture(scope="module")
def app_snapshot(root, address) -> dict:
    """bt-app backs up a directory with a known file over HTTPS with its own credentials."""
    content = f"Fen İşleri ihale dosyası {uuid.uuid4()}\n"
    root.run(f"mkdir -p {SOURCE}/belgeler")
    root.run(f"printf %s {shlex.quote(content)} > {SOURCE}/belgeler/ihale.txt")
    res = restic(root, "bt-app", address, f"backup {SOURCE} --host bt-app")
    assert res.rc == 0, res.stderr
    snap = next(s for s in snapshots(root, "bt-app", address) if s["paths"] == [SOURCE])
    return {"id": snap["id"], "sha256": hashlib.sha256(content.encode()).hexdigest()}


# --- the server -----------------------------------------------------------------------------------


def test_rest_server_runs_as_restic_append_only_and_private(root):
    service = root.service("belediye-backup-rest.service")
    assert service.is_running
    assert service.is_enabled
    cmdline = root.check_output("ps -o user=,args= -C rclone")
    assert cmdline.startswith("restic ")
    for flag in ("--append-only", "--private-repos", "--htpasswd", "--cert", "--min-tls-version tls1.2"):
        assert flag in cmdline


def test_secrets_are_for_root_and_restic_only_and_hold_no_plain_password(root):
    for name in ("htpasswd", "server.key", "target-key.password"):
        f = root.file(f"{ETC}/{name}")
        assert (f.user, f.group, f.mode) == ("root", "restic", 0o640), name
    htpasswd = root.file(f"{ETC}/htpasswd").content_string
    users = [line.split(":", 1)[0] for line in htpasswd.splitlines()]
    assert users == sorted(CLIENTS)
    assert all(line.split(":", 1)[1].startswith("$2b$05$") for line in htpasswd.splitlines())
    for client in CLIENTS:
        assert secret(f"{client}-http") not in htpasswd
    assert root.file(DATA).mode == 0o700
    # The state directory's parent stays the organisation's (root, 0755), not the service account's.
    parent = root.file("/var/lib/belediye")
    assert (parent.user, parent.group, parent.mode) == ("root", "root", 0o755)


def test_every_client_has_a_repository_made_by_the_target_with_its_own_key(root):
    for client in CLIENTS:
        config = root.file(f"{DATA}/{client}/config")
        assert config.exists
        assert config.user == "restic"
        keys = root.run(
            f"runuser -u restic -- restic --repo {DATA}/{client} --password-file {ETC}/target-key.password"
            " --no-cache --no-lock --json key list"
        )
        assert keys.rc == 0, keys.stderr
        listed = json.loads(keys.stdout)
        # The client's key (made at init) and the target's own.
        assert len(listed) == 2
        assert sorted(k["userName"] for k in listed)[0] == "belediye-backup-target"


def test_the_server_answers_on_the_lab_address_and_refuses_wrong_or_missing_credentials(root, address):
    wrong = "yanlis-parola-" + uuid.uuid4().hex
    assert http(root, address, "GET", "/bt-app/config", "bt-app", password=wrong)["status"] == 401
    assert http(root, address, "GET", "/bt-app/config")["status"] == 401


# --- append-only ------------------------------------------------------------------------------------


def test_a_client_adds_a_snapshot_with_its_credentials(app_snapshot, root, address):
    ids = [s["id"] for s in snapshots(root, "bt-app", address)]
    assert app_snapshot["id"] in ids
    assert root.file(f"{DATA}/bt-app/snapshots/{app_snapshot['id']}").user == "restic"


def test_a_client_cannot_delete_or_rewrite_its_repository(app_snapshot, root, address):
    sid = app_snapshot["id"]
    on_disk = root.check_output(f"sha256sum {DATA}/bt-app/snapshots/{sid}")
    # rclone 1.60 lists only in the REST protocol's version 2 ("Restic v2 API required" otherwise).
    keys, data, index = (
        [
            entry["name"]
            for entry in json.loads(http(root, address, "GET", f"/bt-app/{kind}/", "bt-app", v2=True)["body"])
        ]
        for kind in ("keys", "data", "index")
    )
    assert keys
    assert data
    assert index
    refused = {
        f"DELETE /bt-app/snapshots/{sid}": http(root, address, "DELETE", f"/bt-app/snapshots/{sid}", "bt-app"),
        f"DELETE /bt-app/keys/{keys[0]}": http(root, address, "DELETE", f"/bt-app/keys/{keys[0]}", "bt-app"),
        f"DELETE /bt-app/data/{data[0]}": http(root, address, "DELETE", f"/bt-app/data/{data[0]}", "bt-app"),
        f"DELETE /bt-app/index/{index[0]}": http(root, address, "DELETE", f"/bt-app/index/{index[0]}", "bt-app"),
        "DELETE /bt-app/config": http(root, address, "DELETE", "/bt-app/config", "bt-app"),
        f"POST /bt-app/snapshots/{sid} (overwrite)": http(
            root, address, "POST", f"/bt-app/snapshots/{sid}", "bt-app", body="bozuk"
        ),
        "POST /bt-app/config (overwrite)": http(root, address, "POST", "/bt-app/config", "bt-app", body="bozuk"),
    }
    assert {k: v["status"] for k, v in refused.items()} == {k: 403 for k in refused}
    assert root.check_output(f"sha256sum {DATA}/bt-app/snapshots/{sid}") == on_disk
    assert sid in [s["id"] for s in snapshots(root, "bt-app", address)]
    assert root.file(f"{DATA}/bt-app/data/{data[0][:2]}/{data[0]}").exists


def test_one_client_cannot_reach_another_clients_repository(app_snapshot, root, address):
    sid = app_snapshot["id"]
    tries = {
        "GET /bt-app/config": http(root, address, "GET", "/bt-app/config", "bt-log"),
        "GET /bt-app/snapshots/": http(root, address, "GET", "/bt-app/snapshots/", "bt-log"),
        f"GET /bt-app/snapshots/{sid}": http(root, address, "GET", f"/bt-app/snapshots/{sid}", "bt-log"),
        "POST /bt-app/snapshots/new": http(root, address, "POST", "/bt-app/snapshots/" + "0" * 64, "bt-log", body="x"),
        "GET / (all repositories)": http(root, address, "GET", "/", "bt-log"),
    }
    assert {k: v["status"] for k, v in tries.items()} == {k: 403 for k in tries}
    assert http(root, address, "GET", "/bt-log/config", "bt-log")["status"] == 200
    # restic itself, with bt-log's credentials pointed at bt-app's repository, gets nowhere.
    url = f"rest:https://bt-log:{secret('bt-log-http')}@{address}:{PORT}/bt-app/"
    res = root.run(
        f"env RESTIC_REPOSITORY={shlex.quote(url)} RESTIC_PASSWORD={shlex.quote(secret('bt-app-repo'))}"
        f" restic --cacert {CA} --no-cache snapshots"
    )
    assert res.rc != 0


# --- pruning ---------------------------------------------------------------------------------------


def test_prune_keeps_exactly_the_gfs_set_of_a_year_of_daily_snapshots(root):
    """A year of daily snapshots of bt-year, which sets no retention: the defaults (7 daily,
    4 weekly, 12 monthly) apply.

    The snapshots are made on the target itself, as the service account, straight into bt-year's
    repository with bt-year's own repository key and `restic backup --time`: they are the same
    snapshots a client would make over HTTPS, without 365 TLS sessions (the client's way in is
    tested above and in backup_client).
    """
    days = [datetime.date(2025, 1, 1) + datetime.timedelta(days=n) for n in range(365)]
    root.run(f"mkdir -p {SOURCE}-yil && date > {SOURCE}-yil/gunluk.txt && chmod -R a+rX {SOURCE}-yil")
    times = "\n".join(f"{d.isoformat()} 12:00:00" for d in days)
    root.run(f"printf '%s\\n' {shlex.quote(times)} > /root/mol-days.txt")
    root.run(f"umask 077 && printf %s {shlex.quote(secret('bt-year-repo'))} > {YEAR_PW} && chown restic {YEAR_PW}")
    # Each restic process derives its key with scrypt, which is slow by design: --key-hint names
    # bt-year's own key so that only that one is tried, and --force skips the search for a parent
    # snapshot among the ones made so far. Three at a time: a backup takes a shared lock.
    keys = root.run(
        f"runuser -u restic -- restic --repo {DATA}/bt-year --password-file {YEAR_PW}"
        " --no-cache --no-lock --json key list"
    )
    assert keys.rc == 0, keys.stderr
    [own] = [k["id"] for k in json.loads(keys.stdout) if k["current"]]
    res = root.run(
        f"xargs -P 3 -I @@ -d '\\n' runuser -u restic -- restic --repo {DATA}/bt-year --password-file {YEAR_PW}"
        f" --key-hint {own} --no-cache -q backup --force {SOURCE}-yil --host bt-year --time @@ < /root/mol-days.txt"
    )
    root.run(f"rm -f {YEAR_PW}")
    assert res.rc == 0, res.stderr[-2000:]
    assert len(snapshots_on_target(root, "bt-year")) == 365

    res = root.run("systemctl start belediye-backup-prune.service")
    assert res.rc == 0, root.run("journalctl -u belediye-backup-prune.service -n 30 --no-pager").stdout

    kept = sorted(datetime.date.fromisoformat(s["time"][:10]) for s in snapshots_on_target(root, "bt-year"))
    assert kept == sorted(gfs(days, daily=7, weekly=4, monthly=12))
    # Worked out by hand for 2025: the last day of January to November monthly (December's is
    # already kept); the Sundays 14 and 21 December weekly (28 and 31 December already are);
    # 25 to 31 December daily.
    assert [d.isoformat() for d in kept] == [
        "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30", "2025-07-31",
        "2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30", "2025-12-14", "2025-12-21", "2025-12-25",
        "2025-12-26", "2025-12-27", "2025-12-28", "2025-12-29", "2025-12-30", "2025-12-31",
    ]  # fmt: skip

    status = json.loads(root.file(f"{STATE}/prune-status.json").content_string)
    assert status["result"] == "ok"
    year = next(r for r in status["repositories"] if r["repository"] == "bt-year")
    assert (year["result"], year["kept"], year["removed"]) == ("ok", 20, 345)
    assert {r["repository"] for r in status["repositories"]} == set(CLIENTS)


def test_a_locked_repository_fails_the_prune_loudly_and_the_others_are_still_pruned(root, address, app_snapshot):
    """A backup in progress holds a lock; pruning that repository fails, is recorded and raises the alarm."""
    # The backup reads its input from a sleep that the test ends once the prune has run, so the
    # lock is held for exactly as long as the test needs it.
    root.run(
        f"setsid sh -c 'sleep 3599 | env {restic_env('bt-app', address)} restic --cacert {CA} --no-cache -q"
        " backup --stdin --stdin-filename akis.txt --host bt-app' > /root/mol-locked.log 2>&1 < /dev/null &"
    )
    deadline = time.monotonic() + 60
    while not root.run(f"ls {DATA}/bt-app/locks").stdout.strip():
        assert time.monotonic() < deadline, "the backup never took its lock"
        time.sleep(1)
    try:
        started = root.check_output("date '+%Y-%m-%d %H:%M:%S'")
        res = root.run("systemctl start belediye-backup-prune.service")
        assert res.rc != 0
        status = json.loads(root.file(f"{STATE}/prune-status.json").content_string)
        assert status["result"] == "failed"
        assert status["failed"] == ["bt-app"]
        by_name = {r["repository"]: r for r in status["repositories"]}
        assert "repository is already locked" in by_name["bt-app"]["error"]
        assert by_name["bt-year"]["result"] == "ok"
        alarm = ""
        deadline = time.monotonic() + 30
        while "ALARM" not in alarm and time.monotonic() < deadline:
            time.sleep(1)
            alarm = root.run(f"journalctl -t belediye-backup-target -p crit --since '{started}' --no-pager").stdout
        assert "ALARM: belediye-backup-prune.service failed" in alarm
    finally:
        # The backup ends and lets go of its lock before the tape is written.
        root.run("pkill -x -f 'sleep 3599'")
    deadline = time.monotonic() + 60
    while root.run(f"ls {DATA}/bt-app/locks").stdout.strip():
        assert time.monotonic() < deadline, "the backup never let go of its lock"
        time.sleep(2)


# --- tape ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tape(root, app_snapshot) -> dict:
    """The weekly tape, written now by its service; its catalogue line."""
    res = root.run("systemctl start belediye-backup-tape.service")
    assert res.rc == 0, root.run("journalctl -u belediye-backup-tape.service -n 30 --no-pager").stdout
    lines = root.file(f"{STATE}/tape-catalogue.jsonl").content_string.splitlines()
    return json.loads(lines[-1])


def test_the_tape_starts_with_its_label_and_is_verified_and_catalogued(root, tape, app_snapshot):
    assert tape["verify"] == "ok"
    assert tape["verify_errors"] == []
    assert tape["label"].startswith("MOL-")
    assert set(tape["repositories"]) == set(CLIENTS)
    assert app_snapshot["id"] in tape["repositories"]["bt-app"]["snapshots"]
    on_disk = root.check_output(f"ls {DATA}/bt-year/snapshots").split()
    assert sorted(tape["repositories"]["bt-year"]["snapshots"]) == sorted(on_disk)
    first = root.check_output(f"tar -tf {TAPE} | head -n 1")
    assert first == "TAPE-LABEL.json"
    assert root.file(TAPE).size % 65536 == 0
    status = json.loads(root.file(f"{STATE}/tape-status.json").content_string)
    assert status["result"] == "ok"
    assert status["tape"]["label"] == tape["label"]
    # On root's PATH, as operators call it.
    label = json.loads(root.check_output("backup-target-tape label"))
    assert label["label"] == tape["label"]


def test_a_tampered_tape_fails_verification(root, tape):
    # A copy of the tape with one byte of a data file's content changed (not a tar header).
    script = r"""
import json, shutil, sys, tarfile
src, dst = sys.argv[1:]
shutil.copyfile(src, dst)
with tarfile.open(src) as tar:
    member = next(m for m in tar if m.name.startswith("bt-app/data/") and m.size > 0)
with open(dst, "r+b") as f:
    f.seek(member.offset_data)
    byte = f.read(1)
    f.seek(member.offset_data)
    f.write(bytes([byte[0] ^ 0xFF]))
print(member.name)
"""
    bad = "/srv/backup/tape/tampered.img"
    name = root.check_output(f"python3 -c {shlex.quote(script)} {TAPE} {bad}")
    config = json.loads(root.file(f"{ETC}/tape.json").content_string)
    config["device"] = bad
    root.run(f"printf %s {shlex.quote(json.dumps(config))} > /root/mol-tampered.json")
    res = root.run(f"{TAPE_TOOL} --config /root/mol-tampered.json verify")
    root.run(f"rm -f {bad}")
    assert res.rc == 1
    assert f"{name} does not match its label" in res.stdout


def test_one_file_is_restored_from_the_tape(root, tape, app_snapshot):
    root.run(f"rm -rf {SCRATCH} {RESTORED}")
    res = root.run(
        f"{TAPE_TOOL} restore --repo bt-app --dest {SCRATCH}"
        f" --snapshot {app_snapshot['id']} --file {SOURCE}/belgeler/ihale.txt --target {RESTORED}"
    )
    assert res.rc == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert report["ok"]
    assert report["label"] == tape["label"]
    restored = root.file(f"{RESTORED}{SOURCE}/belgeler/ihale.txt")
    assert restored.exists
    assert root.check_output(f"sha256sum {restored.path}").split()[0] == app_snapshot["sha256"]
    # Only the asked file came back, from the repository that came off the tape.
    assert root.check_output(f"find {RESTORED} -type f | wc -l") == "1"
    assert root.file(f"{SCRATCH}/bt-app/config").exists
