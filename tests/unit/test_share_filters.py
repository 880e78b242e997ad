"""plugins/filter/shares.py: the shares as data, their ACLs, and the access review (A.5.18).

The live texts below are what Debian 12's getfacl, testparm and getent print on a member server
joined to a Samba AD domain (winbind use default domain = no), as seen in molecule/identity (fs-mol).
"""

import copy
import json

import pytest
import shares
from ansible.errors import AnsibleFilterError

WG = "MOLBEL"
BASE = "/srv/paylasim"
SHARES = [
    {
        "name": "fen-isleri",
        "directorate": "dir_fen_isleri",
        "path": "/srv/paylasim/fen-isleri",
        "description": "Fen İşleri ortak",
        "access": [{"group": "fen-isleri-personel", "rights": "change"}],
    },
    {
        "name": "zabita-arsiv",
        "directorate": "dir_zabita",
        "path": "/srv/paylasim/zabita-arsiv",
        "description": "Zabıta arşivi",
        "access": [{"group": "zabita-personel", "rights": "full"}, {"group": "fen-isleri-personel", "rights": "read"}],
    },
]
GROUPS = [{"name": "fen-isleri-personel"}, {"name": "zabita-personel"}]
USERS = [
    {"username": "ayse.yilmaz", "groups": ["fen-isleri-personel"]},
    {"username": "mehmet.kaya", "groups": ["zabita-personel"]},
]

FEN_ACL = """# file: /srv/paylasim/fen-isleri
# owner: root
# group: root
user::rwx
group::---
group:MOLBEL\\\\fen-isleri-personel:rwx
mask::rwx
other::---
default:user::rwx
default:group::---
default:group:MOLBEL\\\\fen-isleri-personel:rwx
default:mask::rwx
default:other::---
"""
ARSIV_ACL = """# file: /srv/paylasim/zabita-arsiv
# owner: root
# group: root
user::rwx
group::---
group:MOLBEL\\\\zabita-personel:rwx
group:MOLBEL\\\\fen-isleri-personel:r-x
mask::rwx
other::---
default:user::rwx
default:group::---
default:group:MOLBEL\\\\zabita-personel:rwx
default:group:MOLBEL\\\\fen-isleri-personel:r-x
default:mask::rwx
default:other::---
"""
TESTPARM = """# Global parameters
[global]
\trealm = MOL.BELEDIYE.LOCAL
\tsecurity = ADS
\tworkgroup = MOLBEL

[fen-isleri]
\tcomment = Fen İşleri ortak
\tpath = /srv/paylasim/fen-isleri
\tvalid users = +MOLBEL\\fen-isleri-personel
\twrite list = +MOLBEL\\fen-isleri-personel

[zabita-arsiv]
\tcomment = Zabıta arşivi
\tpath = /srv/paylasim/zabita-arsiv
\tread list = +MOLBEL\\fen-isleri-personel
\tvalid users = +MOLBEL\\zabita-personel +MOLBEL\\fen-isleri-personel
\twrite list = +MOLBEL\\zabita-personel
"""
GETENT = """MOLBEL\\fen-isleri-personel:x:11103:MOLBEL\\ayse.yilmaz
MOLBEL\\zabita-personel:x:11104:MOLBEL\\mehmet.kaya
"""


def live(**changes) -> dict:
    state = {
        "shares": {
            "fen-isleri": {"path": "/srv/paylasim/fen-isleri", "exists": True, "getfacl": FEN_ACL},
            "zabita-arsiv": {"path": "/srv/paylasim/zabita-arsiv", "exists": True, "getfacl": ARSIV_ACL},
        },
        "testparm": TESTPARM,
        "groups": GETENT,
    }
    for key, value in changes.items():
        if key in ("fen", "arsiv"):
            state["shares"]["fen-isleri" if key == "fen" else "zabita-arsiv"].update(value)
        else:
            state[key] = value
    return state


def without_lines(text: str, fragment: str) -> str:
    return "\n".join(line for line in text.splitlines() if fragment not in line) + "\n"


def review(state=None, data=None, groups=GROUPS, users=USERS):
    return shares.share_access_review(data or SHARES, state or live(), WG, groups, users, "fs01")


def kinds(result, share=None) -> list[str]:
    return sorted(
        d["kind"] for s in result["shares"] if share in (None, s["share"]) for d in s["differences"]
    ) + sorted("share_not_in_data" for _ in result["extra_shares"])


# --- the data -------------------------------------------------------------------------------------


def bad(**changes) -> list:
    data = copy.deepcopy(SHARES)
    for key, value in changes.items():
        if key == "access":
            data[0]["access"] = value
        else:
            data[0][key] = value
    return data


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("sound data has no problems", SHARES, []),
        ("upper case name", bad(name="Fen"), ["name must be lower case"]),
        ("reserved name", bad(name="homes"), ["reserved by Samba"]),
        ("path outside the base", bad(path="/etc/fen"), ["must be a directory under /srv/paylasim/"]),
        ("path with ..", bad(path="/srv/paylasim/../etc"), ["without '..'"]),
        ("path with a space", bad(path="/srv/paylasim/fen isleri"), ["may hold only"]),
        ("directorate without dir_", bad(directorate="fen_isleri"), ["directorate must name a directorate"]),
        ("no access", bad(access=[]), ["access must be a non-empty list"]),
        ("unknown right", bad(access=[{"group": "fen-isleri-personel", "rights": "write"}]), ["rights must be one of"]),
        (
            "group with the domain prefix",
            bad(access=[{"group": "MOLBEL\\x", "rights": "read"}]),
            ["without the domain"],
        ),
        (
            "group not in directory_groups",
            bad(access=[{"group": "kayip", "rights": "read"}]),
            ["not in directory_groups"],
        ),
        (
            "group given twice",
            bad(
                access=[{"group": "zabita-personel", "rights": "read"}, {"group": "Zabita-Personel", "rights": "full"}]
            ),
            ["given twice"],
        ),
        ("multi-line description", bad(description="a\nb"), ["one line"]),
        ("same name twice", SHARES + [dict(SHARES[0], path="/srv/paylasim/x")], ["name is given twice"]),
        ("same path twice", SHARES + [dict(SHARES[0], name="x")], ["is given to another share"]),
        ("nested paths", SHARES + [dict(SHARES[0], name="x", path="/srv/paylasim/fen-isleri/alt")], ["are nested"]),
    ],
)
def test_share_problems(name, data, expected):
    problems = shares.share_problems(data, BASE, GROUPS, "fs01")
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected, strict=True):
        assert problem.startswith("fs01: file_server_shares")
        assert fragment in problem


def test_share_problems_without_directory_groups_accepts_any_group():
    assert shares.share_problems(bad(access=[{"group": "kayip", "rights": "read"}]), BASE, None) == []


@pytest.mark.parametrize(
    ("base", "fragment"),
    [("srv", "absolute path"), ("/srv/../etc", "without '..'"), (None, "absolute path")],
)
def test_bad_base_is_refused(base, fragment):
    (problem,) = shares.share_problems(SHARES, base, GROUPS, "fs01")
    assert problem.startswith("fs01: file_server_share_base")
    assert fragment in problem


def test_smb_lists_give_groups_by_right():
    assert shares.smb_lists(SHARES[1]["access"], WG) == {
        "valid_users": "+MOLBEL\\zabita-personel +MOLBEL\\fen-isleri-personel",
        "read_list": "+MOLBEL\\fen-isleri-personel",
        "write_list": "+MOLBEL\\zabita-personel",
    }


def test_acl_entries_close_the_folder_and_give_each_group_its_right_twice():
    entries = shares.acl_entries(SHARES[1]["access"], WG)
    text = [f"{'d:' if e['default'] else ''}{e['etype']}:{e['entity']}:{e['permissions']}" for e in entries]
    assert text == [
        "user::rwx",
        "group::---",
        "other::---",
        "group:MOLBEL\\134zabita-personel:rwx",
        "group:MOLBEL\\134fen-isleri-personel:r-x",
        "mask::rwx",
        "d:user::rwx",
        "d:group::---",
        "d:other::---",
        "d:group:MOLBEL\\134zabita-personel:rwx",
        "d:group:MOLBEL\\134fen-isleri-personel:r-x",
    ]


def test_acl_plan_pairs_each_entry_with_its_share():
    plan = shares.share_acl_plan(SHARES[0], WG)
    assert {p[0]["name"] for p in plan} == {"fen-isleri"}
    assert len(plan) == 9


@pytest.mark.parametrize(
    ("name", "extra_lines", "expected"),
    [
        ("the data's ACL has no extras", [], []),
        (
            "another group is an extra, in access and default ACL",
            ["group:MOLBEL\\\\zabita-personel:r-x", "default:group:MOLBEL\\\\zabita-personel:r-x"],
            [("group", "MOLBEL\\134zabita-personel", False), ("group", "MOLBEL\\134zabita-personel", True)],
        ),
        ("a named user is an extra", ["user:MOLBEL\\\\ayse.yilmaz:rwx"], [("user", "MOLBEL\\134ayse.yilmaz", False)]),
        ("a local group is an extra", ["group:staff:r-x"], [("group", "staff", False)]),
        (
            "a name with a space is quoted for setfacl",
            ["group:MOLBEL\\\\domain\\040users:r-x"],
            [("group", "MOLBEL\\134domain\\040users", False)],
        ),
    ],
)
def test_acl_extras(name, extra_lines, expected):
    lines = [line for line in FEN_ACL.splitlines() if not line.startswith("#")] + extra_lines
    got = shares.acl_extras(lines, SHARES[0]["access"], WG)
    assert [(e["etype"], e["entity"], e["default"]) for e in got] == expected


def test_share_acl_extras_reads_a_query_result():
    result = {"item": SHARES[0], "acl": FEN_ACL.splitlines() + ["group:MOLBEL\\\\x:r-x"]}
    assert [p[1]["entity"] for p in shares.share_acl_extras(result, WG)] == ["MOLBEL\\134x"]


# --- the live state -------------------------------------------------------------------------------


def test_getfacl_is_read_with_escapes_and_effective_rights():
    text = (
        "# owner: MOLBEL\\\\ayse.yilmaz\n# group: MOLBEL\\\\domain\\040users\ngroup:MOLBEL\\\\g:rwx\t#effective:r--\n"
    )
    got = shares.share_parse_getfacl(text)
    assert got["owner"] == "MOLBEL\\ayse.yilmaz"
    assert got["group"] == "MOLBEL\\domain users"
    assert got["entries"] == [
        {"default": False, "tag": "group", "qualifier": "MOLBEL\\g", "raw_qualifier": "MOLBEL\\\\g", "perms": "rwx"}
    ]


def test_unreadable_getfacl_line_is_an_error():
    with pytest.raises(AnsibleFilterError, match="cannot read the ACL line"):
        shares.share_parse_getfacl("group:x")


def test_testparm_and_getent_are_read():
    sections = shares.share_parse_testparm(TESTPARM)
    assert sections["zabita-arsiv"]["write list"] == "+MOLBEL\\zabita-personel"
    assert sections["global"]["security"] == "ADS"
    assert shares.share_parse_groups(GETENT + "local:x:5:\n") == {
        "MOLBEL\\fen-isleri-personel": ["MOLBEL\\ayse.yilmaz"],
        "MOLBEL\\zabita-personel": ["MOLBEL\\mehmet.kaya"],
        "local": [],
    }


# --- the review -----------------------------------------------------------------------------------


def test_live_state_that_matches_the_data_has_no_differences_and_lists_users():
    got = review()
    assert got["differences"] == 0, kinds(got)
    arsiv = got["shares"][1]
    assert arsiv["live_users"] == [
        {"user": "ayse.yilmaz", "rights": "read", "via_group": "fen-isleri-personel"},
        {"user": "mehmet.kaya", "rights": "full", "via_group": "zabita-personel"},
    ]
    assert sorted(arsiv["intended_users"], key=lambda u: u["user"]) == arsiv["live_users"]
    json.dumps(got)  # the report is written as JSON


ACL_EXTRA = FEN_ACL.replace("mask::rwx", "group:MOLBEL\\\\zabita-personel:r-x\nmask::rwx", 1)
GETENT_MORE = GETENT.replace("ayse.yilmaz", "ayse.yilmaz,MOLBEL\\ali.veli")


@pytest.mark.parametrize(
    ("name", "state", "expected"),
    [
        ("a group added by hand is flagged", live(fen={"getfacl": ACL_EXTRA}), ["acl_entry_not_in_data"]),
        (
            "a group of the data missing from the ACL and its default",
            live(fen={"getfacl": without_lines(FEN_ACL, "fen-isleri-personel")}),
            ["default_group_missing_from_acl", "group_missing_from_acl"],
        ),
        (
            "a right that differs",
            live(
                fen={
                    "getfacl": FEN_ACL.replace(
                        "group:MOLBEL\\\\fen-isleri-personel:rwx\nmask", "group:MOLBEL\\\\fen-isleri-personel:r-x\nmask"
                    )
                }
            ),
            ["right_differs"],
        ),
        (
            "the mask lowers a right",
            live(fen={"getfacl": FEN_ACL.replace("mask::rwx", "mask::r-x", 1)}),
            ["right_differs"],
        ),
        (
            "no default ACL",
            live(fen={"getfacl": "\n".join(line for line in FEN_ACL.splitlines() if not line.startswith("default:"))}),
            ["default_acl_missing"],
        ),
        (
            "everyone else may read",
            live(fen={"getfacl": FEN_ACL.replace("other::---", "other::r-x", 1)}),
            ["other_access"],
        ),
        (
            "a user entry",
            live(fen={"getfacl": FEN_ACL.replace("mask::rwx", "user:MOLBEL\\\\ali:rwx\nmask::rwx", 1)}),
            ["acl_entry_not_in_data"],
        ),
        (
            "the owner is not root",
            live(fen={"getfacl": FEN_ACL.replace("# owner: root", "# owner: ali")}),
            ["owner_differs"],
        ),
        ("the folder is missing", live(fen={"exists": False, "getfacl": ""}), ["path_missing"]),
        (
            "smb.conf gives write to a reader",
            live(
                testparm=TESTPARM.replace(
                    "\twrite list = +MOLBEL\\zabita-personel",
                    "\twrite list = +MOLBEL\\zabita-personel +MOLBEL\\fen-isleri-personel",
                )
            ),
            ["smb_write_list_not_in_data"],
        ),
        (
            "smb.conf lacks a share",
            live(testparm=TESTPARM.split("[zabita-arsiv]")[0]),
            # Nobody reaches the share, so the data's members are missing too.
            ["member_missing", "member_missing", "share_not_in_smb_conf"],
        ),
        (
            "a share that is not in the data",
            live(testparm=TESTPARM + "\n[gizli]\n\tpath = /srv/paylasim/gizli\n"),
            ["share_not_in_data"],
        ),
        (
            "a member the directory data does not have",
            live(groups=GETENT_MORE),
            ["member_not_in_data", "member_not_in_data"],
        ),
        (
            "a group the server cannot resolve",
            live(groups=GETENT.split("\n")[1]),
            ["group_unknown", "group_unknown", "member_missing", "member_missing"],
        ),
    ],
)
def test_differences_are_flagged(name, state, expected):
    assert kinds(review(state)) == sorted(expected)


def test_a_reader_through_smb_conf_does_not_get_write_from_the_acl():
    state = live(
        testparm=TESTPARM.replace(
            "\twrite list = +MOLBEL\\fen-isleri-personel\n", "\tread list = +MOLBEL\\fen-isleri-personel\n", 1
        )
    )
    got = review(state)
    fen = got["shares"][0]
    assert fen["live_users"] == [{"user": "ayse.yilmaz", "rights": "read", "via_group": "fen-isleri-personel"}]
    assert "smb_write_list_missing" in kinds(got)


def test_without_directory_data_membership_is_not_compared():
    got = shares.share_access_review(SHARES, live(groups=GETENT_MORE), WG, None, None, "fs01")
    assert got["differences"] == 0
    assert got["shares"][0]["intended_users"] is None


def test_live_share_report_host_and_total():
    assert shares.live_share({"item": SHARES[0], "rc": 1, "stdout": "x"}) == {
        "path": "/srv/paylasim/fen-isleri",
        "exists": False,
        "getfacl": "",
    }
    missing = shares.report_host(["fs02", None])
    assert missing["differences"] == 1
    assert "not read" in missing["error"]
    total = shares.report_total({"hosts": [review(), missing]})
    assert total["differences"] == 1


def test_markdown_says_what_it_is_for_and_lists_users_and_differences():
    report = shares.report_total(
        {
            "stamp": {"generated": "2026-12-01T10:00:00Z", "commit": "abc"},
            "hosts": [review(live(fen={"getfacl": ACL_EXTRA}))],
        }
    )
    text = shares.share_review_markdown(report)
    assert "For the access review only (ISO 27001:2022 A.5.18)" in text
    assert "personal data" in text
    assert "| ayse.yilmaz | change | fen-isleri-personel |" in text
    assert "`acl_entry_not_in_data`: group MOLBEL\\zabita-personel has r-x" in text
    assert "Fark / differences: **1**" in text


def test_group_names_are_the_acls_and_the_datas_once_each():
    results = [
        {"rc": 0, "stdout": ACL_EXTRA},
        {"rc": 1, "stdout": "getfacl: /srv/paylasim/x: No such file or directory"},
    ]
    assert shares.report_group_names(SHARES, results, WG) == [
        "MOLBEL\\fen-isleri-personel",
        "MOLBEL\\zabita-personel",
    ]
