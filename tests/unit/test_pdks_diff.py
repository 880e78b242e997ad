"""plugins/module_utils/belediye_pdks.py: the pure functions behind the pdks_* modules."""

# Keypad PINs in these tests are data under test, not credentials.
# ruff: noqa: S105, S106

import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))

import belediye_pdks as pdks  # noqa: E402

LONG_TR = "Ayşe Çağlar Işıkgöz Ünlü"


@pytest.mark.parametrize(
    ("name", "encoding", "expected"),
    [
        pytest.param("Ali Veli", "utf-8", "Ali Veli", id="short-ascii-unchanged"),
        pytest.param(LONG_TR, "utf-8", "Ayşe Çağlar Işıkgö", id="utf8-turkish-cut-at-24-bytes"),
        pytest.param(LONG_TR, "cp1254", "Ayşe Çağlar Işıkgöz Ünlü", id="cp1254-one-byte-letters-fit"),
        pytest.param("Şükrü Öztürkoğlu Çelikkıran", "cp1254", "Şükrü Öztürkoğlu Çelikkı", id="cp1254-cut-at-24"),
        pytest.param("ĞĞĞĞĞĞĞĞĞĞĞĞx", "utf-8", "ĞĞĞĞĞĞĞĞĞĞĞĞ", id="utf8-exactly-24-bytes"),
        pytest.param("aĞĞĞĞĞĞĞĞĞĞĞĞ", "utf-8", "aĞĞĞĞĞĞĞĞĞĞĞ", id="utf8-letter-split-in-half-dropped"),
        pytest.param("Zoë 😀 Kaya", "cp1254", "Zoë  Kaya", id="cp1254-unencodable-dropped"),
        pytest.param("Ahmet Yılmaz         ", "utf-8", "Ahmet Yılmaz", id="trailing-spaces-stripped"),
        pytest.param("", "utf-8", "NN-1001", id="empty-name-reads-back-as-NN"),
    ],
)
def test_stored_name(name, encoding, expected):
    assert pdks.stored_name(name, "1001", encoding) == expected
    assert len(expected.encode(encoding)) <= 24 or expected.startswith("NN-")


@pytest.mark.parametrize(
    ("name", "code"),
    [pytest.param("user", 0, id="user-0"), pytest.param("admin", 14, id="admin-14")],
)
def test_privilege_mapping_round_trips(name, code):
    assert pdks.privilege_code(name) == code
    assert pdks.privilege_name(code) == name


def test_unknown_privilege_is_refused_not_coerced():
    with pytest.raises(pdks.PlanError, match="privilege"):
        pdks.privilege_code("manager")
    assert pdks.privilege_name(6) == "level-6"


@pytest.mark.parametrize(
    ("users", "message"),
    [
        pytest.param([{"sicil": ""}], "no sicil", id="empty-sicil"),
        pytest.param([{"sicil": "1"}, {"sicil": "1"}], "twice", id="duplicate-sicil"),
        pytest.param([{"sicil": "1", "card": 2**32}], "card", id="card-too-large"),
        pytest.param([{"sicil": "1", "password": "123456789"}], "password", id="pin-too-long"),
        pytest.param([{"sicil": "ş1"}], "ASCII", id="non-ascii-sicil"),
    ],
)
def test_invalid_desired_users_are_refused(users, message):
    with pytest.raises(pdks.PlanError, match=message):
        pdks.normalise_desired(users)


def test_unknown_encoding_is_refused():
    with pytest.raises(pdks.PlanError, match="encoding"):
        pdks.normalise_desired([], "klingon")


def dev(uid, sicil, name="X", privilege=0, card=0, password=""):
    return {"uid": uid, "sicil": sicil, "name": name, "privilege": privilege, "card": card, "password": password,
            "group": ""}  # fmt: skip


def want(*users, encoding="utf-8"):
    return pdks.normalise_desired(list(users), encoding)


PLAN_CASES = [
    # name, desired, current, kwargs, expected add/update/remove sicils, kept admins, changes
    (
        "empty-device-adds-all",
        want({"sicil": "1", "name": "A"}, {"sicil": "2", "name": "B"}),
        [],
        {},
        (["1", "2"], [], []),
        [],
        {"1": ["created"], "2": ["created"]},
    ),
    ("same-state-no-change", want({"sicil": "1", "name": "A"}), [dev(1, "1", "A")], {}, ([], [], []), [], {}),
    (
        "long-turkish-name-as-stored-no-change",
        want({"sicil": "1", "name": LONG_TR}),
        [dev(4, "1", "Ayşe Çağlar Işıkgö")],
        {},
        ([], [], []),
        [],
        {},
    ),
    (
        "long-turkish-name-cp1254-as-stored-no-change",
        want({"sicil": "1", "name": LONG_TR}, encoding="cp1254"),
        [dev(4, "1", LONG_TR)],
        {},
        ([], [], []),
        [],
        {},
    ),
    (
        "name-change-updates",
        want({"sicil": "1", "name": "B"}),
        [dev(1, "1", "A")],
        {},
        ([], ["1"], []),
        [],
        {"1": ["name"]},
    ),
    (
        "card-change-updates",
        want({"sicil": "1", "name": "A", "card": 7654321}),
        [dev(1, "1", "A", card=1234567)],
        {},
        ([], ["1"], []),
        [],
        {"1": ["card"]},
    ),
    (
        "privilege-change-updates",
        want({"sicil": "1", "name": "A", "privilege": "admin"}),
        [dev(1, "1", "A")],
        {},
        ([], ["1"], []),
        [],
        {"1": ["privilege"]},
    ),
    (
        "extra-user-kept-without-purge",
        want({"sicil": "1", "name": "A"}),
        [dev(1, "1", "A"), dev(2, "2")],
        {},
        ([], [], []),
        [],
        {},
    ),
    (
        "extra-user-removed-with-purge",
        want({"sicil": "1", "name": "A"}),
        [dev(1, "1", "A"), dev(2, "2")],
        {"purge": True},
        ([], [], ["2"]),
        [],
        {"2": ["removed"]},
    ),
    ("admin-kept-with-purge", want(), [dev(1, "9", privilege=14)], {"purge": True}, ([], [], []), ["9"], {}),
    ("other-privilege-kept-with-purge", want(), [dev(1, "9", privilege=6)], {"purge": True}, ([], [], []), ["9"], {}),
    (
        "admin-removed-with-remove-admins",
        want(),
        [dev(1, "9", privilege=14)],
        {"purge": True, "remove_admins": True},
        ([], [], ["9"]),
        [],
        {"9": ["removed"]},
    ),
    (
        "remove-admins-alone-removes-nothing",
        want(),
        [dev(1, "9", privilege=14)],
        {"remove_admins": True},
        ([], [], []),
        [],
        {},
    ),
    (
        "pin-not-updated-on-create-mode",
        want({"sicil": "1", "name": "A", "password": "9999"}),
        [dev(1, "1", "A", password="1111")],
        {},
        ([], [], []),
        [],
        {},
    ),
    (
        "pin-updated-in-always-mode",
        want({"sicil": "1", "name": "A", "password": "9999"}),
        [dev(1, "1", "A", password="1111")],
        {"update_password": "always"},
        ([], ["1"], []),
        [],
        {"1": ["password"]},
    ),
    (
        "pin-equal-in-always-mode-no-change",
        want({"sicil": "1", "name": "A", "password": "1111"}),
        [dev(1, "1", "A", password="1111")],
        {"update_password": "always"},
        ([], [], []),
        [],
        {},
    ),
    (
        "duplicate-slot-removed-with-purge",
        want({"sicil": "1", "name": "A"}),
        [dev(1, "1", "A"), dev(5, "1", "A")],
        {"purge": True},
        ([], [], ["1"]),
        [],
        {"1": ["removed"]},
    ),
]


@pytest.mark.parametrize(
    ("desired", "current", "kwargs", "expected", "kept", "changes"),
    [pytest.param(*case[1:], id=case[0]) for case in PLAN_CASES],
)
def test_plan_users(desired, current, kwargs, expected, kept, changes):
    plan = pdks.plan_users(desired, current, **kwargs)
    got = tuple([u["sicil"] for u in plan[k]] for k in ("add", "update", "remove"))
    assert got == expected
    assert plan["kept_admins"] == kept
    assert plan["changes"] == changes
    assert pdks.plan_changed(plan) == any(expected)


def test_new_uids_go_above_the_highest_slot_in_use():
    plan = pdks.plan_users(want({"sicil": "a"}, {"sicil": "b"}), [dev(3, "x"), dev(40, "y"), dev(7, "z")])
    assert [u["uid"] for u in plan["add"]] == [41, 42]


def test_removed_slots_are_not_reused_in_the_same_run():
    plan = pdks.plan_users(want({"sicil": "new"}), [dev(9, "old")], purge=True)
    assert [u["uid"] for u in plan["remove"]] == [9]
    assert [u["uid"] for u in plan["add"]] == [10]


def test_uid_space_exhausted_is_an_error():
    with pytest.raises(pdks.PlanError, match="uid"):
        pdks.allocate_uids([0xFFFF], 1)


def test_update_keeps_the_devices_pin_and_group():
    current = [dict(dev(1, "1", "A", password="4321"), group="3")]
    plan = pdks.plan_users(want({"sicil": "1", "name": "B"}), current)
    assert plan["update"][0]["password"] == "4321"
    assert plan["update"][0]["group"] == "3"
    assert plan["update"][0]["uid"] == 1


def test_diff_view_hides_names_cards_and_pins():
    key = b"k" * 16
    text = pdks.diff_view([dev(1, "1001", "Ayşe Çağlar", card=12345678, password="4321")], key)
    assert "1001" in text
    assert "privilege=user" in text
    for secret in ("Ayşe", "12345678", "4321"):
        assert secret not in text
    assert pdks.pseudonym("Ayşe", key) == pdks.pseudonym("Ayşe", key) != pdks.pseudonym("Ayse", key)
    assert pdks.pseudonym("Ayşe", key) != pdks.pseudonym("Ayşe", b"other-key-here!!")


IST = ZoneInfo("Europe/Istanbul")
NOW = dt.datetime(2026, 11, 28, 9, 0, 0, tzinfo=IST)


@pytest.mark.parametrize(
    ("device", "max_drift", "drift", "exceeds"),
    [
        pytest.param(dt.datetime(2026, 11, 28, 9, 0, 0), 30, 0, False, id="in-sync"),
        pytest.param(dt.datetime(2026, 11, 28, 9, 0, 30), 30, 30, False, id="ahead-at-limit-left-alone"),
        pytest.param(dt.datetime(2026, 11, 28, 9, 0, 31), 30, 31, True, id="ahead-past-limit"),
        pytest.param(dt.datetime(2026, 11, 28, 8, 59, 30), 30, -30, False, id="behind-at-limit-left-alone"),
        pytest.param(dt.datetime(2026, 11, 28, 8, 59, 29), 30, -31, True, id="behind-past-limit"),
        pytest.param(dt.datetime(2026, 11, 28, 6, 0, 0), 30, -3 * 3600, True, id="device-on-utc-is-3h-behind"),
        pytest.param(dt.datetime(2026, 11, 28, 9, 0, 5), 0, 5, True, id="zero-tolerance"),
    ],
)
def test_clock_drift(device, max_drift, drift, exceeds):
    got = pdks.clock_drift(device, NOW, "Europe/Istanbul")
    assert got == drift
    assert pdks.drift_exceeds(got, max_drift) is exceeds


def test_clock_drift_uses_the_zone_not_the_utc_offset_of_now():
    utc_now = NOW.astimezone(dt.UTC)
    assert pdks.clock_drift(dt.datetime(2026, 11, 28, 9, 0, 0), utc_now, "Europe/Istanbul") == 0


def punch(sicil, ts, p=0):
    return {"sicil": sicil, "timestamp": ts, "status": 1, "punch": p}


@pytest.mark.parametrize(
    ("records", "existing", "expected"),
    [
        pytest.param([], set(), {}, id="nothing"),
        pytest.param(
            [punch("1", "2026-11-02T08:00:00"), punch("1", "2026-11-03T08:00:00")],
            set(),
            {"2026-11-02": 1, "2026-11-03": 1},
            id="one-file-per-day",
        ),
        pytest.param(
            [punch("1", "2026-11-02T08:00:00"), punch("1", "2026-11-02T08:00:00")],
            set(),
            {"2026-11-02": 1},
            id="duplicate-on-device-once",
        ),
        pytest.param(
            [punch("1", "2026-11-02T08:00:00")],
            {("1", "2026-11-02T08:00:00", 0)},
            {},
            id="already-stored-skipped",
        ),
        pytest.param(
            [punch("1", "2026-11-02T08:00:00", 0), punch("1", "2026-11-02T08:00:00", 1)],
            {("1", "2026-11-02T08:00:00", 0)},
            {"2026-11-02": 1},
            id="same-time-other-punch-kept",
        ),
        pytest.param(
            [punch("1", "2026-11-02T08:00:00"), punch("2", "2026-11-02T08:00:00")],
            set(),
            {"2026-11-02": 2},
            id="same-time-other-sicil-kept",
        ),
    ],
)
def test_new_attendance(records, existing, expected):
    got = pdks.new_attendance(records, existing)
    assert {day: len(rows) for day, rows in got.items()} == expected
