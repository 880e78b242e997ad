"""plugins/filter/isms.py: which controls a host enforces, inventory exceptions, audit result lines."""

import datetime
from pathlib import Path

import isms
import pytest
import yaml
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "isms_baseline"

TODAY = datetime.date(2026, 12, 1)
YESTERDAY = "2026-11-30"
TOMORROW = "2026-12-02"

# A small catalogue with one control of every kind the rules distinguish.
CATALOGUE = {
    "controls": [
        {
            "id": "BGYS-SSH-01",
            "status": "implemented",
            "applies_to": ["server", "desktop"],
            "toggle": "isms_baseline_bgys_ssh_01",
        },
        {
            "id": "BGYS-SSH-07",
            "status": "opt-in",
            "applies_to": ["server", "desktop"],
            "toggle": "isms_baseline_bgys_ssh_07",
        },
        {"id": "BGYS-KRN-04", "status": "implemented", "applies_to": ["server"], "toggle": "isms_baseline_bgys_krn_04"},
        {
            "id": "BGYS-FS-04",
            "status": "exception",
            "applies_to": ["server", "desktop"],
            "toggle": "isms_baseline_bgys_fs_04",
            "status_note": {"tr": "Bölümler kurulumda belirlenir.", "en": "Partitions are fixed at installation."},
        },
        {
            "id": "BGYS-ACC-04",
            "status": "verify-only",
            "applies_to": ["server", "desktop"],
            "toggle": "isms_baseline_bgys_acc_04",
        },
    ]
}


def exception(expires=TOMORROW, **extra) -> dict:
    return {
        "justification": "Scanner needs it until the new one arrives",
        "owner": "ayse.yilmaz",
        "expires": expires,
        **extra,
    }


def plan(toggles=None, host_class="server", exceptions=None, today=TODAY) -> dict:
    return isms.isms_plan(CATALOGUE, toggles or {}, host_class, exceptions or {}, today)


# --- isms_plan --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("control", "host_class", "toggles", "exceptions", "expected"),
    [
        pytest.param(
            "BGYS-KRN-04",
            "desktop",
            {},
            {},
            {"applies": False, "enforce": False, "audit": False, "exception": None, "finding": ""},
            id="control-of-another-class-is-not-applicable",
        ),
        pytest.param(
            "BGYS-KRN-04",
            "server",
            {},
            {},
            {"applies": True, "enforce": True, "audit": True, "exception": None, "finding": ""},
            id="control-of-the-host-class-is-enforced",
        ),
        pytest.param(
            "BGYS-SSH-01",
            "server",
            {},
            {},
            {"enforce": True, "audit": True, "toggle": True, "finding": ""},
            id="mandatory-control-is-enforced-when-its-toggle-is-left-out",
        ),
        pytest.param(
            "BGYS-FS-04",
            "server",
            {},
            {},
            {"applies": True, "enforce": False, "audit": True, "finding": ""},
            id="catalogue-exception-is-never-enforced-but-audited",
        ),
        pytest.param(
            "BGYS-FS-04",
            "server",
            {"BGYS-FS-04": True},
            {},
            {"enforce": False},
            id="catalogue-exception-stays-off-even-when-its-toggle-is-on",
        ),
        pytest.param(
            "BGYS-SSH-01",
            "server",
            {},
            {"BGYS-SSH-01": exception(TOMORROW)},
            {"enforce": False, "audit": True, "finding": ""},
            id="active-inventory-exception-switches-enforcement-off",
        ),
        pytest.param(
            "BGYS-SSH-01",
            "server",
            {},
            {"BGYS-SSH-01": exception(TODAY.isoformat())},
            {"enforce": False, "finding": ""},
            id="exception-expiring-today-is-still-active",
        ),
        pytest.param(
            "BGYS-SSH-01",
            "server",
            {},
            {"BGYS-SSH-01": exception(YESTERDAY)},
            {"enforce": True, "audit": True, "finding": f"exception expired on {YESTERDAY}; control enforced again"},
            id="exception-expired-yesterday-is-enforced-again-with-a-finding",
        ),
        pytest.param(
            "BGYS-ACC-04",
            "server",
            {},
            {},
            {"enforce": False, "audit": True, "finding": ""},
            id="verify-only-control-is-audited-but-never-enforced",
        ),
        pytest.param(
            "BGYS-ACC-04",
            "server",
            {"BGYS-ACC-04": True},
            {},
            {"enforce": False, "audit": True},
            id="verify-only-control-is-not-enforced-even-with-its-toggle-on",
        ),
        pytest.param(
            "BGYS-SSH-07",
            "server",
            {},
            {},
            {"applies": True, "enforce": False, "audit": False, "toggle": False, "finding": ""},
            id="opt-in-control-left-off-is-neither-enforced-nor-audited",
        ),
        pytest.param(
            "BGYS-SSH-07",
            "server",
            {"BGYS-SSH-07": True},
            {},
            {"enforce": True, "audit": True, "finding": ""},
            id="opt-in-control-switched-on-is-enforced",
        ),
        pytest.param(
            "BGYS-SSH-01",
            "server",
            {"BGYS-SSH-01": False},
            {},
            {
                "enforce": False,
                "audit": True,
                "finding": "switched off (isms_baseline_bgys_ssh_01: false) without an exception",
            },
            id="mandatory-control-switched-off-without-exception-is-audited-with-a-finding",
        ),
        pytest.param(
            "BGYS-SSH-01",
            "server",
            {"BGYS-SSH-01": "false"},
            {},
            {
                "enforce": False,
                "audit": True,
                "finding": "switched off (isms_baseline_bgys_ssh_01: false) without an exception",
            },
            # An INI inventory or `-e isms_baseline_bgys_ssh_01=false` gives the text "false";
            # tasks/assert.yml accepts it as a boolean toggle.
            id="toggle-given-as-the-text-false-switches-the-control-off",
        ),
        pytest.param(
            "BGYS-KRN-04",
            "desktop",
            {},
            {"BGYS-KRN-04": exception(YESTERDAY)},
            {"applies": False, "enforce": False, "audit": False, "finding": ""},
            id="expired-exception-of-a-not-applicable-control-gives-no-finding",
        ),
    ],
)
def test_plan_decides_per_control(control, host_class, toggles, exceptions, expected):
    decision = plan(toggles, host_class, exceptions)[control]
    assert {key: decision[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("control", "exceptions", "expected"),
    [
        pytest.param(
            "BGYS-FS-04",
            {},
            {
                "source": "catalogue",
                "justification": "Partitions are fixed at installation.",
                "owner": "",
                "expires": "",
                "expired": False,
            },
            id="catalogue-exception-carries-the-catalogue-note",
        ),
        pytest.param(
            "BGYS-SSH-01",
            {"BGYS-SSH-01": exception(TOMORROW, talep="2026/1234")},
            {
                "source": "inventory",
                "justification": "Scanner needs it until the new one arrives",
                "owner": "ayse.yilmaz",
                "expires": TOMORROW,
                "talep": "2026/1234",
                "expired": False,
            },
            id="active-inventory-exception-carries-justification-owner-expiry-and-request",
        ),
        pytest.param(
            "BGYS-SSH-01",
            {"BGYS-SSH-01": exception(datetime.date(2026, 11, 30))},
            {
                "source": "inventory",
                "justification": "Scanner needs it until the new one arrives",
                "owner": "ayse.yilmaz",
                "expires": YESTERDAY,
                "talep": "",
                "expired": True,
            },
            id="expired-exception-given-as-a-yaml-date-is-kept-and-marked-expired",
        ),
        pytest.param("BGYS-SSH-01", {}, None, id="control-without-exception-has-none"),
    ],
)
def test_plan_records_the_exception_that_covers_a_control(control, exceptions, expected):
    assert plan(exceptions=exceptions)[control]["exception"] == expected


def test_plan_accepts_today_as_a_date_object_or_text_alike():
    exceptions = {"BGYS-SSH-01": exception(YESTERDAY)}
    assert plan(exceptions=exceptions, today=TODAY) == plan(exceptions=exceptions, today=TODAY.isoformat())


def test_expired_exception_of_a_switched_off_control_does_not_claim_it_is_enforced():
    decision = plan({"BGYS-SSH-01": False}, exceptions={"BGYS-SSH-01": exception(YESTERDAY)})["BGYS-SSH-01"]
    assert decision["enforce"] is False
    # The finding is what the run prints and the auditor reads: it must not say "enforced again"
    # for a control that stays off, and it must name the toggle that keeps it off.
    assert "enforced again" not in decision["finding"]
    assert "isms_baseline_bgys_ssh_01: false" in decision["finding"]


@pytest.mark.parametrize(
    ("catalogue", "host_class", "exceptions", "today", "message"),
    [
        pytest.param(CATALOGUE, "laptop", {}, TODAY, "'laptop'", id="unknown-host-class"),
        pytest.param(CATALOGUE, "server", {}, "yesterday", "'yesterday'", id="today-is-not-a-date"),
        pytest.param(CATALOGUE, "server", {}, None, "None", id="today-is-missing"),
        pytest.param(
            {"controls": [{"id": "BGYS-SSH-01", "status": "planned"}]},
            "server",
            {},
            TODAY,
            "'planned'",
            id="control-with-an-unknown-status",
        ),
        pytest.param(
            {"controls": [{"id": "SSH-1", "status": "implemented"}]},
            "server",
            {},
            TODAY,
            "SSH-1",
            id="control-with-a-malformed-id",
        ),
        pytest.param(
            {"controls": "BGYS-SSH-01"}, "server", {}, TODAY, "list of controls", id="catalogue-that-is-not-a-list"
        ),
        pytest.param(
            CATALOGUE,
            "server",
            {"BGYS-XXX-99": exception()},
            TODAY,
            "BGYS-XXX-99",
            id="exception-of-an-unknown-control",
        ),
    ],
)
def test_plan_rejects_bad_input_naming_it(catalogue, host_class, exceptions, today, message):
    with pytest.raises(AnsibleFilterError) as err:
        isms.isms_plan(catalogue, {}, host_class, exceptions, today)
    assert message in str(err.value)


# --- isms_exception_problems ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exceptions", "control", "fragment"),
    [
        pytest.param({"BGYS-XXX-99": exception()}, "BGYS-XXX-99", "no control with this id", id="unknown-control"),
        pytest.param(
            {"BGYS-SSH-01": {"justification": "x", "expires": TOMORROW}}, "BGYS-SSH-01", ".owner:", id="missing-owner"
        ),
        pytest.param({"BGYS-SSH-01": exception(owner="  ")}, "BGYS-SSH-01", ".owner:", id="blank-owner"),
        pytest.param(
            {"BGYS-SSH-01": {"owner": "ayse", "expires": TOMORROW}},
            "BGYS-SSH-01",
            ".justification:",
            id="missing-justification",
        ),
        pytest.param(
            {"BGYS-SSH-01": {"owner": "ayse", "justification": "x"}},
            "BGYS-SSH-01",
            ".expires: missing",
            id="missing-expiry",
        ),
        pytest.param(
            {"BGYS-SSH-01": exception("2027-02-30")}, "BGYS-SSH-01", "'2027-02-30' is not a date", id="impossible-date"
        ),
        pytest.param({"BGYS-SSH-01": exception("next spring")}, "BGYS-SSH-01", "is not a date", id="text-date"),
        pytest.param({"BGYS-SSH-01": exception(2027)}, "BGYS-SSH-01", "is not a date", id="year-only"),
        pytest.param(
            {"BGYS-SSH-01": exception(approver="mehmet")}, "BGYS-SSH-01", "unknown keys approver", id="unknown-key"
        ),
        pytest.param(
            {"BGYS-FS-04": exception()},
            "BGYS-FS-04",
            "organisation-wide exception",
            id="exception-of-a-catalogue-level-exception",
        ),
        pytest.param(
            {"BGYS-SSH-01": "until March"}, "BGYS-SSH-01", "must be a mapping", id="exception-that-is-not-a-mapping"
        ),
    ],
)
def test_malformed_exception_gives_one_message_naming_host_and_control(exceptions, control, fragment):
    problems = isms.isms_exception_problems(exceptions, CATALOGUE, "web-01")
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"web-01: isms_baseline_exceptions[{control}]")
    assert fragment in problems[0]


@pytest.mark.parametrize(
    "exceptions",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty-text-from-an-unset-variable"),
        pytest.param({}, id="empty-mapping"),
        pytest.param({"BGYS-SSH-01": exception()}, id="complete-exception"),
        pytest.param({"BGYS-SSH-01": exception(talep="2026/1234")}, id="with-request-number"),
        pytest.param({"BGYS-SSH-01": exception(datetime.date(2027, 3, 31))}, id="expiry-as-a-yaml-date"),
        pytest.param({"BGYS-SSH-01": exception(YESTERDAY)}, id="expired-is-sound-just-not-active"),
    ],
)
def test_sound_exceptions_have_no_problems(exceptions):
    assert isms.isms_exception_problems(exceptions, CATALOGUE, "web-01") == []


def test_exceptions_that_are_not_a_mapping_are_one_problem_naming_the_host():
    problems = isms.isms_exception_problems(["BGYS-SSH-01"], CATALOGUE, "web-01")
    assert len(problems) == 1
    assert problems[0].startswith("web-01: isms_baseline_exceptions must be a mapping")


def test_every_problem_of_one_exception_is_reported_at_once():
    problems = isms.isms_exception_problems({"BGYS-SSH-01": {"expires": "soon"}}, CATALOGUE, "web-01")
    assert [p.split(": ", 2)[1] for p in problems] == [
        "isms_baseline_exceptions[BGYS-SSH-01].justification",
        "isms_baseline_exceptions[BGYS-SSH-01].owner",
        "isms_baseline_exceptions[BGYS-SSH-01].expires",
    ]


# --- isms_merge_exceptions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        pytest.param(
            [{"BGYS-SSH-01": exception()}, {"BGYS-KRN-04": exception(YESTERDAY)}],
            {"BGYS-SSH-01": exception(), "BGYS-KRN-04": exception(YESTERDAY)},
            id="two-sources-are-merged",
        ),
        pytest.param(
            [{"BGYS-SSH-01": exception()}, {"BGYS-SSH-01": exception()}],
            {"BGYS-SSH-01": exception()},
            id="same-exception-twice-is-kept-once",
        ),
        pytest.param(
            [{}, None, {"BGYS-SSH-01": exception()}],
            {"BGYS-SSH-01": exception()},
            id="empty-and-unset-sources-are-skipped",
        ),
        pytest.param({"BGYS-SSH-01": exception()}, {"BGYS-SSH-01": exception()}, id="single-mapping"),
        pytest.param([], {}, id="no-sources"),
    ],
)
def test_merge_exceptions(sources, expected):
    assert isms.merge_exceptions(sources) == expected


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        pytest.param(
            [{"BGYS-SSH-01": exception()}, {"BGYS-SSH-01": exception(YESTERDAY)}],
            "control BGYS-SSH-01 has two different exceptions",
            id="same-control-two-different-exceptions",
        ),
        pytest.param(
            [{"BGYS-SSH-01": exception()}, ["BGYS-KRN-04"]], "not ['BGYS-KRN-04']", id="source-that-is-not-a-mapping"
        ),
    ],
)
def test_merge_exceptions_rejects_conflicts_and_bad_sources(sources, message):
    with pytest.raises(AnsibleFilterError) as err:
        isms.merge_exceptions(sources)
    assert message in str(err.value)


# --- isms_results -----------------------------------------------------------------------------

PASSED = {"passed": True, "mode": "live", "evidence": ["sshd passwordauthentication = 'no' (want 'no')"]}
FAILED = {"passed": False, "mode": "config", "evidence": ["FAIL sshd passwordauthentication = 'yes' (want 'no')"]}


def result(control, probe, toggles=None, host_class="server", exceptions=None, mode="live") -> dict:
    decisions = plan(toggles, host_class, exceptions)
    probes = {control: probe} if probe is not None else {}
    lines = isms.isms_results({control: decisions[control]}, probes, mode)
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize(
    ("control", "probe", "toggles", "host_class", "exceptions", "expected"),
    [
        pytest.param(
            "BGYS-SSH-01",
            PASSED,
            {},
            "server",
            {},
            {"result": "pass", "mode": "live", "evidence": PASSED["evidence"]},
            id="enforced-control-whose-checks-pass-is-pass",
        ),
        pytest.param(
            "BGYS-SSH-01",
            FAILED,
            {},
            "server",
            {},
            {"result": "fail", "mode": "config", "evidence": FAILED["evidence"]},
            id="enforced-control-whose-checks-fail-is-fail",
        ),
        pytest.param(
            "BGYS-SSH-01",
            {"passed": True, "evidence": []},
            {},
            "server",
            {},
            {"result": "pass", "mode": "live"},
            id="probe-without-mode-takes-the-run-mode",
        ),
        pytest.param(
            "BGYS-SSH-01",
            None,
            {},
            "server",
            {},
            {"result": "fail", "finding": "no audit check ran for this control", "evidence": []},
            id="missing-probe-is-fail-with-a-finding",
        ),
        pytest.param(
            "BGYS-KRN-04",
            PASSED,
            {},
            "desktop",
            {},
            {"result": "not_applicable", "reason": "applies to server hosts only"},
            id="control-of-another-class-is-not-applicable",
        ),
        pytest.param(
            "BGYS-SSH-07",
            None,
            {},
            "server",
            {},
            {"result": "not_applicable", "reason": "opt-in control, not switched on for this host"},
            id="opt-in-control-switched-off-is-not-applicable",
        ),
        pytest.param(
            "BGYS-SSH-07",
            FAILED,
            {"BGYS-SSH-07": True},
            "server",
            {},
            {"result": "fail"},
            id="opt-in-control-switched-on-is-judged-by-its-checks",
        ),
        pytest.param(
            "BGYS-FS-04",
            None,
            {},
            "server",
            {},
            {"result": "exception", "mode": "catalogue"},
            id="catalogue-exception-is-exception",
        ),
        pytest.param(
            "BGYS-FS-04",
            FAILED,
            {},
            "server",
            {},
            {"result": "exception", "mode": "config"},
            id="catalogue-exception-stays-exception-whatever-its-checks-say",
        ),
        pytest.param(
            "BGYS-SSH-01",
            FAILED,
            {},
            "server",
            {"BGYS-SSH-01": exception()},
            {"result": "exception", "evidence": FAILED["evidence"]},
            id="active-inventory-exception-is-exception-with-the-evidence",
        ),
        pytest.param(
            "BGYS-SSH-01",
            FAILED,
            {},
            "server",
            {"BGYS-SSH-01": exception(YESTERDAY)},
            {"result": "fail", "finding": f"exception expired on {YESTERDAY}; control enforced again"},
            id="expired-exception-is-judged-by-the-checks-with-a-finding",
        ),
        pytest.param(
            "BGYS-SSH-01",
            PASSED,
            {"BGYS-SSH-01": False},
            "server",
            {},
            {"result": "pass", "finding": "switched off (isms_baseline_bgys_ssh_01: false) without an exception"},
            id="switched-off-control-is-audited-and-keeps-its-finding-even-when-it-passes",
        ),
        pytest.param(
            "BGYS-ACC-04",
            FAILED,
            {},
            "server",
            {},
            {"result": "fail"},
            id="verify-only-control-is-judged-by-its-checks",
        ),
    ],
)
def test_results_line(control, probe, toggles, host_class, exceptions, expected):
    line = result(control, probe, toggles, host_class, exceptions)
    assert line["id"] == control
    assert {key: line.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("control", "exceptions", "has_exception", "has_finding"),
    [
        pytest.param("BGYS-SSH-01", {}, False, False, id="plain-pass-has-neither"),
        pytest.param("BGYS-SSH-01", {"BGYS-SSH-01": exception()}, True, False, id="active-exception-has-exception"),
        pytest.param("BGYS-SSH-01", {"BGYS-SSH-01": exception(YESTERDAY)}, True, True, id="expired-has-both"),
    ],
)
def test_results_line_carries_exception_and_finding_only_when_there_is_one(
    control, exceptions, has_exception, has_finding
):
    line = result(control, PASSED, exceptions=exceptions)
    assert ("exception" in line) is has_exception
    assert ("finding" in line) is has_finding


def test_results_line_copies_the_evidence_instead_of_sharing_the_probe_list():
    probe = {"passed": True, "mode": "live", "evidence": ["a"]}
    line = result("BGYS-SSH-01", probe)
    line["evidence"].append("b")
    assert probe["evidence"] == ["a"]


@pytest.mark.parametrize("bad_plan", [None, ["BGYS-SSH-01"], "plan"], ids=["none", "list", "text"])
def test_results_reject_a_plan_that_is_not_the_mapping_of_isms_plan(bad_plan):
    with pytest.raises(AnsibleFilterError, match="the plan must be the mapping made by isms_plan"):
        isms.isms_results(bad_plan, {}, "live")


def test_filter_plugin_exposes_the_filters_by_their_documented_names():
    names = set(isms.FilterModule().filters())
    assert names == {
        "isms_exception_problems",
        "isms_merge_exceptions",
        "isms_plan",
        "isms_results",
        "isms_toggle_problems",
        "isms_range_problems",
        "isms_name_list_problems",
        "isms_sysctl_problems",
        "isms_ownership_drift",
    }
    undocumented = [name for name in names - {"isms_merge_exceptions"} if f"``{name}" not in isms.__doc__]
    assert not undocumented


# --- the real catalogue -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_catalogue() -> dict:
    return yaml.safe_load((ROLE / "controls.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def default_toggles(real_catalogue) -> dict:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    return {control["id"]: defaults[control["toggle"]] for control in real_catalogue["controls"]}


@pytest.mark.parametrize(
    ("host_class", "control", "expected"),
    [
        ("server", "BGYS-KRN-04", {"applies": True, "enforce": True}),
        ("desktop", "BGYS-KRN-04", {"applies": False, "enforce": False, "audit": False}),
        ("server", "BGYS-FS-04", {"applies": True, "enforce": False, "audit": True}),
        ("desktop", "BGYS-FS-04", {"applies": True, "enforce": False, "audit": True}),
        ("server", "BGYS-SSH-07", {"enforce": False, "audit": False}),
        ("server", "BGYS-ACC-04", {"enforce": False, "audit": True}),
        ("desktop", "BGYS-SSH-02", {"enforce": True, "audit": True, "finding": ""}),
    ],
    ids=[
        "proc-hidepid-applies-to-servers",
        "proc-hidepid-not-applicable-on-desktops",
        "separate-partitions-are-a-catalogue-exception-on-servers",
        "separate-partitions-are-a-catalogue-exception-on-desktops",
        "ssh-allow-groups-is-off-by-default",
        "uid0-check-is-verify-only",
        "root-ssh-ban-is-enforced-on-desktops",
    ],
)
def test_real_catalogue_with_default_toggles(real_catalogue, default_toggles, host_class, control, expected):
    decision = isms.isms_plan(real_catalogue, default_toggles, host_class, {}, TODAY)[control]
    assert {key: decision[key] for key in expected} == expected


@pytest.mark.parametrize("host_class", ["server", "desktop"])
def test_real_catalogue_gives_every_control_a_decision_and_a_result_line(real_catalogue, default_toggles, host_class):
    ids = [control["id"] for control in real_catalogue["controls"]]
    decisions = isms.isms_plan(real_catalogue, default_toggles, host_class, {}, TODAY)
    assert list(decisions) == ids
    assert all(decision["id"] == cid for cid, decision in decisions.items())
    # Default toggles on a host without exceptions: nothing is switched off silently or otherwise.
    assert [cid for cid, decision in decisions.items() if decision["finding"]] == []
    lines = isms.isms_results(decisions, {}, "config")
    assert [line["id"] for line in lines] == ids
    assert {line["result"] for line in lines} <= {"fail", "exception", "not_applicable"}
    fs04 = next(line for line in lines if line["id"] == "BGYS-FS-04")
    assert fs04["result"] == "exception"
    assert fs04["exception"]["source"] == "catalogue"
    assert fs04["exception"]["justification"]


# --- input checks of assert.yml (one call per kind) --------------------------------------------

TOGGLES_OK = {c["toggle"]: True for c in CATALOGUE["controls"]}


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("all booleans pass", TOGGLES_OK, []),
        ("the text false passes", {**TOGGLES_OK, "isms_baseline_bgys_ssh_01": "false"}, []),
        ("a word that is not a boolean is refused", {**TOGGLES_OK, "isms_baseline_bgys_ssh_01": "maybe"},
         ["h1: isms_baseline_bgys_ssh_01 (toggle of BGYS-SSH-01) must be true or false, not 'maybe'"]),
        ("a missing toggle is refused", {k: v for k, v in TOGGLES_OK.items() if k != "isms_baseline_bgys_krn_04"},
         ["h1: isms_baseline_bgys_krn_04 (toggle of BGYS-KRN-04) must be true or false, not '(undefined)'"]),
    ],
)  # fmt: skip
def test_toggle_problems(name, values, expected):
    assert isms.isms_toggle_problems(CATALOGUE, values, "h1") == expected, name


def test_a_toggle_not_named_after_its_control_is_refused():
    catalogue = {"controls": [{**CATALOGUE["controls"][0], "toggle": "isms_baseline_ssh_keys"}]}
    problems = isms.isms_toggle_problems(catalogue, {"isms_baseline_ssh_keys": True}, "h1")
    assert problems == ["h1: control BGYS-SSH-01 has toggle 'isms_baseline_ssh_keys'; it must be named after its id"]


@pytest.mark.parametrize(
    ("name", "item", "expected"),
    [
        ("inside the range", {"key": "k", "value": 5, "min": 1, "max": 10}, []),
        ("the bounds are inclusive", {"key": "k", "value": "10", "min": 1, "max": 10}, []),
        ("above the range", {"key": "k", "value": 11, "min": 1, "max": 10},
         ["h: k is 11; it must be between 1 and 10"]),
        ("below the range", {"key": "k", "value": 0, "min": 1, "max": 10}, ["h: k is 0; it must be between 1 and 10"]),
        ("not a number", {"key": "k", "value": "5m", "min": 1, "max": 10}, ["h: k must be a whole number, not '5m'"]),
    ],
)  # fmt: skip
def test_range_problems(name, item, expected):
    assert isms.isms_range_problems([item], "h") == expected, name


@pytest.mark.parametrize(
    ("name", "item", "expected"),
    [
        ("algorithm names pass", {"key": "k", "value": ["aes256-gcm@openssh.com", "curve25519-sha256"]}, []),
        ("an empty list is refused", {"key": "k", "value": []}, ["h: k must not be empty"]),
        ("an empty list may be allowed", {"key": "k", "value": [], "empty_ok": True}, []),
        ("a name with a space is refused", {"key": "k", "value": ["bim admins"]},
         ["h: k has invalid names ['bim admins'] (letters, digits, @ . _ + - only)"]),
        ("a string instead of a list is refused", {"key": "k", "value": "aes256-ctr"},
         ["h: k must be a list of names, not 'aes256-ctr'"]),
    ],
)  # fmt: skip
def test_name_list_problems(name, item, expected):
    assert isms.isms_name_list_problems([item], "h") == expected, name


@pytest.mark.parametrize(
    ("name", "settings", "bad"),
    [
        ("numbers and words pass", {"net.ipv4.tcp_syncookies": 1, "kernel.core_pattern": "core"}, 0),
        ("a hyphenated key passes", {"kernel.ctrl-alt-del": 0}, 0),
        ("a key without a dot is refused", {"syncookies": 1}, 1),
        ("a shell character in a value is refused", {"kernel.x": "a;b"}, 1),
        ("a boolean value is refused", {"kernel.sysrq": True}, 1),
    ],
)
def test_sysctl_problems(name, settings, bad):
    assert len(isms.isms_sysctl_problems(settings, "h")) == bad, name


FOUND = [
    {"path": "/etc/passwd", "pw_name": "root", "gr_name": "root", "mode": "0644"},
    {"path": "/etc/shadow", "pw_name": "root", "gr_name": "shadow", "mode": "0640"},
    {"path": "/etc/cron.d", "pw_name": "root", "gr_name": "root", "mode": "0755"},
]
PASSWD = {"path": "/etc/passwd", "owner": "root", "group": "root", "mode": "0644"}
SHADOW = {"path": "/etc/shadow", "owner": "root", "group": "shadow", "mode": "0640"}


@pytest.mark.parametrize(
    ("wanted", "defaults", "expected"),
    [
        pytest.param([PASSWD, SHADOW], {}, [], id="files-that-match-need-nothing"),
        pytest.param([{**PASSWD, "mode": "0600"}], {}, [{**PASSWD, "mode": "0600"}], id="another-mode-is-drift"),
        pytest.param([{**SHADOW, "group": "root"}], {}, [{**SHADOW, "group": "root"}], id="another-group-is-drift"),
        pytest.param([{**PASSWD, "owner": "bin"}], {}, [{**PASSWD, "owner": "bin"}], id="another-owner-is-drift"),
        pytest.param([{**PASSWD, "path": "/etc/absent"}], {}, [], id="a-missing-file-is-left-alone"),
        pytest.param([{**PASSWD, "mode": 0o644}], {}, [], id="a-numeric-mode-is-the-bits"),
        pytest.param([{**PASSWD, "mode": "644"}], {}, [], id="a-mode-without-leading-zero-is-octal"),
        pytest.param(
            ["/etc/cron.d", "/etc/cron.daily"],
            {"owner": "root", "group": "root", "mode": "0700"},
            [{"path": "/etc/cron.d", "owner": "root", "group": "root", "mode": "0700"}],
            id="plain-paths-take-the-defaults",
        ),
        pytest.param([], {}, [], id="nothing-wanted"),
    ],
)
def test_ownership_drift(wanted, defaults, expected):
    assert isms.isms_ownership_drift(wanted, FOUND, **defaults) == expected


def test_ownership_drift_names_a_bad_mode():
    with pytest.raises(AnsibleFilterError, match="/etc/passwd has mode 'rw'"):
        isms.isms_ownership_drift([{**PASSWD, "mode": "rw"}], FOUND)
