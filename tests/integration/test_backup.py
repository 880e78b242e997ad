"""Backups across the lab: app01 and log01 back up to backup01 (roles/backup_client,
roles/backup_target) over HTTPS on the lab bridge, with the lab PKI and the vault's passwords.

What only the estate shows, once: a real client and a real target on different hosts; a file
deleted on app01 comes back from backup01 with its checksum; app01's own credentials cannot delete
its history; log01 cannot reach app01's repository; the target prunes with its own key; the weekly
tape holds app01's snapshot and one file is restored from it; with the target down a run fails
loudly, loses nothing and the next one catches up; the restore-verification playbook collects the
evidence of every client. The single-host details (dumps, row counts, a corrupted dump, the
simulated year of GFS pruning) are the molecule scenarios'.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
import uuid

import pytest

from .conftest import BIN, ROOT

CLIENT_TOOL = "/usr/local/lib/belediye/belediye-backup"
TAPE_TOOL = "/usr/local/lib/belediye/backup-target-tape"
PRUNE_TOOL = "/usr/local/lib/belediye/backup-target-prune"
STATUS = "/var/lib/belediye/backup/status.json"


def run(host, command: str, ok: bool = True):
    res = host.run(command)
    if ok:
        assert res.rc == 0, f"{command}: rc={res.rc}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
    return res


def backup_now(host, ok: bool = True):
    """One run of the client's backup service, as its timer would start it."""
    return run(host, "systemctl start belediye-backup.service", ok=ok)


def snapshots(host) -> list[dict]:
    return json.loads(run(host, f"{CLIENT_TOOL} restic snapshots --json").stdout)


def sha256(host, path: str) -> str:
    return run(host, f"sha256sum {shlex.quote(path)}").stdout.split()[0]


@pytest.fixture(scope="module")
def app01(lab_hosts):
    return lab_hosts["app01"]


@pytest.fixture(scope="module")
def backup01(lab_hosts):
    return lab_hosts["backup01"]


@pytest.fixture(scope="module")
def document(app01):
    """A citizen application's scan under /srv on app01, backed up once."""
    tag = uuid.uuid4().hex[:10]
    path = f"/srv/belgeler/basvuru-{tag}.pdf"
    run(app01, f"mkdir -p /srv/belgeler && head -c 300000 /dev/urandom > {path}")
    digest = sha256(app01, path)
    backup_now(app01)
    yield {"path": path, "sha256": digest, "tag": tag}
    app01.run(f"rm -f {path}")


def test_every_client_backs_up_to_the_target_over_tls(lab_hosts):
    for name in ("app01", "log01"):
        host = lab_hosts[name]
        backup_now(host)
        status = json.loads(run(host, f"cat {STATUS}").stdout)
        assert status["last_success"], (name, status)
        assert snapshots(host), name


def test_a_deleted_file_comes_back_from_the_target_with_its_checksum(app01, document):
    run(app01, f"rm {document['path']}")
    run(app01, f"{CLIENT_TOOL} restic restore latest --target / --include {document['path']}")
    assert sha256(app01, document["path"]) == document["sha256"]


# app01 asks the target, with its own HTTP credentials from its root-only file, to delete one of its
# snapshots: the REST protocol's DELETE, which `restic forget` would send (and then retry for most
# of a minute; the backup_client scenario runs restic itself). Prints the HTTP status.
DELETE_SNAPSHOT = r"""
import base64, json, ssl, sys, urllib.error, urllib.request
url = json.load(open("/etc/belediye/backup-client.json"))["repository_url"].rstrip("/")
password = open("/etc/belediye-backup/http.password").read().strip()
token = base64.b64encode(f"app01:{password}".encode()).decode()
request = urllib.request.Request(f"{url}/snapshots/{sys.argv[1]}", method="DELETE",
                                 headers={"Authorization": "Basic " + token})
context = ssl.create_default_context(cafile="/etc/belediye-backup/target-ca.crt")
try:
    print(urllib.request.urlopen(request, context=context, timeout=30).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
"""


def test_the_client_cannot_delete_its_history(app01, document):
    before = [s["id"] for s in snapshots(app01)]
    status = run(app01, f"python3 -c {shlex.quote(DELETE_SNAPSHOT)} {before[-1]}").stdout.strip()
    assert status == "403", f"DELETE of snapshot {before[-1][:8]} with app01's credentials: HTTP {status}"
    assert [s["id"] for s in snapshots(app01)] == before


def test_one_client_cannot_reach_another_clients_repository(lab_hosts, document):
    """log01's own credentials, pointed at app01's path on the target, get 403 (--private-repos).
    The HTTP password only ever sits in restic's environment, read from log01's root-only file."""
    script = r"""
set -eu
url=$(python3 -c 'import json; print(json.load(open("/etc/belediye/backup-client.json"))["repository_url"])')
pw=$(cat /etc/belediye-backup/http.password)
export RESTIC_PASSWORD_FILE=/etc/belediye-backup/repository.password
export RESTIC_REPOSITORY="rest:https://log01:${pw}@${url#https://}"
RESTIC_REPOSITORY="${RESTIC_REPOSITORY%/log01/}/app01/"
restic --cacert /etc/belediye-backup/target-ca.crt --no-lock snapshots --json
"""
    res = lab_hosts["log01"].run(f"bash -c {shlex.quote(script)}")
    assert res.rc != 0, "log01 could list app01's snapshots"
    assert "403" in res.stderr or "Forbidden" in res.stderr, res.stderr[-1500:]


def test_the_target_prunes_with_its_own_key(backup01, document):
    run(backup01, "systemctl start belediye-backup-prune.service")
    status = json.loads(run(backup01, "cat /var/lib/belediye/backup-target/prune-status.json").stdout)
    assert status["result"] == "ok", status
    repos = {r["repository"]: r for r in status["repositories"]}
    assert {"app01", "log01"} <= set(repos), status
    assert all(r["kept"] >= 1 for r in repos.values()), status


def test_the_weekly_tape_holds_the_clients_snapshot_and_gives_back_one_file(app01, backup01, document):
    latest = snapshots(app01)[-1]["id"]
    run(backup01, "systemctl start belediye-backup-tape.service")
    label = json.loads(run(backup01, f"{TAPE_TOOL} label").stdout)
    assert latest in json.dumps(label), "app01's newest snapshot is not on the tape"
    run(backup01, f"{TAPE_TOOL} verify")
    scratch = f"/root/itest-tape-{document['tag']}"
    run(
        backup01,
        f"{TAPE_TOOL} restore --repo app01 --dest {scratch}/repo --file {document['path']} --target {scratch}/out",
    )
    assert sha256(backup01, f"{scratch}/out{document['path']}") == document["sha256"]
    backup01.run(f"rm -rf {scratch}")


def test_with_the_target_down_a_run_fails_loudly_and_the_next_catches_up(app01, backup01, document):
    marker = f"/srv/belgeler/kesinti-{document['tag']}.txt"
    run(app01, f"echo 'kesinti sırasında yazıldı' > {marker}")
    run(backup01, "systemctl stop belediye-backup-rest.service")
    try:
        res = backup_now(app01, ok=False)
        assert res.rc != 0, "the backup claimed success with the target down"
        status = json.loads(run(app01, f"cat {STATUS}").stdout)
        assert status["last_attempt"]["result"] == "failure", status
        assert status["consecutive_failures"] >= 1, status
        assert app01.file(marker).exists, "the failed run touched the client's data"
    finally:
        run(backup01, "systemctl start belediye-backup-rest.service")
    deadline = time.monotonic() + 30
    while backup01.run("ss -ltn | grep -q ':8000 '").rc != 0 and time.monotonic() < deadline:
        time.sleep(1)
    backup_now(app01)
    listing = run(app01, f"{CLIENT_TOOL} restic ls latest {marker}").stdout
    assert marker in listing
    app01.run(f"rm -f {marker}")


def test_the_restore_verification_playbook_collects_evidence_of_every_client(document, tmp_path):
    res = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/backup-verify.yml",
         "-e", f"backup_verify_out={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-4000:]
    evidence = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "hosts").glob("*.json")}
    assert set(evidence) == {"app01", "log01"}, sorted(evidence)
    for name, data in evidence.items():
        assert data["result"] == "pass", (name, data)
