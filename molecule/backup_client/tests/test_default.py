"""Behaviour of role backup_client on bc-client, with the backup target simulated on the instance
itself (mol-backup-target.service: rclone serve restic --append-only --private-repos on 127.0.0.1:8000,
see prepare.yml), PostgreSQL 15 and MariaDB 10.11.

The tests run in file order and build on each other: a backup, a restore of a deleted file and of
dropped databases, a backup with the target down and again once it is back, the restore
verification passing, then failing on a corrupted dump. Every command runs as root (sudo).
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

import pytest

TOOL = "/usr/local/lib/belediye/belediye-backup"
STATE = "/var/lib/belediye/backup"
DUMPS = "/var/backups/belediye/db"
DOC = "/srv/belgeler/imar/plan.txt"
TARGET_UNIT = "mol-backup-target.service"
SECRETS = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "secrets"


def secret(name: str) -> str:
    """A password that molecule.yml's password lookup made in the ephemeral directory (first word)."""
    return (SECRETS / name).read_text(encoding="utf-8").split()[0]


def run(host, command: str, ok: bool = True):
    res = host.run(command)
    if ok:
        assert res.rc == 0, f"{command}: rc {res.rc}\n{res.stdout}\n{res.stderr}"
    return res


def read_json(host, path: str):
    return json.loads(run(host, f"cat {path}").stdout)


def sha256(host, path: str) -> str:
    return run(host, f"sha256sum {shlex.quote(path)}").stdout.split()[0]


def snapshots(host) -> list[dict]:
    return json.loads(run(host, f"{TOOL} restic snapshots --json --host bc-client").stdout)


def pg(host, database: str, sql: str) -> str:
    return run(host, f"runuser -u postgres -- psql -X -At -d {database} -c {shlex.quote(sql)}").stdout.strip()


def my(host, sql: str) -> str:
    return run(host, f"mariadb --batch --skip-column-names -e {shlex.quote(sql)}").stdout.strip()


def start(host, unit: str):
    """Start a oneshot unit and wait for it, as its timer would; returns the result of systemctl."""
    return host.run(f"systemctl start {unit}")


def journal_since(host, unit: str, since: str, priority: str) -> str:
    return run(
        host, f"journalctl --no-pager -q -u {shlex.quote(unit)} -p {priority} --since '{since}'", ok=False
    ).stdout


def now(host) -> str:
    return run(host, "date '+%Y-%m-%d %H:%M:%S'").stdout.strip()


# --- configuration ----------------------------------------------------------------------------


def test_secrets_are_root_only_and_nowhere_else(host):
    d = host.file("/etc/belediye-backup")
    assert (d.user, d.group, d.mode) == ("root", "root", 0o700)
    for name in ("repository.password", "http.password"):
        f = host.file(f"/etc/belediye-backup/{name}")
        assert (f.user, f.group, f.mode) == ("root", "root", 0o600), name
    passwords = [secret("http"), secret("repository")]
    assert run(host, "cat /etc/belediye-backup/http.password").stdout.strip() == passwords[0]
    public = run(host, "cat /etc/belediye/backup-client.json /etc/systemd/system/belediye-backup*").stdout
    assert "127.0.0.1:8000/bc-client/" in public
    for pw in passwords:
        assert pw not in public


def test_timers_are_enabled(host):
    for timer in ("belediye-backup.timer", "belediye-backup-check.timer", "belediye-backup-verify.timer"):
        t = host.service(timer)
        assert t.is_enabled, timer
        assert t.is_running, timer
    cal = run(host, "systemctl show belediye-backup.timer -p TimersCalendar").stdout
    assert "01:30:00" in cal


# --- a backup -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_backup(host):
    since = now(host)
    res = start(host, "belediye-backup.service")
    return {"res": res, "since": since}


def test_a_backup_runs_and_records_its_status(host, first_backup):
    assert first_backup["res"].rc == 0, journal_since(host, "belediye-backup.service", first_backup["since"], "debug")
    status = read_json(host, f"{STATE}/status.json")
    assert status["last_attempt"]["result"] == "success"
    assert status["last_success"] == status["last_attempt"]["end"]
    snaps = snapshots(host)
    # restic 0.14's backup summary names the snapshot by its short id
    assert status["last_snapshot_id"] in [s["short_id"] for s in snaps]
    assert {"/etc", "/srv/belgeler", DUMPS} <= set(snaps[-1]["paths"])
    log = journal_since(host, "belediye-backup.service", first_backup["since"], "debug")
    assert "backup of bc-client done" in log
    for pw in (secret("http"), secret("repository")):
        assert pw not in log


def test_the_dumps_have_a_manifest_of_row_counts(host, first_backup):
    manifest = read_json(host, f"{DUMPS}/manifest.json")
    by_db = {(d["engine"], d["database"]): d for d in manifest["dumps"]}
    assert by_db[("postgresql", "belediye_test")]["tables"]["public.vatandas"] == {"rows": 120, "rows_before": 120}
    assert by_db[("postgresql", "belediye_test")]["tables"]["arsiv.Eski Kayıt"]["rows"] == 37
    assert by_db[("mariadb", "ruhsat")]["tables"] == {
        "izin": {"rows": 55, "rows_before": 55},
        "iş yeri": {"rows": 9, "rows_before": 9},
    }
    assert ("postgresql", None) in by_db  # roles (pg_dumpall --globals-only)
    assert host.file(DUMPS).mode == 0o700
    assert host.file(f"{DUMPS}/postgresql/belediye_test.dump").mode == 0o600


def test_the_excluded_folder_is_not_in_the_backup(host, first_backup):
    listing = run(host, f"{TOOL} restic ls latest --host bc-client /srv/belgeler").stdout
    assert "/srv/belgeler/karar-2026-001.txt" in listing
    assert "/srv/belgeler/gecici" not in listing


def test_the_client_cannot_delete_its_snapshots(host, first_backup):
    snap = snapshots(host)[-1]["id"]
    res = run(host, f"timeout 300 {TOOL} restic forget {snap}", ok=False)
    assert res.rc != 124, "restic forget hung"
    assert snap in [s["id"] for s in snapshots(host)], f"forget exited {res.rc}: {res.stdout} {res.stderr}"


# --- restore -----------------------------------------------------------------------------------


def test_a_deleted_file_is_restored_with_its_checksum(host, first_backup):
    before = sha256(host, DOC)
    run(host, f"rm {shlex.quote(DOC)}")
    # By the name on root's PATH, as docs/backup.md tells operators to restore.
    run(host, f"belediye-backup restic restore latest --host bc-client --target / --include {shlex.quote(DOC)}")
    assert sha256(host, DOC) == before


def test_a_dropped_postgresql_database_is_restored_with_its_row_counts(host, first_backup):
    manifest = read_json(host, f"{DUMPS}/manifest.json")
    tables = next(d for d in manifest["dumps"] if d["database"] == "belediye_test")["tables"]
    pg(host, "postgres", "DROP DATABASE belediye_test")
    run(host, "rm -rf /root/mol-restore && mkdir -m 0700 /root/mol-restore")
    run(host, f"{TOOL} restic restore latest --host bc-client --target /root/mol-restore --include {DUMPS}")
    run(host, "runuser -u postgres -- createdb belediye_test")
    dump = f"/root/mol-restore{DUMPS}/postgresql/belediye_test.dump"
    run(host, f"runuser -u postgres -- pg_restore -d belediye_test < {dump}")
    assert int(pg(host, "belediye_test", "SELECT count(*) FROM vatandas")) == tables["public.vatandas"]["rows"]
    assert (
        int(pg(host, "belediye_test", 'SELECT count(*) FROM arsiv."Eski Kayıt"')) == tables["arsiv.Eski Kayıt"]["rows"]
    )


def test_a_dropped_mariadb_database_is_restored_with_its_row_counts(host, first_backup):
    manifest = read_json(host, f"{DUMPS}/manifest.json")
    tables = next(d for d in manifest["dumps"] if d["database"] == "ruhsat")["tables"]
    my(host, "DROP DATABASE ruhsat")
    run(host, f"test -s /root/mol-restore{DUMPS}/mariadb/ruhsat.sql")
    my(host, "CREATE DATABASE ruhsat CHARACTER SET utf8mb4")
    run(host, f"mariadb ruhsat < /root/mol-restore{DUMPS}/mariadb/ruhsat.sql")
    assert int(my(host, "SELECT COUNT(*) FROM ruhsat.izin")) == tables["izin"]["rows"]
    assert int(my(host, "SELECT COUNT(*) FROM ruhsat.`iş yeri`")) == tables["iş yeri"]["rows"]
    run(host, "rm -rf /root/mol-restore")


# --- the target is down ---------------------------------------------------------------------------


def test_with_the_target_down_the_backup_fails_loudly_loses_nothing_and_recovers(host, first_backup):
    files_before = run(host, f"find /srv/belgeler {DUMPS} -type f -print0 | sort -z | xargs -0 sha256sum").stdout
    status_before = read_json(host, f"{STATE}/status.json")
    count_before = len(snapshots(host))
    run(host, f"systemctl stop {TARGET_UNIT}")
    try:
        since = now(host)
        t0 = time.monotonic()
        res = start(host, "belediye-backup.service")
        took = time.monotonic() - t0
        assert res.rc != 0
        assert took < 120, f"the failed run took {took:.0f} s"
        assert run(host, "systemctl is-failed belediye-backup.service", ok=False).stdout.strip() == "failed"
        errors = journal_since(host, "belediye-backup.service", since, "err")
        assert (
            "belediye-backup: FAILED: backup of bc-client failed: backup target 127.0.0.1:8000 is unreachable" in errors
        )
        time.sleep(2)
        alarm = journal_since(host, "belediye-backup-alarm@belediye-backup.service.service", since, "crit")
        assert "backup ALARM on bc-client: belediye-backup.service failed" in alarm
        status = read_json(host, f"{STATE}/status.json")
        assert status["last_attempt"]["result"] == "failure"
        assert status["last_success"] == status_before["last_success"]
        assert status["consecutive_failures"] == 1
        # Nothing on the client was lost or changed (the dumps were made again, with the same data).
        files_after = run(host, f"find /srv/belgeler {DUMPS} -type f -print0 | sort -z | xargs -0 sha256sum").stdout
        names = lambda listing: sorted(line.split(None, 1)[1] for line in listing.splitlines())  # noqa: E731
        assert names(files_after) == names(files_before)
        assert [x for x in files_after.splitlines() if "/srv/belgeler" in x] == [
            x for x in files_before.splitlines() if "/srv/belgeler" in x
        ]
    finally:
        run(host, f"systemctl start {TARGET_UNIT}")
    run(host, "timeout 30 bash -c 'until (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; do sleep 1; done'")
    res = start(host, "belediye-backup.service")
    assert res.rc == 0, res.stderr
    status = read_json(host, f"{STATE}/status.json")
    assert (status["last_attempt"]["result"], status["consecutive_failures"]) == ("success", 0)
    assert len(snapshots(host)) == count_before + 1


def test_the_missed_backup_check_passes_now_and_alarms_on_an_old_backup(host, first_backup):
    assert start(host, "belediye-backup-check.service").rc == 0
    path = f"{STATE}/status.json"
    run(host, f"cp -p {path} {path}.mol")
    try:
        status = read_json(host, path)
        status["last_success"] = "2020-01-01T00:00:00Z"
        run(host, f"printf '%s' {shlex.quote(json.dumps(status))} > {path}")
        since = now(host)
        assert start(host, "belediye-backup-check.service").rc != 0
        err = journal_since(host, "belediye-backup-check.service", since, "err")
        assert "missed backup on bc-client: last successful backup 2020-01-01T00:00:00Z is" in err
    finally:
        run(host, f"mv {path}.mol {path}")
        run(host, "systemctl reset-failed belediye-backup-check.service", ok=False)


# --- restore verification ---------------------------------------------------------------------------


def test_the_restore_verification_passes_and_writes_evidence(host, first_backup):
    since = now(host)
    res = start(host, "belediye-backup-verify.service")
    assert res.rc == 0, journal_since(host, "belediye-backup-verify.service", since, "debug")
    ev = read_json(host, f"{STATE}/verify/latest.json")
    assert ev["result"] == "pass", ev["problems"]
    assert ev["control"].startswith("ISO/IEC 27001:2022 A.8.13")
    assert ev["host"] == "bc-client"
    assert ev["files"]["sampled"] == 5
    assert ev["files"]["matched"] == 5
    dbs = {(d["engine"], d["database"]): d for d in ev["databases"]}
    assert dbs[("postgresql", "belediye_test")]["result"] == "match"
    assert dbs[("postgresql", "belediye_test")]["rows"] == 157
    assert dbs[("mariadb", "ruhsat")]["rows"] == 64
    assert all(d.get("scratch_dropped", True) for d in ev["databases"])
    assert "_verify" not in pg(host, "postgres", "SELECT string_agg(datname, ',') FROM pg_database")
    assert "_verify" not in my(host, "SHOW DATABASES")
    assert run(host, "ls -A /var/tmp/belediye-backup-verify").stdout.strip() == ""
    evidence = host.file(f"{STATE}/verify")
    assert (evidence.user, evidence.group, evidence.mode) == ("root", "adm", 0o750)
    dated = run(host, f"ls {STATE}/verify").stdout.split()
    assert len([n for n in dated if n != "latest.json"]) >= 1


def test_the_restore_verification_fails_loudly_on_a_corrupted_dump(host, first_backup):
    dump = f"{DUMPS}/mariadb/ruhsat.sql"
    run(host, f"cp -p {dump} {dump}.mol && printf 'bozuk veri\\n' >> {dump}")
    try:
        # A snapshot whose dump no longer matches its manifest, as bit rot or tampering would leave it.
        run(host, f"{TOOL} restic backup --host bc-client --tag belediye-backup /etc /srv/belgeler {DUMPS}")
        since = now(host)
        assert start(host, "belediye-backup-verify.service").rc != 0
        ev = read_json(host, f"{STATE}/verify/latest.json")
        assert ev["result"] == "fail"
        assert "mariadb database ruhsat: the dump's sha256 differs from the manifest (corrupted)" in ev["problems"]
        err = journal_since(host, "belediye-backup-verify.service", since, "err")
        assert "FAILED: restore verification of bc-client failed" in err
        time.sleep(2)
        alarm = journal_since(host, "belediye-backup-alarm@belediye-backup-verify.service.service", since, "crit")
        assert "backup ALARM on bc-client: belediye-backup-verify.service failed" in alarm
    finally:
        run(host, f"mv {dump}.mol {dump}")
        run(host, "systemctl reset-failed belediye-backup-verify.service", ok=False)
    # The next regular backup is healthy again.
    assert start(host, "belediye-backup.service").rc == 0
    assert start(host, "belediye-backup-verify.service").rc == 0
