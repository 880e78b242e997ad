"""scripts/isms_soa.py: the Statement of Applicability written from the control catalogue."""

import copy
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "isms"
sys.path.insert(0, str(ROOT / "scripts"))

import isms_soa  # noqa: E402

CATALOGUE = FIXTURES / "controls.yml"
REPO_CATALOGUE = ROOT / "roles" / "isms_baseline" / "controls.yml"


@pytest.fixture
def data() -> dict:
    return isms_soa.load_catalogue(CATALOGUE)


def section(text: str, heading_start: str) -> str:
    """The text of the '## ' section whose heading starts with heading_start."""
    part = text.split(f"\n## {heading_start}", 1)[1]
    return part.split("\n## ", 1)[0]


@pytest.mark.parametrize(
    ("control", "theme"),
    [
        ("BGYS-ACC-02", "A.5 "),  # A.5.18 first, A.8.2 second
        ("BGYS-BNR-01", "A.6 "),
        ("BGYS-USB-01", "A.7 "),  # A.7.10 first, A.8.12 second
        ("BGYS-SSH-01", "A.8 "),
        ("BGYS-FS-04", "A.8 "),
    ],
    ids=["organisational", "people", "physical", "technological", "technological-2"],
)
def test_control_is_listed_under_the_theme_of_its_first_annex_reference_only(data, control, theme):
    text = isms_soa.render_soa(data)
    for other in ("A.5 ", "A.6 ", "A.7 ", "A.8 "):
        rows = [line for line in section(text, other).splitlines() if line.startswith(f"| {control} ")]
        assert len(rows) == (1 if other == theme else 0), other


@pytest.mark.parametrize(
    ("ref", "controls"),
    [
        ("A.5.18", "BGYS-ACC-02"),
        ("A.8.2", "BGYS-ACC-02"),
        ("A.8.9", "BGYS-FS-04, BGYS-KRN-04"),
        ("A.8.12", "BGYS-USB-01"),
    ],
)
def test_reverse_index_lists_a_control_under_every_annex_reference(data, ref, controls):
    index = section(isms_soa.render_soa(data), "Ek A dizini")
    assert f"| {ref} | {controls} |" in index.splitlines()


def test_reverse_index_orders_references_numerically(data):
    index = section(isms_soa.render_soa(data), "Ek A dizini")
    refs = [line.split("|")[1].strip() for line in index.splitlines() if line.startswith("| A.")]
    assert refs.index("A.8.9") < refs.index("A.8.12") < refs.index("A.8.15") < refs.index("A.8.19")


@pytest.mark.parametrize(
    ("control", "status", "justification"),
    [
        ("BGYS-SSH-01", "uygulanıyor<br>*implemented*", "Parola denemeleri ile hesap ele geçirme önlenir."),
        ("BGYS-USB-01", "isteğe bağlı<br>*opt-in*", "Birim müdürünün yazılı talebiyle açılır."),
        ("BGYS-FS-04", "istisna<br>*exception*", "Kapsayıcı ana makineleri bölümlemeyi yönetir"),
        ("BGYS-BNR-01", "yalnızca doğrulama<br>*verify-only*", "Metin Bilgi İşlem Müdürlüğü tarafından onaylanır"),
    ],
    ids=["implemented-gives-rationale", "opt-in-gives-note", "exception-gives-note", "verify-only-gives-note"],
)
def test_row_shows_translated_status_and_note_or_rationale_as_justification(data, control, status, justification):
    row = next(line for line in isms_soa.render_soa(data).splitlines() if line.startswith(f"| {control} "))
    cells = [cell.strip() for cell in row.split(" | ")]
    assert cells[4] == status
    assert justification in cells[5]


def test_counts_per_status_add_up_to_the_number_of_controls(data):
    counts = section(isms_soa.render_soa(data), "Durumlara")
    assert "| uygulanıyor / implemented | 3 |" in counts
    assert "| isteğe bağlı / opt-in | 1 |" in counts
    assert "| istisna / exception | 1 |" in counts
    assert "| yalnızca doğrulama / verify-only | 1 |" in counts
    assert "| **Toplam / Total** | **6** |" in counts


def test_html_in_catalogue_text_is_shown_as_text(data):
    text = isms_soa.render_soa(data)
    assert "<b>" not in text
    assert "&lt;b&gt;istisna&lt;/b&gt;" in text


def test_soa_carries_catalogue_version_and_release_date_and_nothing_time_dependent(data):
    first = isms_soa.render_soa(data)
    assert "| Katalog sürümü / Catalogue version | 0.9.0 |" in first
    assert "| Yayım tarihi / Released | 2026-11-01 |" in first
    assert isms_soa.render_soa(copy.deepcopy(data)) == first


@pytest.mark.parametrize(
    ("on_disk", "rc"),
    [
        ("current", 0),
        ("stale", 1),
        ("missing", 1),
    ],
    ids=["up-to-date-passes", "stale-file-detected", "missing-file-detected"],
)
def test_check_compares_the_file_on_disk_with_the_catalogue(tmp_path, capsys, on_disk, rc):
    out = tmp_path / "soa.md"
    if on_disk != "missing":
        assert isms_soa.main(["--catalogue", str(CATALOGUE), "--out", str(out)]) == 0
    if on_disk == "stale":
        out.write_text(out.read_text(encoding="utf-8").replace("| 0.9.0 |", "| 0.8.0 |"), encoding="utf-8")
    before = out.read_bytes() if out.exists() else None
    assert isms_soa.main(["--catalogue", str(CATALOGUE), "--out", str(out), "--check"]) == rc
    assert (out.read_bytes() if out.exists() else None) == before  # --check never writes
    if rc:
        assert "scripts/isms_soa.py" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["controls"].append(copy.deepcopy(d["controls"][0])), "BGYS-SSH-01: the id appears more than once"),
        (lambda d: d["controls"][0].update(annex_a=["A.9.4.2"]), "'A.9.4.2' is not an Annex A reference"),
        (lambda d: d["controls"][0].update(annex_a=[]), "BGYS-SSH-01: annex_a must list"),
        (lambda d: d["controls"][0].update(status="done"), "status 'done' is not one of"),
        (lambda d: d["controls"][4].pop("status_note"), "BGYS-USB-01: status_note (required for opt-in)"),
        (lambda d: d["controls"][0].update(applies_to=["router"]), "BGYS-SSH-01: applies_to must list"),
        (lambda d: d["catalogue"].update(version=1.0), "catalogue.version must be a non-empty string"),
        (lambda d: d["controls"][0]["title"].pop("en"), "BGYS-SSH-01: title needs a non-empty 'tr' and 'en'"),
    ],
    ids=[
        "duplicate-id",
        "2013-style-annex-ref",
        "no-annex-ref",
        "unknown-status",
        "opt-in-without-note",
        "unknown-host-class",
        "unquoted-version",
        "title-without-english",
    ],
)
def test_unusable_catalogue_is_refused_with_the_problem_named(tmp_path, capsys, change, message):
    data = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "controls.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(isms_soa.CatalogueError) as err:
        isms_soa.load_catalogue(path)
    assert message in str(err.value)
    assert isms_soa.main(["--catalogue", str(path), "--out", str(tmp_path / "soa.md")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "soa.md").exists()


@pytest.mark.skipif(not REPO_CATALOGUE.is_file(), reason="roles/isms_baseline/controls.yml does not exist yet")
def test_committed_soa_is_up_to_date_with_the_catalogue(capsys):
    rc = isms_soa.main(["--check"])
    assert rc == 0, capsys.readouterr().err
