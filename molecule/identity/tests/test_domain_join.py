"""Behaviour of a Pardus desktop (pd-join) joined to the scenario's domain by the role domain_join.

Everything is asked of the desktop as a user meets it: realmd's view of the membership, the name
service (getent, id), a log-on through PAM's su stack (account and session: the home directory is
made), a password check through PAM's login stack and through Kerberos, offline log-on with the
cached password, and the access rule that refuses a domain user outside the allowed groups.
The users have set their own passwords at a first log-on before (tests/scenario.py): the accounts
come from directory_accounts with "must change at first logon".
"""

from __future__ import annotations

import re
import shlex

import pytest
from scenario import DOMAIN, DOMAIN_DN, REALM, own_password

testinfra_hosts = ["ansible://pd-join"]

ALLOWED = f"ali.veli@{DOMAIN}"  # member of bilgi-islem-personel
REFUSED = f"zeynep.kaya@{DOMAIN}"  # a domain user outside the allowed groups
GROUP = f"bilgi-islem-personel@{DOMAIN}"


@pytest.fixture(scope="module", autouse=True)
def passwords(dc) -> dict[str, str]:
    """Both users' passwords, set by the users themselves at their first log-on (before any test here:
    a password change still due would refuse su and PAM's account check)."""
    return {user: own_password(dc, user.split("@")[0]) for user in (ALLOWED, REFUSED)}


def pam_check(host, action: str, user: str, secret: str = ""):
    """sssctl's PAM check with the login service (no pam_rootok, unlike su), the password on stdin."""
    return host.run(f"printf '%s\\n' {shlex.quote(secret)} | sssctl user-checks -a {action} -s login {user}")


def test_realm_list_shows_the_membership(host):
    out = host.check_output("realm list")
    assert out.splitlines()[0] == DOMAIN
    assert f"realm-name: {REALM}" in out
    assert "configured: kerberos-member" in out
    assert "client-software: sssd" in out


def test_the_access_rule_is_ads_own_with_the_allowed_groups(host):
    """access_provider ad (the default): the filter names the allowed groups by DN, and sssd also refuses
    disabled and expired accounts itself (simple would let a disabled leaver through su and SSH keys)."""
    conf = host.check_output("cat /etc/sssd/sssd.conf")
    assert re.search(r"^access_provider = ad$", conf, re.M)
    # The group is in directory_groups: its DN is in its directorate's OU under OU=Belediye.
    assert f"(memberOf=CN=bilgi-islem-personel,OU=Bilgi-Islem,OU=Belediye,{DOMAIN_DN})" in conf


def test_the_keytab_holds_the_computer_account_and_the_trust_works(host):
    assert f"PD-JOIN$@{REALM}" in host.check_output("klist -k /etc/krb5.keytab")
    keytab = host.file("/etc/krb5.keytab")
    assert (keytab.user, keytab.group, keytab.mode) == ("root", "root", 0o600)
    res = host.run(f"adcli testjoin --domain={DOMAIN}")
    assert res.rc == 0, res.stderr


def test_sssd_runs_with_a_valid_private_configuration(host):
    conf = host.file("/etc/sssd/sssd.conf")
    assert (conf.user, conf.group, conf.mode) == ("root", "root", 0o600)
    res = host.run("sssctl config-check")
    assert res.rc == 0, res.stdout + res.stderr
    assert host.service("sssd").is_enabled
    assert host.service("sssd").is_running
    assert "Online status: Online" in host.check_output(f"sssctl domain-status {DOMAIN}")


def test_no_sssd_unit_is_left_failed(host):
    """The responders run from sssd.conf's services line; Debian's socket units for them are masked,
    not left to fail at every boot (the host would report itself degraded)."""
    for socket in ("sssd-nss.socket", "sssd-pam.socket", "sssd-pam-priv.socket"):
        assert host.run(f"systemctl is-enabled {socket}").stdout.strip() == "masked", socket
    failed = host.check_output("systemctl list-units --failed --no-legend --plain 'sssd*'")
    assert failed == "", failed


def test_a_domain_user_is_known_with_a_qualified_name(host):
    entry = host.check_output(f"getent passwd {ALLOWED}").split(":")
    assert entry[0] == ALLOWED
    assert entry[5] == f"/home/{ALLOWED}"
    assert entry[6] == "/bin/bash"
    assert host.run("getent passwd ali.veli").rc == 2  # short names are not accepted


def test_id_shows_the_directorate_group(host):
    assert GROUP in host.check_output(f"id {ALLOWED}")


def test_an_allowed_user_logs_on_and_gets_a_private_home(host):
    res = host.run(f"su - {ALLOWED} -c 'id -un; pwd'")
    assert res.rc == 0, res.stderr
    assert res.stdout.split() == [ALLOWED, f"/home/{ALLOWED}"]
    home = host.file(f"/home/{ALLOWED}")
    assert home.is_directory
    assert home.user == ALLOWED
    assert home.mode == 0o700


def test_the_password_is_checked_by_pam_and_by_kerberos(host, passwords):
    good = pam_check(host, "auth", ALLOWED, passwords[ALLOWED])
    assert f"pam_authenticate for user [{ALLOWED}]: Success" in good.stdout + good.stderr
    bad = pam_check(host, "auth", ALLOWED, "not-the-password")
    assert "Authentication failure" in bad.stdout + bad.stderr
    ccache = "/run/mol-krb5cc-ali"
    principal = f"{ALLOWED.split('@')[0]}@{REALM}"
    kinit = host.run(f"printf '%s\\n' {shlex.quote(passwords[ALLOWED])} | KRB5CCNAME={ccache} kinit {principal}")
    try:
        assert kinit.rc == 0, kinit.stderr
        assert f"krbtgt/{REALM}@{REALM}" in host.check_output(f"KRB5CCNAME={ccache} klist")
    finally:
        host.run(f"rm -f {ccache}")


def test_a_user_outside_the_allowed_groups_is_refused(host, passwords):
    assert host.run(f"getent passwd {REFUSED}").rc == 0  # the user exists...
    auth = pam_check(host, "auth", REFUSED, passwords[REFUSED])
    assert "Success" in auth.stdout + auth.stderr  # ...with the right password...
    acct = pam_check(host, "acct", REFUSED)
    assert "pam_acct_mgmt: Permission denied" in acct.stdout + acct.stderr  # ...but may not log on
    res = host.run(f"su - {REFUSED} -c 'id -un'")
    assert res.rc != 0
    assert "Permission denied" in res.stderr
    assert not host.file(f"/home/{REFUSED}").exists


def test_a_disabled_account_is_refused_although_it_is_in_an_allowed_group(host, dc):
    """A leaver: the DC disables the account; the desktop refuses it at the account check."""
    user = ALLOWED.split("@")[0]
    dc.check_output(f"samba-tool user disable {user}")
    try:
        host.run("sss_cache -E")
        acct = pam_check(host, "acct", ALLOWED)
        assert "pam_acct_mgmt: Success" not in acct.stdout + acct.stderr
        assert host.run(f"su - {ALLOWED} -c 'id -un'").rc != 0
    finally:
        dc.check_output(f"samba-tool user enable {user}")
        host.run("sss_cache -E")


def test_a_local_log_on_still_works(host):
    res = host.run("su - ansible -c 'id -un'")
    assert res.rc == 0, res.stderr
    assert res.stdout.strip() == "ansible"
    session = host.file("/etc/pam.d/common-session").content_string
    assert re.search(r"^session\s+optional\s+pam_mkhomedir\.so umask=0077", session, re.M)


@pytest.fixture
def offline(host):
    """sssd simulates being off the network (SIGUSR1), as a laptop away from the office."""
    host.run("systemctl kill --signal=SIGUSR1 sssd")
    yield
    host.run("systemctl kill --signal=SIGUSR2 sssd")


def test_an_allowed_user_logs_on_offline_with_the_cached_password(host, offline, passwords):
    assert "Online status: Offline" in host.check_output(f"sssctl domain-status {DOMAIN}")
    good = pam_check(host, "auth", ALLOWED, passwords[ALLOWED])
    assert f"pam_authenticate for user [{ALLOWED}]: Success" in good.stdout + good.stderr
    bad = pam_check(host, "auth", ALLOWED, "not-the-password")
    assert "Success" not in bad.stdout + bad.stderr
