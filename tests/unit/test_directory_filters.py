"""Tests of plugins/filter/directory.py: the checks of the directory data, the account plan (present,
disabled, absent around the leaving date and the retention period) and the share access rows."""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest
from ansible.errors import AnsibleFilterError
from directory import FilterModule, directory_account_plan, directory_problems, directory_share_access

TODAY = "2026-11-30"

OUS = [
    {"name": "Bilgi-Islem", "directorate": "dir_bilgi_islem", "description": "Bilgi İşlem Müdürlüğü"},
    {"name": "Fen-Isleri", "directorate": "dir_fen_isleri"},
    {"name": "Imar", "directorate": "dir_imar"},
]
GROUPS = [
    {"name": "bim-personel", "ou": "Bilgi-Islem", "talep": "BIM-2026/0010", "members": ["mehmet.ozturk"]},
    {"name": "fen-isleri-personel", "ou": "Fen-Isleri", "description": "Fen İşleri", "talep": "BIM-2026/0012"},
    {"name": "fen-isleri-sef", "ou": "Fen-Isleri", "talep": "BIM-2026/0013", "members": ["ayse.yilmaz"]},
    {"name": "imar-personel", "ou": "Imar", "talep": "BIM-2025/0099", "members": []},
]
USERS = [
    {
        "username": "ayse.yilmaz",
        "given_name": "Ayşe",
        "surname": "Yılmaz",
        "ou": "Fen-Isleri",
        "title": "Harita Mühendisi",
        "groups": ["fen-isleri-personel"],
        "talep": "BIM-2026/0140",
    },
    {
        "username": "mehmet.ozturk",
        "given_name": "Mehmet Ali",
        "surname": "Öztürk",
        "ou": "Bilgi-Islem",
        "talep": "BIM-2026/0141",
    },
    {
        "username": "emre.kaya",
        "given_name": "Emre",
        "surname": "Kaya-Şahin",
        "ou": "Imar",
        "groups": ["imar-personel", "fen-isleri-personel"],
        "talep": "BIM-2025/0007",
        "leaving": dt.date(2026, 11, 30),
        "leaving_reason": "İK yazısı 2026/455, istifa",
    },
    {
        "username": "zeynep.ak",
        "given_name": "Zeynep",
        "surname": "Ak",
        "ou": "Imar",
        "groups": ["imar-personel"],
        "talep": "BIM-2024/0300",
        "leaving": "2026-06-03",
        "leaving_reason": "İK yazısı 2026/120, emeklilik",
    },
]


def problems(users=None, groups=None, ous=None, today=TODAY):
    return directory_problems(
        USERS if users is None else users,
        GROUPS if groups is None else groups,
        OUS if ous is None else ous,
        today,
    )


def with_user(index, **changes):
    """USERS with user ``index`` changed; a value of ... removes the key."""
    users = copy.deepcopy(USERS)
    for key, value in changes.items():
        if value is ...:
            users[index].pop(key, None)
        else:
            users[index][key] = value
    return users


def with_group(index, **changes):
    groups = copy.deepcopy(GROUPS)
    for key, value in changes.items():
        if value is ...:
            groups[index].pop(key, None)
        else:
            groups[index][key] = value
    return groups


def with_ou(index, **changes):
    ous = copy.deepcopy(OUS)
    for key, value in changes.items():
        if value is ...:
            ous[index].pop(key, None)
        else:
            ous[index][key] = value
    return ous


def test_filters_are_registered_under_the_contract_names():
    assert set(FilterModule().filters()) == {"directory_problems", "directory_account_plan", "directory_share_access"}


# --- directory_problems: sound data ----------------------------------------------------------


def test_sound_data_has_no_problems():
    assert problems() == []


def test_empty_lists_have_no_problems():
    assert directory_problems([], [], [], TODAY) == []


def test_today_defaults_to_the_clock():
    assert directory_problems(USERS, GROUPS, OUS) == []


def test_optional_keys_may_be_left_out():
    user = {"username": "ali.can", "given_name": "Ali", "surname": "Can", "ou": "Imar", "talep": "BIM-2026/0001"}
    assert problems(users=[user], groups=[with_group(3, members=...)[3]]) == []


def test_the_data_is_not_changed():
    users, groups, ous = copy.deepcopy(USERS), copy.deepcopy(GROUPS), copy.deepcopy(OUS)
    problems(users, groups, ous)
    assert (users, groups, ous) == (USERS, GROUPS, OUS)


# --- directory_problems: each class of error, naming the item --------------------------------

USER_CASES = [
    ("username missing", with_user(1, username=...), r"directory_users\[1\]: username is required"),
    ("username not a string", with_user(1, username=123), r"directory_users\[1\]: username must be a string"),
    ("username upper case", with_user(1, username="Mehmet.Ozturk"), r"\[1\] \(Mehmet.Ozturk\): username .* must match"),
    ("username starts with a digit", with_user(1, username="1mehmet"), r"\[1\] \(1mehmet\): username .* must match"),
    ("username with Turkish letter", with_user(1, username="mehmet.öztürk"), r"\[1\] .*username .* must match"),
    ("username with a space", with_user(1, username="mehmet ozturk"), r"\[1\] .*username .* must match"),
    ("username ends with a period", with_user(1, username="mehmet."), r"\[1\] \(mehmet\.\): .*end with a period"),
    ("username of 21 characters", with_user(1, username="a" * 21), r"\[1\] .*longer than 20 characters"),
    ("username reserved", with_user(1, username="administrator"), r"\[1\] \(administrator\): .*built-in"),
    ("username reserved krbtgt", with_user(1, username="krbtgt"), r"\[1\] \(krbtgt\): .*built-in"),
    ("username twice", with_user(1, username="ayse.yilmaz"), r"\[1\] \(ayse.yilmaz\): username .*more than once"),
    ("username is a group's", with_user(1, username="imar-personel"), r"\[1\] \(imar-personel\): .*also a group"),
    ("given_name missing", with_user(1, given_name=...), r"\[1\] \(mehmet.ozturk\): given_name is required"),
    ("given_name empty", with_user(1, given_name="  "), r"\[1\] \(mehmet.ozturk\): given_name is required"),
    ("given_name not a string", with_user(1, given_name=7), r"\[1\] \(mehmet.ozturk\): given_name is required"),
    ("given_name with digits", with_user(1, given_name="Mehmet2"), r"\(mehmet.ozturk\): given_name may hold letters"),
    ("given_name with spaces", with_user(1, given_name="Mehmet "), r"\(mehmet.ozturk\): given_name has leading"),
    ("given_name too long", with_user(1, given_name="A" * 65), r"\(mehmet.ozturk\): given_name is longer than 64"),
    ("surname missing", with_user(1, surname=...), r"\[1\] \(mehmet.ozturk\): surname is required"),
    ("ou missing", with_user(1, ou=...), r"\[1\] \(mehmet.ozturk\): ou is required"),
    ("ou unknown", with_user(1, ou="Zabita"), r"\[1\] \(mehmet.ozturk\): ou 'Zabita' is not an OU in directory_ous"),
    ("talep missing", with_user(1, talep=...), r"\[1\] \(mehmet.ozturk\): talep is required"),
    ("talep empty", with_user(1, talep=""), r"\[1\] \(mehmet.ozturk\): talep is required"),
    ("talep without prefix", with_user(1, talep="2026/0141"), r"\(mehmet.ozturk\): talep '2026/0141' is not a"),
    ("talep short number", with_user(1, talep="BIM-2026/141"), r"\(mehmet.ozturk\): talep 'BIM-2026/141' is not a"),
    ("talep two-digit year", with_user(1, talep="BIM-26/0141"), r"\(mehmet.ozturk\): talep 'BIM-26/0141' is not a"),
    ("talep lower case", with_user(1, talep="bim-2026/0141"), r"\(mehmet.ozturk\): talep 'bim-2026/0141' is not a"),
    ("talep trailing text", with_user(1, talep="BIM-2026/0141x"), r"\(mehmet.ozturk\): talep .* is not a"),
    ("talep from next year", with_user(1, talep="BIM-2027/0001"), r"\(mehmet.ozturk\): talep .*year after 2026"),
    ("title empty", with_user(0, title=""), r"\[0\] \(ayse.yilmaz\): title must be a non-empty string"),
    ("groups not a list", with_user(0, groups="imar-personel"), r"\[0\] \(ayse.yilmaz\): groups must be a list"),
    ("group unknown", with_user(0, groups=["fen-personel"]), r"\(ayse.yilmaz\): groups: 'fen-personel' is not a group"),
    (
        "group listed twice",
        with_user(0, groups=["imar-personel", "imar-personel"]),
        r"\(ayse.yilmaz\): groups lists imar-personel more than once",
    ),
    ("leaving not a date", with_user(2, leaving="30.11.2026"), r"\[2\] \(emre.kaya\): leaving '30.11.2026' is not a"),
    ("leaving impossible", with_user(2, leaving="2026-02-30"), r"\[2\] \(emre.kaya\): leaving '2026-02-30' is not a"),
    ("leaving week date", with_user(2, leaving="2026-W48-1"), r"\[2\] \(emre.kaya\): leaving .* is not a date"),
    ("leaving with a time", with_user(2, leaving=dt.datetime(2026, 11, 30, 9)), r"\(emre.kaya\): leaving .*not a date"),
    ("leaving empty", with_user(2, leaving=""), r"\[2\] \(emre.kaya\): leaving is empty"),
    ("leaving without reason", with_user(2, leaving_reason=...), r"\(emre.kaya\): leaving_reason is required"),
    ("leaving, empty reason", with_user(2, leaving_reason=" "), r"\(emre.kaya\): leaving_reason is required"),
    ("reason without leaving", with_user(2, leaving=...), r"\(emre.kaya\): leaving_reason is set but leaving is not"),
    ("typo leving", with_user(1, leving="2026-12-31"), r"\(mehmet.ozturk\): unknown key\(s\) leving"),
    ("typo gruops", with_user(1, gruops=[]), r"\(mehmet.ozturk\): unknown key\(s\) gruops"),
]


@pytest.mark.parametrize(("users", "message"), [c[1:] for c in USER_CASES], ids=[c[0] for c in USER_CASES])
def test_user_errors_name_the_user_and_the_field(users, message):
    found = problems(users=users)
    assert any(re.search(message, p) for p in found), found


def test_reserved_names_are_refused_whatever_the_case():
    found = problems(users=with_user(1, username="guest"), groups=with_group(3, name="domain-admins"))
    assert any("(guest): username 'guest' is a built-in" in p for p in found), found
    group = copy.deepcopy(GROUPS) + [{"name": "Domain Admins", "ou": "Imar", "talep": "BIM-2026/0001"}]
    found = problems(groups=group)
    assert any("directory_groups[4] (Domain Admins): name 'Domain Admins' is a built-in" in p for p in found), found


GROUP_CASES = [
    ("name missing", with_group(3, name=...), r"directory_groups\[3\]: name is required"),
    ("name upper case", with_group(3, name="Imar-Personel"), r"\[3\] \(Imar-Personel\): name .* must match"),
    ("name with a period", with_group(3, name="imar.personel"), r"\[3\] \(imar.personel\): name .* must match"),
    ("name with a space", with_group(3, name="imar personel"), r"\[3\] \(imar personel\): name .* must match"),
    ("name twice", with_group(3, name="bim-personel"), r"\[3\] \(bim-personel\): name .* more than once"),
    ("name reserved", with_group(3, name="administrators"), r"\[3\] \(administrators\): .*built-in"),
    ("name too long", with_group(3, name="g" * 65), r"\[3\] .*longer than 64"),
    ("ou missing", with_group(3, ou=...), r"\[3\] \(imar-personel\): ou is required"),
    ("ou unknown", with_group(3, ou="imar"), r"\[3\] \(imar-personel\): ou 'imar' is not an OU"),
    ("talep missing", with_group(3, talep=...), r"\[3\] \(imar-personel\): talep is required"),
    ("talep malformed", with_group(3, talep="BIM-2025-0099"), r"\[3\] \(imar-personel\): talep 'BIM-2025-0099' is not"),
    (
        "member unknown",
        with_group(3, members=["veli.can"]),
        r"\(imar-personel\): members: 'veli.can' is not a username",
    ),
    ("members not a list", with_group(3, members="emre.kaya"), r"\(imar-personel\): members must be a list"),
    ("description not text", with_group(3, description=5), r"\(imar-personel\): description must be a string"),
    ("typo memebrs", with_group(3, memebrs=[]), r"\(imar-personel\): unknown key\(s\) memebrs"),
]


@pytest.mark.parametrize(("groups", "message"), [c[1:] for c in GROUP_CASES], ids=[c[0] for c in GROUP_CASES])
def test_group_errors_name_the_group_and_the_field(groups, message):
    found = problems(groups=groups)
    assert any(re.search(message, p) for p in found), found


OU_CASES = [
    ("name missing", with_ou(2, name=...), r"directory_ous\[2\]: name is required"),
    ("name with a space", with_ou(2, name="Imar Mudurlugu"), r"\[2\] \(Imar Mudurlugu\): name .* must match"),
    ("name with Turkish letter", with_ou(2, name="İmar"), r"\[2\] \(İmar\): name .* must match"),
    ("name twice", with_ou(2, name="Fen-Isleri"), r"\[2\] \(Fen-Isleri\): name .* more than once"),
    ("name twice, other case", with_ou(2, name="fen-isleri"), r"\[2\] \(fen-isleri\): name .* more than once"),
    ("directorate missing", with_ou(2, directorate=...), r"\[2\] \(Imar\): directorate None must be"),
    ("directorate without dir_", with_ou(2, directorate="imar"), r"\[2\] \(Imar\): directorate 'imar' must be"),
    ("directorate upper case", with_ou(2, directorate="dir_Imar"), r"\[2\] \(Imar\): directorate 'dir_Imar' must"),
    ("typo direktorate", with_ou(2, direktorate="dir_imar"), r"\[2\] \(Imar\): unknown key\(s\) direktorate"),
]


@pytest.mark.parametrize(("ous", "message"), [c[1:] for c in OU_CASES], ids=[c[0] for c in OU_CASES])
def test_ou_errors_name_the_ou_and_the_field(ous, message):
    found = problems(ous=ous)
    assert any(re.search(message, p) for p in found), found


@pytest.mark.parametrize(
    ("users", "groups", "ous", "message"),
    [
        ({"username": "a"}, [], [], "directory_users must be a list of mappings, got dict"),
        (["ayse.yilmaz"], [], [], r"directory_users\[0\] must be a mapping, got str"),
        ([], "bim-personel", [], "directory_groups must be a list of mappings, got str"),
        ([], [None], [], r"directory_groups\[0\] must be a mapping, got NoneType"),
        ([], [], {"Imar": "dir_imar"}, "directory_ous must be a list of mappings, got dict"),
        ([], [], [["Imar"]], r"directory_ous\[0\] must be a mapping, got list"),
    ],
)
def test_lists_of_the_wrong_shape_are_problems_not_tracebacks(users, groups, ous, message):
    assert any(re.search(message, p) for p in directory_problems(users, groups, ous, TODAY))


def test_every_problem_is_reported_at_once():
    users = with_user(1, talep=..., ou="Zabita", leving="2026-12-31")
    found = problems(users=users)
    assert len(found) == 3
    assert all(p.startswith("directory_users[1] (mehmet.ozturk): ") for p in found)


def test_personal_data_is_never_quoted():
    users = with_user(1, given_name="Gizli2", surname=" Kişi")
    users[2]["leaving"] = "yarın"
    users[2]["leaving_reason"] = "Gizli sebep"
    found = problems(users=users)
    assert len(found) == 3, found
    assert not any("Gizli" in p or "Kişi" in p for p in found), found


def test_a_bad_today_is_refused():
    with pytest.raises(AnsibleFilterError, match="today: '30.11.2026' is not a date"):
        problems(today="30.11.2026")


# --- directory_account_plan ------------------------------------------------------------------


def plan_states(users, today, retention):
    return {entry["username"]: entry["state"] for entry in directory_account_plan(users, today, retention)}


def leaver(leaving, reason="İK yazısı 2026/1, istifa"):
    return {
        "username": "ali.can",
        "given_name": "Ali",
        "surname": "Can",
        "ou": "Imar",
        "talep": "BIM-2026/0001",
        "leaving": leaving,
        "leaving_reason": reason,
    }


PLAN_CASES = [
    ("leaving tomorrow: still present", "2026-12-01", 180, "present"),
    ("leaving today: disabled from the day", "2026-11-30", 180, "disabled"),
    ("leaving yesterday: disabled", "2026-11-29", 180, "disabled"),
    ("last day of retention: disabled", "2026-06-04", 180, "disabled"),
    ("leaving + retention == today: absent", "2026-06-03", 180, "absent"),
    ("long gone: absent", "2020-01-01", 180, "absent"),
    ("no retention: absent on the leaving day", "2026-11-30", 0, "absent"),
    ("no retention, leaving tomorrow: present", "2026-12-01", 0, "present"),
    ("a date object from YAML", dt.date(2026, 11, 30), 1, "disabled"),
    ("one day retention, the day after", "2026-11-29", 1, "absent"),
]


@pytest.mark.parametrize(("leaving", "retention", "state"), [c[1:] for c in PLAN_CASES], ids=[c[0] for c in PLAN_CASES])
def test_plan_state_around_leaving_and_retention(leaving, retention, state):
    assert plan_states([leaver(leaving)], TODAY, retention) == {"ali.can": state}


def test_plan_of_the_sample_data():
    plan = directory_account_plan(USERS, TODAY, 180)
    assert [entry["username"] for entry in plan] == ["ayse.yilmaz", "emre.kaya", "mehmet.ozturk", "zeynep.ak"]
    assert [entry["state"] for entry in plan] == ["present", "disabled", "present", "absent"]


def test_plan_entries_copy_the_user_and_add_the_state():
    plan = {entry["username"]: entry for entry in directory_account_plan(USERS, TODAY, 180)}
    assert plan["ayse.yilmaz"] == USERS[0] | {"state": "present"}
    assert plan["emre.kaya"] == USERS[2] | {"leaving": "2026-11-30", "delete_on": "2027-05-29", "state": "disabled"}
    assert "reason" not in plan["emre.kaya"]
    assert plan["zeynep.ak"]["reason"] == "İK yazısı 2026/120, emeklilik"
    assert plan["zeynep.ak"]["delete_on"] == "2026-11-30"


def test_plan_copies_do_not_share_lists_with_the_data():
    users = copy.deepcopy(USERS)
    plan = directory_account_plan(users, TODAY, 180)
    plan[0]["groups"].append("imar-personel")
    assert users == USERS


@pytest.mark.parametrize(("today", "retention"), [(dt.date(2026, 11, 30), "180"), ("2026-11-30", 180)])
def test_plan_accepts_a_date_object_and_a_digit_string(today, retention):
    assert plan_states(USERS, today, retention)["zeynep.ak"] == "absent"


@pytest.mark.parametrize(
    ("users", "today", "retention", "message"),
    [
        (USERS, TODAY, -1, "retention_days: -1 is not a whole number"),
        (USERS, TODAY, 1.5, "retention_days: 1.5 is not a whole number"),
        (USERS, TODAY, "yarım yıl", "retention_days: 'yarım yıl' is not a whole number"),
        (USERS, TODAY, None, "retention_days: None is not"),
        (USERS, TODAY, True, "retention_days: True is not a number"),
        (USERS, "30/11/2026", 180, "today: '30/11/2026' is not a date"),
        ({"ayse.yilmaz": {}}, TODAY, 180, "directory_users must be a list"),
        ([USERS[0], "x"], TODAY, 180, r"directory_users\[1\] must be a mapping"),
        ([{"given_name": "Ali"}], TODAY, 180, r"directory_users\[0\] has no username"),
        ([USERS[0], USERS[0]], TODAY, 180, r"directory_users\[1\] \(ayse.yilmaz\) is listed more than once"),
        ([leaver("31.12.2026")], TODAY, 180, r"\[0\] \(ali.can\): leaving '31.12.2026' is not a date"),
        ([leaver("2026-01-01", reason="")], TODAY, 180, r"\[0\] \(ali.can\): leaving is set without a leaving_reason"),
    ],
)
def test_plan_refuses_what_it_cannot_use(users, today, retention, message):
    with pytest.raises(AnsibleFilterError, match=message):
        directory_account_plan(users, today, retention)


def test_plan_never_deletes_without_a_reason():
    user = leaver("2020-01-01")
    del user["leaving_reason"]
    with pytest.raises(AnsibleFilterError, match="without a recorded reason"):
        directory_account_plan([user], TODAY, 180)


# --- directory_share_access ------------------------------------------------------------------

SHARES = [
    {
        "name": "fen-isleri",
        "directorate": "dir_fen_isleri",
        "access": [
            {"group": "fen-isleri-personel", "rights": "change"},
            {"group": "fen-isleri-sef", "rights": "full"},
            {"group": "bim-personel", "rights": "read"},
        ],
    },
    {"name": "imar", "directorate": "dir_imar", "access": [{"group": "imar-personel", "rights": "change"}]},
    {"name": "arsiv", "directorate": "dir_bilgi_islem", "access": []},
]


def test_share_access_rows_from_the_data():
    assert directory_share_access(SHARES, GROUPS, USERS, TODAY) == [
        {"share": "fen-isleri", "user": "ayse.yilmaz", "rights": "full", "via_group": "fen-isleri-sef"},
        {"share": "fen-isleri", "user": "mehmet.ozturk", "rights": "read", "via_group": "bim-personel"},
    ]


def test_strongest_right_wins_through_two_groups_in_either_order():
    reversed_access = copy.deepcopy(SHARES)
    reversed_access[0]["access"].reverse()
    for shares in (SHARES, reversed_access):
        rows = directory_share_access(shares, GROUPS, USERS, TODAY)
        assert {"share": "fen-isleri", "user": "ayse.yilmaz", "rights": "full", "via_group": "fen-isleri-sef"} in rows


def test_same_right_through_two_groups_names_the_first_group_by_name():
    shares = [
        {
            "name": "ortak",
            "directorate": "dir_bilgi_islem",
            "access": [
                {"group": "fen-isleri-sef", "rights": "read"},
                {"group": "fen-isleri-personel", "rights": "read"},
            ],
        }
    ]
    assert directory_share_access(shares, GROUPS, USERS, TODAY) == [
        {"share": "ortak", "user": "ayse.yilmaz", "rights": "read", "via_group": "fen-isleri-personel"}
    ]


def test_membership_comes_from_both_lists():
    shares = [
        {"name": "bim", "directorate": "dir_bilgi_islem", "access": [{"group": "bim-personel", "rights": "full"}]}
    ]
    users = with_user(0, groups=["bim-personel"])
    rows = directory_share_access(shares, GROUPS, users, TODAY)
    # ayse.yilmaz through her own groups list, mehmet.ozturk through the group's members list
    assert [(r["user"], r["via_group"]) for r in rows] == [
        ("ayse.yilmaz", "bim-personel"),
        ("mehmet.ozturk", "bim-personel"),
    ]


def test_leavers_lose_access_on_their_leaving_day():
    # emre.kaya leaves on TODAY and zeynep.ak left earlier: neither reaches imar today
    assert [r for r in directory_share_access(SHARES, GROUPS, USERS, TODAY) if r["share"] == "imar"] == []
    day_before = directory_share_access(SHARES, GROUPS, USERS, "2026-11-29")
    assert [r["user"] for r in day_before if r["share"] == "imar"] == ["emre.kaya"]
    assert {"share": "fen-isleri", "user": "emre.kaya", "rights": "change", "via_group": "fen-isleri-personel"} in (
        day_before
    )


def test_rows_are_sorted_by_share_then_user():
    shares = [
        {"name": "z-share", "access": [{"group": "fen-isleri-personel", "rights": "read"}]},
        {"name": "a-share", "access": [{"group": "imar-personel", "rights": "read"}]},
    ]
    rows = directory_share_access(shares, GROUPS, USERS, "2026-01-01")
    assert [(r["share"], r["user"]) for r in rows] == [
        ("a-share", "emre.kaya"),
        ("a-share", "zeynep.ak"),
        ("z-share", "ayse.yilmaz"),
        ("z-share", "emre.kaya"),
    ]


@pytest.mark.parametrize(
    ("shares", "groups", "users", "message"),
    [
        ({"name": "imar"}, GROUPS, USERS, "shares must be a list"),
        ([{"access": []}], GROUPS, USERS, r"shares\[0\] must be a mapping with a name"),
        ([{"name": "imar", "access": "imar-personel"}], GROUPS, USERS, r"shares\[0\] \(imar\): access must be a list"),
        (
            [{"name": "imar", "access": [{"group": "imar", "rights": "read"}]}],
            GROUPS,
            USERS,
            r"shares\[0\] \(imar\): access\[0\]: group 'imar' is not a group in directory_groups",
        ),
        (
            [{"name": "imar", "access": [{"group": "imar-personel", "rights": "write"}]}],
            GROUPS,
            USERS,
            r"shares\[0\] \(imar\): access\[0\]: rights 'write' must be one of read, change, full",
        ),
        ([], GROUPS, with_user(0, groups=["yok"]), r"directory_users\[0\] \(ayse.yilmaz\): groups: 'yok' is not"),
        ([], with_group(3, members=["yok"]), USERS, r"directory_groups\[3\] \(imar-personel\): members: 'yok' is not"),
        ([], [{"ou": "Imar"}], USERS, "directory_groups must be a list of mappings with a name"),
        ([], GROUPS, with_user(2, leaving="yarın"), r"directory_users\[2\] \(emre.kaya\): leaving 'yarın' is not"),
    ],
)
def test_share_access_refuses_inconsistent_data(shares, groups, users, message):
    with pytest.raises(AnsibleFilterError, match=message):
        directory_share_access(shares, groups, users, TODAY)
