"""Behaviour of the file server (fs-mol) joined to the scenario's domain.

The clients are smbclient on the first DC (dc-mol), as the directorates' users with the passwords
they set at their first log-on (tests/scenario.py: directory_accounts made the accounts with "must
change at first logon"). The access review is the real playbooks/share-access-report.yml, run
against the scenario's inventory; its JSON is compared with getfacl on the server, then an ACL entry
added by hand must be flagged, and a converge of the file server must take it away. The tests run
in file order.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import uuid
from pathlib import Path

import pytest
from scenario import EPHEMERAL, SCENARIO, WORKGROUP, own_password

testinfra_hosts = ["ansible://fs-mol"]

ROOT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
WG = WORKGROUP
FEN = "/srv/paylasim/fen-isleri"
ZABITA = "/srv/paylasim/zabita"
ARSIV = "/srv/paylasim/zabita-arsiv"


@pytest.fixture(scope="module")
def fs_address(root) -> str:
    return root.check_output("hostname -I").split()[0]


def smb(dc, address: str, user: str, share: str, command: str):
    """smbclient on the DC as a domain user; the password reaches it in the environment."""
    return dc.run(
        f"PASSWD={shlex.quote(own_password(dc, user))} smbclient //{address}/{share} "
        f"-U {shlex.quote(WG + chr(92) + user)} -c {shlex.quote(command)}"
    )


def report(tmp_name: str, *extra: str) -> tuple[subprocess.CompletedProcess, dict | None, Path]:
    """Run playbooks/share-access-report.yml against the scenario's inventory."""
    out = EPHEMERAL / tmp_name
    env = dict(os.environ)
    cfg = EPHEMERAL / "ansible.cfg"
    if cfg.exists():
        env["ANSIBLE_CONFIG"] = str(cfg)
    res = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            str(ROOT / "playbooks" / "share-access-report.yml"),
            "-e",
            f"share_access_report_dir={out}",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    path = out / "access-review.json"
    data = json.loads(path.read_text()) if path.exists() else None
    return res, data, out


def share(review: dict, name: str) -> dict:
    (host,) = review["hosts"]
    return next(s for s in host["shares"] if s["share"] == name)


# --- the domain -----------------------------------------------------------------------------------


def test_the_server_is_joined_and_sees_the_domains_users(root):
    assert root.run("net ads testjoin").rc == 0
    users = root.check_output("wbinfo -u").splitlines()
    assert f"{WG}\\ayse.yilmaz" in users
    assert f"{WG}\\mehmet.kaya" in users
    assert root.check_output("getent passwd 'MOLBEL\\ayse.yilmaz'").startswith("MOLBEL\\ayse.yilmaz:")


def test_smbd_and_winbind_run(root):
    for name in ("smbd", "winbind"):
        assert root.service(name).is_running
        assert root.service(name).is_enabled


def test_share_folders_are_roots_and_closed_to_others(root):
    for path in (FEN, ZABITA, ARSIV):
        f = root.file(path)
        assert f.user == "root"
        assert f.group == "root"
        assert f.mode == 0o770
        assert "other::---" in root.check_output(f"getfacl -p {path}")


# --- access over SMB ------------------------------------------------------------------------------


def test_a_user_writes_to_her_directorates_share(dc, root, fs_address):
    name = f"mol-{uuid.uuid4().hex[:8]}.txt"
    dc.run_expect([0], f"echo 'fen isleri' > /tmp/{name}")
    res = smb(dc, fs_address, "ayse.yilmaz", "fen-isleri", f"lcd /tmp; put {name}; ls")
    assert res.rc == 0, res.stdout + res.stderr
    assert name in res.stdout
    assert root.file(f"{FEN}/{name}").user == f"{WG}\\ayse.yilmaz"


def test_a_user_cannot_reach_another_directorates_share(dc, root, fs_address):
    res = smb(dc, fs_address, "ayse.yilmaz", "zabita", "ls")
    assert res.rc != 0
    assert "NT_STATUS_ACCESS_DENIED" in res.stdout + res.stderr
    # Not even the folder, should Samba's lists be wrong: the POSIX ACL closes it too.
    assert root.run(f"sudo -u 'MOLBEL\\ayse.yilmaz' ls {ZABITA}").rc != 0
    assert root.run(f"sudo -u 'MOLBEL\\ayse.yilmaz' cat {ZABITA}/anything").rc != 0


def test_the_share_list_shows_a_user_only_her_shares(dc, fs_address):
    password = own_password(dc, "ayse.yilmaz")
    res = dc.run(f"PASSWD={shlex.quote(password)} smbclient -L //{fs_address} -U 'MOLBEL\\ayse.yilmaz' -g")
    assert res.rc == 0, res.stderr
    listed = {line.split("|")[1] for line in res.stdout.splitlines() if line.startswith("Disk|")}
    assert listed == {"fen-isleri", "zabita-arsiv"}


def test_the_other_directorate_writes_to_its_share_and_not_to_the_first(dc, fs_address):
    dc.run_expect([0], "echo zabita > /tmp/mol-zabita.txt")
    assert smb(dc, fs_address, "mehmet.kaya", "zabita", "lcd /tmp; put mol-zabita.txt").rc == 0
    res = smb(dc, fs_address, "mehmet.kaya", "fen-isleri", "ls")
    assert res.rc != 0
    assert "NT_STATUS_ACCESS_DENIED" in res.stdout + res.stderr


def test_a_read_right_reads_but_does_not_write(dc, fs_address):
    dc.run_expect([0], "echo arsiv > /tmp/mol-arsiv.txt")
    assert smb(dc, fs_address, "mehmet.kaya", "zabita-arsiv", "lcd /tmp; put mol-arsiv.txt").rc == 0
    got = smb(dc, fs_address, "ayse.yilmaz", "zabita-arsiv", "lcd /var/tmp; get mol-arsiv.txt")
    assert got.rc == 0, got.stdout + got.stderr
    assert dc.file("/var/tmp/mol-arsiv.txt").content_string == "arsiv\n"  # noqa: S108 - on the DC instance
    put = smb(dc, fs_address, "ayse.yilmaz", "zabita-arsiv", "lcd /tmp; put mol-arsiv.txt ayse.txt")
    assert put.rc != 0
    assert "NT_STATUS_ACCESS_DENIED" in put.stdout + put.stderr


# --- the access review ----------------------------------------------------------------------------


def live_groups(root, path: str) -> set[str]:
    """Named groups of the folder's access ACL, as getfacl prints them (escaped backslash undone)."""
    out = root.check_output(f"getfacl -p {path}")
    return {
        line.split(":")[1].replace("\\\\", "\\").split("\\", 1)[1]
        for line in out.splitlines()
        if line.startswith("group:") and line.split(":")[1]
    }


def test_the_report_matches_the_live_acls(root):
    res, review, out = report("access-review-1")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert review["differences"] == 0
    assert "personal data" in review["stamp"]["purpose"]
    for path in ("access-review.json", "access-review.md"):
        assert (out / path).stat().st_mode & 0o777 == 0o600
    assert out.stat().st_mode & 0o777 == 0o700
    assert "A.5.18" in (out / "access-review.md").read_text()
    for name, path in (("fen-isleri", FEN), ("zabita", ZABITA), ("zabita-arsiv", ARSIV)):
        got = share(review, name)
        assert {a["group"] for a in got["live_acl"] if not a["default"]} == live_groups(root, path)
        assert got["differences"] == []
    assert share(review, "fen-isleri")["live_users"] == [
        {"user": "ayse.yilmaz", "rights": "change", "via_group": "fen-isleri-personel"}
    ]
    assert share(review, "zabita-arsiv")["live_users"] == [
        {"user": "ayse.yilmaz", "rights": "read", "via_group": "fen-isleri-personel"},
        {"user": "mehmet.kaya", "rights": "full", "via_group": "zabita-personel"},
    ]


def test_an_acl_entry_added_by_hand_is_flagged_and_the_report_fails(root):
    root.run_expect([0], f"setfacl -m 'g:MOLBEL\\\\zabita-personel:r-x' {FEN}")
    try:
        res, review, _ = report("access-review-2")
        assert res.returncode != 0
        assert "differs from the data" in " ".join((res.stdout + res.stderr).split())
        diffs = share(review, "fen-isleri")["differences"]
        assert [(d["kind"], d["group"]) for d in diffs] == [("acl_entry_not_in_data", "zabita-personel")]
        assert review["differences"] == 1
        assert {"user": "mehmet.kaya", "rights": "read", "via_group": "zabita-personel"} not in share(
            review, "fen-isleri"
        )["live_users"]  # smb.conf's valid users still keeps him out: the report says who can reach it
    finally:
        root.run_expect([0], f"setfacl -x 'g:MOLBEL\\\\zabita-personel' {FEN}")
    res, review, _ = report("access-review-3")
    assert res.returncode == 0, res.stdout[-3000:]
    assert review["differences"] == 0


def test_a_converge_removes_an_acl_entry_the_data_does_not_give(root):
    root.run_expect([0], f"setfacl -m 'g:MOLBEL\\\\zabita-personel:rwx' -m 'd:g:MOLBEL\\\\zabita-personel:rwx' {FEN}")
    env = dict(os.environ)
    cfg = EPHEMERAL / "ansible.cfg"
    if cfg.exists():
        env["ANSIBLE_CONFIG"] = str(cfg)
    # The scenario's converge, limited to the file server (its play is the only one that runs).
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--limit", "file_servers"]
    res = subprocess.run(
        [*argv, str(SCENARIO / "converge.yml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:]
    assert "zabita-personel" not in root.check_output(f"getfacl -p {FEN}")
