"""Accounts as code (role directory_accounts) on the first DC, checked in the directory itself.

The converged data (molecule.yml) is read back with ldbsearch on the DC; a user logs in with its
initial password over Kerberos. Then the verifier changes the data as an operator would (a new
title, a new leaver) and runs change.yml: first in check mode, which changes nothing, then for
real: the change applies, and a second run changes nothing. Bad data (a user without a request
reference) is refused before any change.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess

import pytest
import yaml
from scenario import DC, DOMAIN_DN, REALM, SAM, SCENARIO, SECRETS, kinit, put_secret, secret

testinfra_hosts = [f"ansible://{DC}"]

BASE = f"OU=Belediye,{DOMAIN_DN}"
UF_ACCOUNTDISABLE = 0x2


def group_vars() -> dict:
    scenario = yaml.safe_load((SCENARIO / "molecule.yml").read_text())
    return scenario["provisioner"]["inventory"]["group_vars"]["all"]


def initial_password(username: str) -> str:
    return secret(username)


def ldif(text: str) -> dict[str, dict[str, list[str]]]:
    """ldbsearch output as {dn: {attribute: [values]}} (folded lines and base64 values decoded)."""
    lines: list[str] = []
    for raw in text.splitlines():
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    entries: dict[str, dict[str, list[str]]] = {}
    dn = None
    for line in lines:
        if not line.strip() or line.startswith("#"):
            dn = None if not line.strip() else dn
            continue
        key, _, value = line.partition(":")
        value = base64.b64decode(value[1:].strip()).decode() if value.startswith(":") else value.strip()
        if key == "dn":
            dn = value
            entries[dn] = {}
        elif dn is not None:
            entries[dn].setdefault(key, []).append(value)
    return entries


def search(root, ldap_filter: str, *attrs: str) -> dict:
    out = root.check_output(f"ldbsearch -H {SAM} -b '{BASE}' '{ldap_filter}' {' '.join(attrs)}")
    return ldif(out)


def user(root, username: str) -> dict | None:
    found = search(
        root,
        f"(sAMAccountName={username})",
        "givenName",
        "sn",
        "displayName",
        "title",
        "info",
        "userAccountControl",
        "memberOf",
    )
    if not found:
        return None
    (dn, attrs), *_ = found.items()
    return {"dn": dn, **{k: v[0] if k != "memberOf" else v for k, v in attrs.items()}}


def run_role(data: dict, *options: str) -> subprocess.CompletedProcess:
    """change.yml with the scenario's inventory and the given extra vars (as an operator's run)."""
    extra = SECRETS.parent / "change-vars.json"
    extra.write_text(json.dumps(data, default=str))
    argv = [
        "ansible-playbook",
        "-i",
        os.environ["MOLECULE_INVENTORY_FILE"],
        "-e",
        f"@{extra}",
        *options,
        str(SCENARIO / "change.yml"),
    ]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    res = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, env=env)
    # Plain text, one space between words: the yaml callback folds long messages.
    res.stdout = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", res.stdout).split())
    res.stderr = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", res.stderr).split())
    return res


def recap_changed(output: str) -> int:
    return int(re.search(rf"{DC} : ok=\d+ changed=(\d+)", output).group(1))


def directory_state(root) -> str:
    """Every object under the base OU with its update sequence number: any change shows."""
    return root.check_output(
        f"ldbsearch -H {SAM} -b '{BASE}' '(objectClass=*)' uSNChanged | grep -E '^(dn|uSNChanged)'"
    )


# --- after converge --------------------------------------------------------------------------------


def test_directorate_ous_exist_under_the_base_ou_with_turkish_descriptions(root):
    ous = search(root, "(objectClass=organizationalUnit)", "description")
    assert ous[f"OU=Fen-Isleri,{BASE}"]["description"] == ["Fen İşleri Müdürlüğü"]
    assert ous[f"OU=Bilgi-Islem,{BASE}"]["description"] == ["Bilgi İşlem Müdürlüğü"]


def test_groups_exist_in_their_ou_with_their_request_reference(root):
    groups = search(root, "(objectClass=group)", "info", "description")
    fen = groups[f"CN=fen-isleri-personel,OU=Fen-Isleri,{BASE}"]
    assert fen["info"] == ["Talep: BIM-2026/0012"]
    assert fen["description"] == ["Fen İşleri personeli"]
    assert groups[f"CN=bilgi-islem-personel,OU=Bilgi-Islem,{BASE}"]["info"] == ["Talep: BIM-2026/0010"]


def test_user_has_names_title_request_reference_and_group(root):
    ayse = user(root, "ayse.yilmaz")
    assert ayse["dn"] == f"CN=ayse.yilmaz,OU=Fen-Isleri,{BASE}"
    assert (ayse["givenName"], ayse["sn"], ayse["displayName"]) == ("Ayşe", "Yılmaz", "Ayşe Yılmaz")
    assert ayse["title"] == "Harita Mühendisi"
    assert ayse["info"] == "Talep: BIM-2026/0140"
    assert ayse["memberOf"] == [f"CN=fen-isleri-personel,OU=Fen-Isleri,{BASE}"]
    assert not int(ayse["userAccountControl"]) & UF_ACCOUNTDISABLE


def test_leaver_within_retention_is_disabled_and_keeps_its_data(root):
    ismail = user(root, "ismail.gunes")
    assert int(ismail["userAccountControl"]) & UF_ACCOUNTDISABLE
    assert ismail["info"] == "Talep: BIM-2026/0100"
    assert ismail["givenName"] == "İsmail"


def test_leaver_past_retention_is_deleted(root):
    assert user(root, "eski.personel") is None


def test_join_account_exists_in_the_base_ou_and_logs_in(root):
    svc = user(root, "svc-domainjoin")
    assert svc["dn"] == f"CN=svc-domainjoin,{BASE}"
    password = secret("svc-domainjoin")
    res = kinit(root, "svc-domainjoin", "/root/krb5cc_mol_svc", password)
    root.run("kdestroy -c /root/krb5cc_mol_svc")
    assert res.rc == 0, res.stderr


def test_new_user_logs_in_with_the_initial_password_and_must_change_it(root):
    # Kerberos accepts the initial password, then demands a new one (must change at first logon).
    old = initial_password("cagri.ozturk")
    new = "Yeni-Parola-" + old[::-1]
    res = kinit(root, "cagri.ozturk", "/root/krb5cc_mol_cagri", old, new, new)
    try:
        assert res.rc == 0, res.stderr
        assert "Password expired" in res.stdout + res.stderr
        assert f"krbtgt/{REALM}@{REALM}" in root.check_output("klist -c /root/krb5cc_mol_cagri")
    finally:
        root.run("kdestroy -c /root/krb5cc_mol_cagri")


def test_disabled_leaver_cannot_log_in(root):
    res = kinit(root, "ismail.gunes", "/root/krb5cc_mol_ismail", initial_password("ismail.gunes"))
    assert res.rc != 0


def test_no_password_is_on_the_dc_in_clear(root):
    # Logs, configuration and home directories hold no initial password (the pattern comes from a
    # file, so that the search itself puts none on a command line).
    patterns = put_secret(root, "patterns", *(initial_password(u) for u in ("ayse.yilmaz", "cagri.ozturk")))
    res = root.run(f"grep -rlF -f {patterns} --exclude-dir=mol-secrets /var/log /etc /tmp /root /var/lib/samba")
    assert res.stdout.strip() == ""


# --- changes ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def changed_data() -> dict:
    data = {k: v for k, v in group_vars().items() if k.startswith("directory_")}
    users = data["directory_users"]
    next(u for u in users if u["username"] == "ayse.yilmaz")["title"] = "Şef Mühendis"
    cagri = next(u for u in users if u["username"] == "cagri.ozturk")
    cagri.update(leaving="2026-11-20", leaving_reason="İK yazısı 2026/470, nakil")
    return data


@pytest.fixture(scope="module")
def change_run(changed_data):
    return run_role(changed_data)


def test_a_check_run_of_the_changes_predicts_them_and_changes_nothing(root, changed_data):
    """The role's check mode on a converged DC (in the scenario's check step the DC is fresh: there is
    no directory yet for the role to read, and converge.yml leaves it out)."""
    before = directory_state(root)
    res = run_role(changed_data, "--check")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert recap_changed(res.stdout) > 0
    assert directory_state(root) == before
    assert user(root, "ayse.yilmaz")["title"] == "Harita Mühendisi"
    assert not int(user(root, "cagri.ozturk")["userAccountControl"]) & UF_ACCOUNTDISABLE


def test_change_run_succeeds(change_run):
    assert change_run.returncode == 0, change_run.stdout[-4000:] + change_run.stderr[-2000:]
    assert recap_changed(change_run.stdout) > 0


def test_title_change_applies(root, change_run):
    assert user(root, "ayse.yilmaz")["title"] == "Şef Mühendis"


def test_new_leaver_is_disabled(root, change_run):
    assert int(user(root, "cagri.ozturk")["userAccountControl"]) & UF_ACCOUNTDISABLE


def test_summary_names_request_references_not_people(change_run):
    summary = change_run.stdout.split("The summary of the run is printed", 1)[1]
    assert "BIM-2026/0140" in summary
    assert "BIM-2026/0141" in summary
    for personal in ("Ayşe", "Yılmaz", "Çağrı", "ayse.yilmaz", "cagri.ozturk", "İK yazısı"):
        assert personal not in summary


def test_run_output_shows_no_password_and_no_personal_data(changed_data, change_run):
    output = change_run.stdout + " " + change_run.stderr
    assert initial_password("ayse.yilmaz") not in output
    assert "Yılmaz" not in output
    assert "İK yazısı" not in output


def test_second_run_changes_nothing(changed_data, change_run):
    again = run_role(changed_data)
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap_changed(again.stdout) == 0, again.stdout[-4000:]


def test_bad_data_is_refused_before_any_change(root, changed_data, change_run):
    before = directory_state(root)
    bad = json.loads(json.dumps(changed_data, default=str))
    bad["directory_users"][0]["title"] = "Başka Bir Unvan"  # a change that must not happen
    index = len(bad["directory_users"])
    bad["directory_users"].append(
        {"username": "talepsiz.kisi", "given_name": "Talepsiz", "surname": "Kişi", "ou": "Fen-Isleri"}
    )
    res = run_role(bad)
    assert res.returncode != 0
    output = res.stdout + " " + res.stderr  # a failed task's message goes to stderr
    assert f"directory_users[{index}] (talepsiz.kisi): talep is required" in output
    assert "nothing was changed" in output
    assert directory_state(root) == before
    assert user(root, "talepsiz.kisi") is None
