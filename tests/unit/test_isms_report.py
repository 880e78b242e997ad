"""scripts/isms_report.py: the ISMS audit report built from raw results and the control catalogue."""

import copy
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "isms"
sys.path.insert(0, str(ROOT / "scripts"))

import isms_report  # noqa: E402
import isms_soa  # noqa: E402

CATALOGUE = FIXTURES / "controls.yml"
RAW = FIXTURES / "raw.json"
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.fixture
def catalogue() -> dict:
    return isms_soa.load_catalogue(CATALOGUE)


@pytest.fixture
def raw() -> dict:
    return isms_report.load_raw(RAW)


def result_of(raw: dict, host: str, control: str) -> dict:
    return next(r for r in raw["hosts"][host]["results"] if r["id"] == control)


def counts(pass_=0, fail=0, exception=0, not_applicable=0, findings=0) -> dict:
    return {"pass": pass_, "fail": fail, "exception": exception, "not_applicable": not_applicable, "findings": findings}


# --- totals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "key", "expected"),
    [
        ("hosts", "log01", counts(pass_=3, fail=1, exception=1, not_applicable=1, findings=2)),
        ("hosts", "pardus01", counts(pass_=2, fail=1, exception=1, not_applicable=2)),
        ("overall", None, counts(pass_=5, fail=2, exception=2, not_applicable=3, findings=2)),
        ("annex_a", "A.8.5", counts(pass_=1, fail=1)),
        ("annex_a", "A.8.9", counts(fail=1, exception=1, not_applicable=2, findings=1)),  # FS-04 and KRN-04
        ("annex_a", "A.8.15", counts(fail=1, not_applicable=1, findings=1)),  # KRN-04's second reference
        ("annex_a", "A.5.18", counts(pass_=2, findings=1)),  # ACC-02: a pass with a finding
        ("annex_a", "A.8.2", counts(pass_=2, findings=1)),  # ... counted under both its references
    ],
    ids=[
        "host-with-findings",
        "host-without-findings",
        "overall",
        "annex-single-control",
        "annex-shared-by-two-controls",
        "annex-second-reference-of-a-control",
        "annex-pass-with-finding",
        "annex-same-result-under-every-reference",
    ],
)
def test_totals_count_each_result_per_host_overall_and_under_every_annex_reference(
    catalogue, raw, scope, key, expected
):
    totals = isms_report.compute_totals(catalogue, raw)
    assert (totals[scope] if key is None else totals[scope][key]) == expected


@pytest.mark.parametrize(
    ("result", "finding", "counted"),
    [
        ("pass", "control switched off without an exception", counts(pass_=1, findings=1)),
        ("fail", "exception expired on 2026-01-31", counts(fail=1, findings=1)),
        ("fail", "", counts(fail=1)),
        ("pass", None, counts(pass_=1)),
    ],
    ids=["pass-with-finding", "fail-with-finding", "empty-finding-is-none", "no-finding"],
)
def test_a_result_carrying_a_finding_counts_as_a_finding_whatever_its_result(catalogue, raw, result, finding, counted):
    line = result_of(raw, "pardus01", "BGYS-SSH-01")
    line["result"] = result
    if finding is not None:
        line["finding"] = finding
    # SSH-01 is the only control under A.8.5: its bucket there is log01's pass plus this line
    expected = counts(pass_=1)
    for k, v in counted.items():
        expected[k] += v
    assert isms_report.compute_totals(catalogue, raw)["annex_a"]["A.8.5"] == expected


def test_report_json_carries_raw_results_catalogue_entries_and_totals(catalogue, raw, tmp_path):
    isms_report.write_report(isms_report.build_report(catalogue, raw), tmp_path)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["stamp"] == raw["stamp"]
    assert report["catalogue"]["version"] == "0.9.0"
    assert report["controls"]["BGYS-KRN-04"]["annex_a"] == ["A.8.15", "A.8.9"]
    assert report["controls"]["BGYS-KRN-04"]["title"]["tr"] == "Çekirdek modülü yükleme denetlenir"
    assert "checks" not in report["controls"]["BGYS-KRN-04"]
    assert [r["id"] for r in report["hosts"]["log01"]["results"]] == [c["id"] for c in catalogue["controls"]]
    assert report["totals"] == isms_report.compute_totals(catalogue, raw)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "report.en.html",
        "report.en.md",
        "report.json",
        "report.tr.html",
        "report.tr.md",
    ]


# --- refusals -------------------------------------------------------------------------------


def _drop(host, control):
    def change(raw):
        raw["hosts"][host]["results"] = [r for r in raw["hosts"][host]["results"] if r["id"] != control]

    return change


def _duplicate(host, control):
    def change(raw):
        raw["hosts"][host]["results"].append(copy.deepcopy(result_of(raw, host, control)))

    return change


def _unknown(host, control):
    def change(raw):
        raw["hosts"][host]["results"].append({"id": control, "result": "pass", "mode": "live", "evidence": []})

    return change


def _set_version(version):
    def change(raw):
        raw["stamp"]["catalogue_version"] = version

    return change


def _set_result(host, control, value):
    def change(raw):
        result_of(raw, host, control)["result"] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop("log01", "BGYS-USB-01"), "host log01: no result for BGYS-USB-01"),
        (_duplicate("pardus01", "BGYS-SSH-01"), "host pardus01: BGYS-SSH-01 has 2 results, not one"),
        (_unknown("log01", "BGYS-XXX-99"), "host log01: BGYS-XXX-99 is not in the catalogue"),
        (_set_version("1.0.0"), "catalogue version '1.0.0', the catalogue is version '0.9.0'"),
        (_set_version(None), "catalogue version None"),
        (_set_result("log01", "BGYS-SSH-01", "passed"), "host log01: BGYS-SSH-01: result 'passed' is not one of"),
        (lambda raw: raw["hosts"].clear(), "the results name no host"),
    ],
    ids=[
        "missing-control",
        "duplicate-control",
        "unknown-control",
        "catalogue-version-mismatch",
        "catalogue-version-absent",
        "unknown-result-value",
        "no-hosts",
    ],
)
def test_raw_results_that_do_not_match_the_catalogue_are_refused(catalogue, raw, tmp_path, capsys, change, message):
    change(raw)
    with pytest.raises(isms_report.ReportError) as err:
        isms_report.build_report(catalogue, raw)
    assert message in str(err.value)
    path = tmp_path / "raw.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    out = tmp_path / "out"
    argv = ["build", "--catalogue", str(CATALOGUE), "--raw", str(path), "--out", str(out)]
    assert isms_report.main(argv) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_every_problem_is_listed_at_once(catalogue, raw):
    _drop("log01", "BGYS-USB-01")(raw)
    _unknown("pardus01", "BGYS-XXX-99")(raw)
    _set_version("2.0.0")(raw)
    with pytest.raises(isms_report.ReportError) as err:
        isms_report.build_report(catalogue, raw)
    assert len(str(err.value).splitlines()) == 4  # heading + three problems


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"hosts": {}}', "needs a 'stamp' mapping and a 'hosts' mapping"),
        ("[]", "needs a 'stamp' mapping"),
    ],
    ids=["broken-json", "no-stamp", "not-a-mapping"],
)
def test_raw_file_of_the_wrong_shape_is_refused(tmp_path, content, message):
    path = tmp_path / "raw.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(isms_report.ReportError, match=re.escape(message)):
        isms_report.load_raw(path)


# --- rendering ------------------------------------------------------------------------------


def _hostile_justification(raw):
    result_of(raw, "pardus01", "BGYS-USB-01")["exception"]["justification"] = HOSTILE


def _hostile_owner(raw):
    result_of(raw, "pardus01", "BGYS-USB-01")["exception"]["owner"] = HOSTILE


def _hostile_evidence(raw):
    result_of(raw, "log01", "BGYS-SSH-01")["evidence"].append(HOSTILE)


def _hostile_finding(raw):
    result_of(raw, "log01", "BGYS-ACC-02")["finding"] = HOSTILE


def _hostile_reason(raw):
    result_of(raw, "log01", "BGYS-USB-01")["reason"] = HOSTILE


def _hostile_stamp(raw):
    raw["stamp"]["inventory"] = HOSTILE


def _hostile_host(raw):
    raw["hosts"]['evil"><script>x</script>'] = raw["hosts"].pop("pardus01")


@pytest.mark.parametrize(
    "change",
    [
        _hostile_justification,
        _hostile_owner,
        _hostile_evidence,
        _hostile_finding,
        _hostile_reason,
        _hostile_stamp,
        _hostile_host,
    ],
    ids=["justification", "owner", "evidence", "finding", "na-reason", "stamp", "host-name-in-attributes"],
)
@pytest.mark.parametrize("lang", ["tr", "en"])
def test_hostile_text_is_escaped_in_html_and_markdown(catalogue, raw, change, lang):
    change(raw)
    report = isms_report.build_report(catalogue, raw)
    html = isms_report.render(report, lang, "html")
    markdown = isms_report.render(report, lang, "md")
    for page in (html, markdown):
        assert "<script" not in page
        assert "<img" not in page
        assert "&lt;script&gt;" in page
    # the escaped page still has one row per control and host
    assert len(isms_report.parse_dom(html).rows) == 12
    assert isms_report.dom_mismatches(report, isms_report.parse_dom(html)) == []


def test_markdown_cells_cannot_break_the_table(catalogue, raw):
    result_of(raw, "log01", "BGYS-SSH-01")["evidence"] = ["a | b", "line\nbreak"]
    markdown = isms_report.render(isms_report.build_report(catalogue, raw), "en", "md")
    row = next(line for line in markdown.splitlines() if line.startswith("| BGYS-SSH-01 ") and "a \\| b" in line)
    assert "a \\| b<br>line break" in row
    assert row.replace("\\|", "").count("|") == 9  # eight columns


@pytest.mark.parametrize(
    ("lang", "present", "absent"),
    [
        (
            "tr",
            ["BGYS denetim raporu", "geçti", "kaldı", "istisna", "uygulanmaz", "Bulgu", "Gerekçe", "Sorumlu",
             "Bitiş tarihi", "süresi doldu", "kaydedilmemiş değişiklikler var", "Makinelere göre toplamlar",
             "Çekirdek modülü yükleme denetlenir"],
            ["ISMS audit report", "Justification", "Owner", "Expires", "Kernel module loading is audited"],
        ),
        (
            "en",
            ["ISMS audit report", "pass", "fail", "exception", "not applicable", "Finding", "Justification", "Owner",
             "Expires", "expired", "uncommitted changes", "Totals per host", "Kernel module loading is audited"],
            ["BGYS denetim raporu", "Gerekçe", "Sorumlu", "Bitiş tarihi", "Çekirdek modülü yükleme denetlenir"],
        ),
    ],
    ids=["turkish", "english"],
)  # fmt: skip
@pytest.mark.parametrize("fmt", ["html", "md"])
def test_each_language_file_carries_its_own_labels(catalogue, raw, lang, present, absent, fmt):
    page = isms_report.render(isms_report.build_report(catalogue, raw), lang, fmt)
    for label in present:
        assert label in page, label
    for label in absent:
        assert label not in page, label


@pytest.mark.parametrize(
    ("lang", "needle"),
    [
        ("tr", 'data-commit="0a1b2c3d4e5f" data-dirty="true"'),
        ("en", 'data-commit="0a1b2c3d4e5f" data-dirty="true"'),
        ("en", "0.9.0 (2026-11-01)"),
        ("en", "<td>2026-11-28</td>"),
        ("en", '<td class="total" data-host="log01" data-result="findings">2</td>'),
        ("en", '<td class="total" data-scope="overall" data-result="pass">5</td>'),
        ("en", '<td class="total" data-annex="A.8.9" data-result="not_applicable">2</td>'),
        ("tr", 'class="result result-fail has-finding"\n data-host="log01" data-control="BGYS-KRN-04"'),
    ],
    ids=["stamp-tr", "stamp-en", "catalogue-version", "date", "host-total", "overall-total", "annex-total", "row"],
)
def test_html_is_stamped_and_marks_its_rows_and_totals(catalogue, raw, lang, needle):
    assert needle in isms_report.render(isms_report.build_report(catalogue, raw), lang, "html")


@pytest.mark.parametrize("lang", ["tr", "en"])
def test_html_is_self_contained(catalogue, raw, lang):
    html = isms_report.render(isms_report.build_report(catalogue, raw), lang, "html")
    for needle in ("http://", "https://", "<script", "<link", "src=", "@import"):
        assert needle not in html


# --- checking the DOM (without a browser: the generated HTML parsed directly) ---------------


@pytest.fixture
def built(catalogue, raw) -> tuple[dict, str]:
    report = isms_report.build_report(catalogue, raw)
    return report, isms_report.render(report, "en", "html")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('data-host="log01" data-result="pass">3<', 'data-host="log01" data-result="pass">4<', "host log01 total pass"),
        ('data-scope="overall" data-result="findings">2<', 'data-scope="overall" data-result="findings">20<',
         "overall total findings shows '20'"),
        ('data-annex="A.8.9" data-result="fail">1<', 'data-annex="A.8.9" data-result="fail">0<',
         "annex A.8.9 total fail"),
        ('data-control="BGYS-SSH-01" data-result="fail"', 'data-control="BGYS-SSH-01" data-result="pass"',
         "rows: host pardus01 total pass"),
        ('data-finding="yes"', 'data-finding="no"', "rows: host log01 total findings"),
        ('<td class="total" data-annex="A.8.19" data-result="pass">0</td>', "", "annex A.8.19 total pass appears 0"),
    ],
    ids=["host-cell", "overall-cell", "annex-cell", "row-result", "row-finding", "cell-removed"],
)  # fmt: skip
def test_dom_check_names_each_disagreement_with_report_json(built, old, new, message):
    report, html = built
    assert old in html
    problems = isms_report.dom_mismatches(report, isms_report.parse_dom(html.replace(old, new, 1)))
    assert any(message in p for p in problems), problems


def test_dom_check_accepts_the_page_as_generated(built):
    report, html = built
    assert isms_report.dom_mismatches(report, isms_report.parse_dom(html)) == []


# --- checking the page rendered by Chromium -------------------------------------------------

# Not a skip: the report's rendering is part of what is tested, and scripts/deps.sh installs chromium.
needs_chromium = pytest.mark.usefixtures("chromium_present")


@pytest.fixture
def chromium_present():
    if isms_report.find_chromium() is None:
        pytest.fail("chromium is not installed: run `make deps` (scripts/deps.sh installs it)")


@pytest.fixture
def report_dir(tmp_path) -> Path:
    out = tmp_path / "report"
    assert isms_report.main(["build", "--catalogue", str(CATALOGUE), "--raw", str(RAW), "--out", str(out)]) == 0
    return out


@needs_chromium
def test_chromium_rendered_report_agrees_with_report_json(report_dir, capsys):
    assert isms_report.main(["check-html", str(report_dir)]) == 0, capsys.readouterr().err
    assert "24 result rows and 120 total cells agree" in capsys.readouterr().out
    for lang in ("tr", "en"):
        assert (report_dir / f"report.{lang}.png").stat().st_size > isms_report.SCREENSHOT_MIN_BYTES


@needs_chromium
def test_chromium_check_fails_on_a_tampered_total_cell(report_dir, capsys):
    page = report_dir / "report.tr.html"
    old = '<td class="total" data-host="log01" data-result="fail">1</td>'
    html = page.read_text(encoding="utf-8")
    assert old in html
    page.write_text(html.replace(old, old.replace(">1<", ">0<")), encoding="utf-8")
    assert isms_report.main(["check-html", str(report_dir)]) == 1
    err = capsys.readouterr().err
    assert "report.tr.html: cells: host log01 total fail shows '0', report.json says 1" in err
    assert "report.en.html" not in err


def test_check_html_without_chromium_says_how_to_get_it(report_dir, monkeypatch, capsys):
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(report_dir))
    assert isms_report.main(["check-html", str(report_dir)]) == 1
    assert "chromium not found" in capsys.readouterr().err
