"""Identity and access across the lab (issue 12): dc01 is a Samba AD domain controller holding the
lab directory's accounts (roles/samba_ad_dc, roles/directory_accounts), fs01 a domain member with one
share per directorate (roles/file_server), and the Pardus desktops are domain members through realmd
and sssd (roles/domain_join).

What only the estate shows, once: the accounts on the DC are the data's plan for today (a leaver
disabled, every account carrying its request reference); a Fen İşleri user logs in on the Fen İşleri
desktop, is made to change the help desk's temporary password at the first logon, writes to the Fen
İşleri share over SMB and is refused by Bilgi İşlem's share; a disabled leaver is refused; the access
review finds the live ACLs equal to the data; and data without a request reference stops the run
before the DC is touched. The single-role details (changes and deletions, check mode, the second
run) are the molecule scenarios'.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from .conftest import BIN, ROOT

sys.path.insert(0, str(ROOT / "plugins" / "filter"))
from directory import directory_account_plan, directory_share_access  # noqa: E402

DIRECTORY = yaml.safe_load((ROOT / "inventories/lab/group_vars/all/directory.yml").read_text())
SHARES = yaml.safe_load((ROOT / "inventories/lab/group_vars/file_servers.yml").read_text())["file_server_shares"]
REALM = DIRECTORY["directory_realm"]
DOMAIN = REALM.lower()
SAM = "/var/lib/samba/private/sam.ldb"
UF_ACCOUNTDISABLE = 0x2


def run(host, command: str, ok: bool = True):
    res = host.run(command)
    if ok:
        assert res.rc == 0, f"{command}: rc={res.rc}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
    return res


def today_plan() -> dict[str, dict]:
    plan = directory_account_plan(DIRECTORY["directory_users"], dt.date.today(), DIRECTORY["directory_retention_days"])
    return {entry["username"]: entry for entry in plan}


def ldb_entry(dc, ldap_filter: str, attrs: str) -> dict[str, str] | None:
    """One entry of the DC's own database, as attribute -> value (base64 values decoded)."""
    res = run(dc, f"ldbsearch -H {SAM} {shlex.quote(ldap_filter)} {attrs}")
    import base64

    entry: dict[str, str] = {}
    lines: list[str] = []
    for raw in res.stdout.splitlines():
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    for line in lines:
        if line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        if value.startswith(":"):
            value = base64.b64decode(value[1:].strip()).decode()
        entry[key] = value.strip()
    return entry if "dn" in entry else None


@pytest.fixture(scope="module")
def dc(lab_hosts):
    return lab_hosts["dc01"]


@pytest.fixture(scope="module")
def fs(lab_hosts):
    return lab_hosts["fs01"]


def test_accounts_on_the_dc_are_todays_plan_of_the_data(dc):
    plan = today_plan()
    assert any(entry.get("leaving") for entry in plan.values()), "the lab data should hold a leaver"
    for username, entry in plan.items():
        found = ldb_entry(dc, f"(sAMAccountName={username})", "info userAccountControl givenName sn")
        if entry["state"] == "absent":
            assert found is None, f"{username} is past retention but still in the directory"
            continue
        assert found is not None, f"{username} is missing from the directory"
        assert found.get("info") == f"Talep: {entry['talep']}", (username, found.get("info"))
        assert found.get("givenName") == entry["given_name"]
        assert found.get("sn") == entry["surname"]
        disabled = bool(int(found["userAccountControl"]) & UF_ACCOUNTDISABLE)
        assert disabled == (entry["state"] == "disabled"), f"{username}: disabled={disabled}, plan {entry['state']}"
    for group in DIRECTORY["directory_groups"]:
        found = ldb_entry(dc, f"(&(objectClass=group)(sAMAccountName={group['name']}))", "info")
        assert found is not None, f"group {group['name']} is missing"
        assert found.get("info") == f"Talep: {group['talep']}"


def test_a_desktop_user_logs_in_on_a_domain_member(lab_hosts):
    user = f"lab.fen1@{DOMAIN}"
    desktop = lab_hosts["pardus02"]
    res = run(desktop, f"su - {shlex.quote(user)} -c 'id -un; id -Gn'")
    name, groups = res.stdout.strip().splitlines()[-2:]
    assert name == user
    assert f"fen-isleri-personel@{DOMAIN}" in groups.split()
    # Bilgi İşlem's administrators may log on to every desktop; Fen İşleri's staff not to Bilgi İşlem's.
    admin = run(desktop, f"LC_ALL=C.UTF-8 sssctl user-checks -a acct -s login lab.bim1@{DOMAIN}", ok=False)
    assert "pam_acct_mgmt: Success" in admin.stdout + admin.stderr
    bim_desktop = lab_hosts["pardus01"]
    refused = run(bim_desktop, f"LC_ALL=C.UTF-8 sssctl user-checks -a acct -s login {shlex.quote(user)}", ok=False)
    assert "pam_acct_mgmt: Permission denied" in refused.stdout + refused.stderr


def smb(host, share: str, username: str, password: str, command: str):
    """smbclient on `host` as a domain user, with the password (NTLM through fs01's winbind to the DC);
    the password goes in a 0600 file, never on a command line. No Kerberos, and an empty credential
    cache: what is tested is this user and this password, not a ticket some earlier step left
    behind. (A leaver's Kerberos logon is tested on its own, with kinit.)"""
    auth = f"/root/.smb-auth-{uuid.uuid4().hex[:8]}"
    host.run(
        f"umask 077; printf 'username = %s\\npassword = %s\\ndomain = %s\\n' "
        f"{shlex.quote(username)} {shlex.quote(password)} {shlex.quote(DIRECTORY['directory_netbios_domain'])} > {auth}"
    )
    try:
        return host.run(
            f"KRB5CCNAME=MEMORY: smbclient //fs01.lab.ornek.bel.tr/{share} -A {auth} -m SMB3 --use-kerberos=off"
            f" -c {shlex.quote(command)}"
        )
    finally:
        host.run(f"rm -f {auth}")


def helpdesk_reset(dc, username: str, must_change: bool) -> str:
    """What the help desk does: a new temporary password, set on the DC by an administrator."""
    password = f"Gecici-{uuid.uuid4().hex[:12]}-9x"
    flag = " --must-change-at-next-login" if must_change else ""
    run(dc, f"samba-tool user setpassword {username} --newpassword={shlex.quote(password)}{flag}")
    return password


def first_logon_change(desktop, username: str, temporary: str) -> str:
    """What the user does at the first logon: the temporary password is refused for use and changed,
    with the desktop's Kerberos tools (kpasswd, from domain_join) against the DC's password service."""
    password = f"Kendi-{uuid.uuid4().hex[:12]}-7q"
    res = desktop.run(
        f"printf '%s\\n%s\\n%s\\n' {shlex.quote(temporary)} {shlex.quote(password)} {shlex.quote(password)}"
        f" | KRB5CCNAME=MEMORY: LC_ALL=C.UTF-8 kpasswd {shlex.quote(f'{username}@{REALM}')}"
    )
    assert res.rc == 0, res.stdout + res.stderr
    return password


def test_a_directorate_user_writes_to_its_share_and_cannot_read_another(dc, lab_hosts, fs):
    desktop = lab_hosts["pardus02"]  # Fen İşleri's desktop (smbclient: the lab's desktop applications)
    temporary = helpdesk_reset(dc, "lab.fen1", must_change=True)
    blocked = smb(desktop, "fen-isleri", "lab.fen1", temporary, "ls")
    assert "NT_STATUS_PASSWORD_MUST_CHANGE" in blocked.stdout + blocked.stderr
    password = first_logon_change(desktop, "lab.fen1", temporary)
    marker = f"it-{uuid.uuid4().hex[:8]}.txt"
    desktop.run(f"echo from-the-test > /tmp/{marker}")
    wrote = smb(desktop, "fen-isleri", "lab.fen1", password, f"lcd /tmp; put {marker}; ls {marker}")
    assert wrote.rc == 0, wrote.stdout + wrote.stderr
    assert marker in wrote.stdout
    assert fs.file(f"/srv/paylasim/fen-isleri/{marker}").exists
    refused = smb(desktop, "bilgi-islem", "lab.fen1", password, "ls")
    assert refused.rc != 0
    assert "NT_STATUS_ACCESS_DENIED" in refused.stdout + refused.stderr
    fs.run(f"rm -f /srv/paylasim/fen-isleri/{marker}")
    desktop.run(f"rm -f /tmp/{marker}")


def apply_accounts(*extra: str) -> subprocess.CompletedProcess:
    """playbooks/identity.yml's account play on dc01 only, as the pipeline runs it."""
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/identity.yml", "--limit", "dc01",
         "--tags", "directory_accounts", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )  # fmt: skip


@pytest.fixture
def after_the_leaving_date(dc):
    """The role's date moved past lab.fen2's leaving date (and back afterwards, which enables it again).

    The leaver knows a working password, set by the help desk before the run that disables the
    account: only the disabled flag stands in the way. (Set after it, the password would enable the
    account again: Samba 4.17's `samba-tool user setpassword` clears ACCOUNTDISABLE; see
    docs/identity.md.)"""
    leaver = dict(next(u for u in DIRECTORY["directory_users"] if u["username"] == "lab.fen2"))
    leaver["password"] = helpdesk_reset(dc, "lab.fen2", must_change=False)
    day_after = dt.date.fromisoformat(str(leaver["leaving"])) + dt.timedelta(days=1)
    res = apply_accounts("-e", f"directory_accounts_today={day_after.isoformat()}")
    assert res.returncode == 0, res.stdout[-3000:]
    yield leaver
    res = apply_accounts()
    assert res.returncode == 0, res.stdout[-3000:]


def test_a_leaver_is_disabled_on_the_leaving_date_and_refused_everywhere(dc, lab_hosts, after_the_leaving_date):
    found = ldb_entry(dc, "(sAMAccountName=lab.fen2)", "userAccountControl info")
    assert int(found["userAccountControl"]) & UF_ACCOUNTDISABLE
    assert found["info"] == f"Talep: {after_the_leaving_date['talep']}"  # the data is kept while disabled
    desktop = lab_hosts["pardus02"]
    password = after_the_leaving_date["password"]
    res = smb(desktop, "fen-isleri", "lab.fen2", password, "ls")
    assert res.rc != 0, f"a disabled account reached its share over NTLM: {res.stdout}{res.stderr}"
    assert "NT_STATUS_ACCOUNT_DISABLED" in res.stdout + res.stderr
    # And no Kerberos ticket for it either: the KDC refuses the disabled principal.
    kinit = desktop.run(
        f"printf '%s\\n' {shlex.quote(password)} | KRB5CCNAME=MEMORY: LC_ALL=C.UTF-8 kinit lab.fen2@{REALM}"
    )
    assert kinit.rc != 0, "a disabled account got a Kerberos ticket"
    assert "revoked" in (kinit.stdout + kinit.stderr).lower(), kinit.stdout + kinit.stderr
    desktop.run("sss_cache -E")
    acct = desktop.run(f"LC_ALL=C.UTF-8 sssctl user-checks -a acct -s login lab.fen2@{DOMAIN}")
    assert "pam_acct_mgmt: Success" not in acct.stdout + acct.stderr


def test_data_without_a_request_reference_stops_the_run_before_the_dc_changes(dc, tmp_path: Path):
    bad = dict(DIRECTORY)
    intruder = {
        "username": "lab.talepsiz",
        "given_name": "Talep",
        "surname": "Yok",
        "ou": "Fen-Isleri",
        "groups": ["fen-isleri-personel"],
    }
    bad["directory_users"] = [*DIRECTORY["directory_users"], intruder]
    extra = tmp_path / "bad.yml"
    extra.write_text(json.dumps({"directory_users": bad["directory_users"]}, default=str))
    res = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "inventories/lab",
            "playbooks/identity.yml",
            "--limit",
            "dc01",
            "-e",
            f"@{extra}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "lab.talepsiz" in out
    assert "talep" in out
    assert ldb_entry(dc, "(sAMAccountName=lab.talepsiz)", "dn") is None


def test_the_access_review_finds_the_live_acls_equal_to_the_data(tmp_path: Path):
    """playbooks/share-access-report.yml reads fs01's live ACLs, smb.conf and group members: no
    difference from the data, and every active user the data gives a share is among those it finds."""
    res = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/share-access-report.yml",
         "-e", f"share_access_report_dir={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    review = json.loads((tmp_path / "access-review.json").read_text())
    assert review["differences"] == 0
    assert (tmp_path / "access-review.json").stat().st_mode & 0o077 == 0
    live = {
        (share["share"], row["user"].split("\\")[-1].lower(), row["rights"])
        for host in review["hosts"]
        for share in host["shares"]
        for row in share["live_users"]
    }
    from_data = directory_share_access(SHARES, DIRECTORY["directory_groups"], DIRECTORY["directory_users"])
    assert from_data, "the lab data should give someone a share"
    for row in from_data:
        assert (row["share"], row["user"], row["rights"]) in live, row
    assert {share for share, _, _ in live} == {share["name"] for share in SHARES}
