"""Table-driven tests of the samba_directory module's pure functions and plan, with a fake DC."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "modules"))

import samba_directory as sd  # noqa: E402

DOMAIN = "DC=lab,DC=belediye,DC=local"
BASE = f"OU=Belediye,{DOMAIN}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- LDIF -----------------------------------------------------------------------------------------

AYSE_LDIF = f"""# record 1
dn: CN=ayse.yilmaz,OU=Fen-Isleri,{BASE}
givenName:: {b64("Ayşe")}
sn:: {b64("Yılmaz")}
info: Talep: BIM-2026/0140
userAccountControl: 514
memberOf: CN=fen-isleri-personel,OU=Fen-Isleri,OU=Belediye,DC=lab,DC=belediye,
 DC=local
memberOf: CN=Domain Users,CN=Users,{DOMAIN}

# Referral
ref: ldap://lab.belediye.local/CN=Configuration,{DOMAIN}

# returned 2 records
# 1 entries
# 1 referrals
"""


def test_parse_ldif_decodes_base64_unfolds_lines_and_skips_referrals():
    entries = sd.parse_ldif(AYSE_LDIF)
    assert len(entries) == 1
    dn, attrs = entries[0]
    assert dn == f"CN=ayse.yilmaz,OU=Fen-Isleri,{BASE}"
    assert attrs["givenName"] == ["Ayşe"]
    assert attrs["sn"] == ["Yılmaz"]
    assert attrs["info"] == ["Talep: BIM-2026/0140"]
    assert attrs["memberOf"][0] == f"CN=fen-isleri-personel,OU=Fen-Isleri,{BASE}"
    assert len(attrs["memberOf"]) == 2


def test_parse_ldif_reads_a_base64_dn():
    text = f"dn:: {b64('CN=Çağrı,OU=X,' + DOMAIN)}\ncn:: {b64('Çağrı')}\n"
    assert sd.parse_ldif(text) == [(f"CN=Çağrı,OU=X,{DOMAIN}", {"cn": ["Çağrı"]})]


@pytest.mark.parametrize(
    ("value", "line"),
    [
        pytest.param("Talep: BIM-2026/0140", "info: Talep: BIM-2026/0140", id="ascii-plain"),
        pytest.param("Şef Mühendis", f"info:: {b64('Şef Mühendis')}", id="turkish-base64"),
        pytest.param(":colon first", f"info:: {b64(':colon first')}", id="leading-colon"),
        pytest.param("trailing ", f"info:: {b64('trailing ')}", id="trailing-space"),
        pytest.param("", "info:: ", id="empty"),
    ],
)
def test_ldif_value_is_base64_when_not_safe(value, line):
    assert sd.ldif_value("info", value) == line


def test_modify_ldif_replaces_and_deletes():
    text = sd.modify_ldif(f"CN=a,{BASE}", {"title": "Şef", "description": None})
    assert text.splitlines() == [
        f"dn: CN=a,{BASE}",
        "changetype: modify",
        "delete: description",
        "-",
        "replace: title",
        f"title:: {b64('Şef')}",
        "-",
    ]


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [("ayse.yilmaz", "ayse.yilmaz"), ("a*b", "a\\2ab"), ("(x)", "\\28x\\29"), ("a\\b", "a\\5cb")],
)
def test_escape_filter(raw, escaped):
    assert sd.escape_filter(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [("Fen-Isleri", "Fen-Isleri"), ("a,b", "a\\,b"), ("#x", "\\#x"), ("x=y", "x\\=y")],
)
def test_escape_rdn(raw, escaped):
    assert sd.escape_rdn(raw) == escaped


def test_parent_of_honours_escaped_commas():
    assert sd.parent_of(f"CN=a\\,b,OU=X,{DOMAIN}") == f"OU=X,{DOMAIN}"


# --- decisions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "wanted", "changes"),
    [
        pytest.param({"title": ["A"]}, {"title": "A"}, {}, id="same"),
        pytest.param({"title": ["A"]}, {"title": "B"}, {"title": "B"}, id="differs"),
        pytest.param({}, {"title": "B"}, {"title": "B"}, id="missing"),
        pytest.param({"title": ["A"]}, {"title": ""}, {"title": None}, id="empty-removes"),
        pytest.param({}, {"title": ""}, {}, id="empty-and-missing"),
        pytest.param({"title": ["A"]}, {"title": None}, {}, id="none-leaves-alone"),
    ],
)
def test_attr_changes(current, wanted, changes):
    assert sd.attr_changes(current, wanted) == changes


@pytest.mark.parametrize(
    ("dn", "attrs", "managed"),
    [
        pytest.param(f"CN=a,OU=Fen-Isleri,{BASE}", {}, True, id="user-in-directorate-ou"),
        pytest.param(f"CN=Administrator,CN=Users,{DOMAIN}", {}, False, id="administrator"),
        pytest.param(f"CN=x,{BASE}", {"isCriticalSystemObject": ["TRUE"]}, False, id="critical"),
        pytest.param(f"CN=x,OU=Belediye2,{DOMAIN}", {}, False, id="look-alike-ou"),
    ],
)
def test_is_managed(dn, attrs, managed):
    assert sd.is_managed(dn, attrs, "Belediye", DOMAIN) is managed


@pytest.mark.parametrize(
    ("params", "info"),
    [
        ({"talep": "BIM-2026/0140"}, "Talep: BIM-2026/0140"),
        ({"talep": "BIM-2026/0140", "info": "el ile"}, "el ile"),
        ({}, None),
    ],
)
def test_wanted_info(params, info):
    assert sd.wanted_info(params) == info


# --- the plan against a fake DC -------------------------------------------------------------------


class FakeDC:
    """Answers ldbsearch from canned LDIF, records every other command."""

    def __init__(self, objects: dict[str, str]):
        self.objects = objects  # filter fragment -> LDIF
        self.calls: list[tuple[list[str], str | None]] = []

    def __call__(self, argv, stdin=None):
        if argv[0] == "ldbsearch":
            if argv[argv.index("-s") + 1] == "base" and argv[argv.index("-b") + 1] == "":
                return 0, f"dn: @ROOTDSE\ndefaultNamingContext: {DOMAIN}\n", ""
            ldap_filter = argv[7]
            for fragment, text in self.objects.items():
                if fragment in ldap_filter:
                    return 0, text, ""
            return 0, "# returned 0 records\n", ""
        self.calls.append((argv, stdin))
        return 0, "", ""


def params(**kw):
    base = {
        "kind": "user",
        "name": "ayse.yilmaz",
        "state": "present",
        "ou": "Fen-Isleri",
        "base_ou": "Belediye",
        "description": None,
        "info": None,
        "talep": "BIM-2026/0140",
        "members": None,
        "exclusive_members": False,
        "given_name": "Ayşe",
        "surname": "Yılmaz",
        "title": None,
        "groups": ["fen-isleri-personel"],
        "password": "Gizli.Parola.1",
        "change_at_first_logon": True,
        "reason": None,
    }
    base.update(kw)
    return base


GROUPS_LDIF = f"dn: CN=fen-isleri-personel,OU=Fen-Isleri,{BASE}\nsAMAccountName: fen-isleri-personel\n"
AYSE_SEARCH = f"""dn: CN=ayse.yilmaz,OU=Fen-Isleri,{BASE}
givenName:: {b64("Ayşe")}
sn:: {b64("Yılmaz")}
displayName:: {b64("Ayşe Yılmaz")}
info: Talep: BIM-2026/0140
userAccountControl: 512
memberOf: CN=fen-isleri-personel,OU=Fen-Isleri,{BASE}
memberOf: CN=Domain Users,CN=Users,{DOMAIN}
"""


def test_new_user_in_check_mode_runs_no_command_and_shows_the_diff():
    dc = FakeDC({"(objectClass=group)": GROUPS_LDIF})
    result = sd.manage(sd.Directory(dc, "sam.ldb"), params(), check_mode=True)
    assert dc.calls == []
    assert result["changed"] is True
    assert result["actions"][0] == "create"
    assert result["diff"]["before"] == {"exists": False}
    assert result["diff"]["after"]["info"] == "Talep: BIM-2026/0140"
    assert result["diff"]["after"]["groups"] == ["fen-isleri-personel"]


def test_new_user_gets_its_password_on_stdin_never_in_argv():
    dc = FakeDC({"(objectClass=group)": GROUPS_LDIF})
    with pytest.raises(sd.DirectoryError):
        # The fake DC never shows the created user, so the module stops after samba-tool user create.
        sd.manage(sd.Directory(dc, "sam.ldb"), params(), check_mode=False)
    argv, stdin = dc.calls[0]
    assert argv[:4] == ["samba-tool", "user", "create", "ayse.yilmaz"]
    assert "--must-change-at-next-login" in argv
    assert "--userou=OU=Fen-Isleri,OU=Belediye" in argv
    assert all("Gizli.Parola.1" not in a for a in argv)
    assert stdin == "Gizli.Parola.1\nGizli.Parola.1\n"


def test_user_that_matches_changes_nothing():
    dc = FakeDC({"(sAMAccountName=ayse.yilmaz)": AYSE_SEARCH, "(objectClass=group)": GROUPS_LDIF})
    result = sd.manage(sd.Directory(dc, "sam.ldb"), params(), check_mode=False)
    assert dc.calls == []
    assert result["changed"] is False, result["actions"]


def test_user_title_change_is_an_ldbmodify_on_stdin():
    dc = FakeDC({"(sAMAccountName=ayse.yilmaz)": AYSE_SEARCH, "(objectClass=group)": GROUPS_LDIF})
    result = sd.manage(sd.Directory(dc, "sam.ldb"), params(title="Şef Mühendis"), check_mode=False)
    assert result["actions"] == ["modify"]
    argv, stdin = dc.calls[0]
    assert argv == ["ldbmodify", "-H", "sam.ldb"]
    assert f"title:: {b64('Şef Mühendis')}" in stdin
    assert result["diff"]["before"]["title"] == ""
    assert result["diff"]["after"]["title"] == "Şef Mühendis"


def test_leaver_is_disabled_and_left_in_its_groups():
    dc = FakeDC({"(sAMAccountName=ayse.yilmaz)": AYSE_SEARCH, "(objectClass=group)": GROUPS_LDIF})
    result = sd.manage(sd.Directory(dc, "sam.ldb"), params(state="disabled"), check_mode=False)
    assert result["actions"] == ["disable"]
    assert dc.calls == [(["samba-tool", "user", "disable", "ayse.yilmaz"], None)]


def test_missing_leaver_is_not_created_to_be_disabled():
    dc = FakeDC({"(objectClass=group)": GROUPS_LDIF})
    result = sd.manage(sd.Directory(dc, "sam.ldb"), params(state="disabled"), check_mode=False)
    assert result["changed"] is False
    assert dc.calls == []


def test_delete_records_the_reason():
    dc = FakeDC({"(sAMAccountName=ayse.yilmaz)": AYSE_SEARCH, "(objectClass=group)": GROUPS_LDIF})
    result = sd.manage(sd.Directory(dc, "sam.ldb"), params(state="absent", reason="İK yazısı"), check_mode=False)
    assert result["reason"] == "İK yazısı"
    assert dc.calls == [(["samba-tool", "user", "delete", "ayse.yilmaz"], None)]


def test_administrator_is_never_deleted():
    admin = f"dn: CN=Administrator,CN=Users,{DOMAIN}\nsAMAccountName: Administrator\nuserAccountControl: 512\n"
    dc = FakeDC({"(sAMAccountName=Administrator)": admin})
    with pytest.raises(sd.DirectoryError, match="refused to delete"):
        sd.manage(
            sd.Directory(dc, "sam.ldb"),
            params(name="Administrator", state="absent", reason="deneme", groups=None),
            check_mode=False,
        )
    assert dc.calls == []


def test_user_leaves_a_managed_group_no_longer_listed_but_not_builtin_ones():
    dc = FakeDC({"(sAMAccountName=ayse.yilmaz)": AYSE_SEARCH, "(objectClass=group)": GROUPS_LDIF})
    result = sd.manage(sd.Directory(dc, "sam.ldb"), params(groups=[]), check_mode=False)
    assert result["actions"] == ["leave fen-isleri-personel"]
    assert dc.calls == [(["samba-tool", "group", "removemembers", "fen-isleri-personel", "ayse.yilmaz"], None)]


def test_error_message_leaves_out_password_prompts():
    def runner(argv, stdin=None):
        return 255, "", "Warning: Password input may be echoed.\nNew Password: \nERROR: password is too short\n"

    with pytest.raises(sd.DirectoryError) as err:
        sd.Directory(runner, "sam.ldb").run(["samba-tool", "user", "create", "x"], what="samba-tool user create x")
    assert str(err.value) == "samba-tool user create x failed (rc 255): ERROR: password is too short"


def test_search_under_a_missing_ou_finds_nothing():
    def runner(argv, stdin=None):
        return 32, "", f"search error - No such Base DN: {argv[4]}\n"

    assert sd.Directory(runner, "sam.ldb").search(f"OU=Yok,{BASE}", "(objectClass=*)", ["ou"]) == []


def test_new_ou_under_a_missing_base_ou_in_check_mode():
    def runner(argv, stdin=None):
        if argv[argv.index("-b") + 1] == "":
            return 0, f"dn: @ROOTDSE\ndefaultNamingContext: {DOMAIN}\n", ""
        return 32, "", "search error - No such Base DN: x\n"

    result = sd.manage(
        sd.Directory(runner, "sam.ldb"),
        params(kind="ou", name="Fen-Isleri", description="Fen İşleri Müdürlüğü", groups=None),
        check_mode=True,
    )
    assert result["changed"] is True
    assert result["dn"] == f"OU=Fen-Isleri,{BASE}"
