"""The Pardus migration report: counts built on the example production inventory, the schedule
logic, facts that disagree with the inventory, bad inventory data, and the files it writes."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import migration_report as mr  # noqa: E402

TODAY = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def production():
    res = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-inventory"), "-i", "inventories/production", "--list"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return json.loads(res.stdout)


def test_production_counts(production):
    report = mr.build_report(*mr.desktops_from_inventory(production), TODAY)
    assert report["totals"] == {"total": 23, "pardus": 14, "planned": 7, "exception": 2, "percent": 66.7, "behind": 2}
    rows = {r["name"]: r for r in report["directorates"]}
    assert (rows["dir_mali_hizmetler"]["pardus"], rows["dir_mali_hizmetler"]["planned"]) == (2, 3)
    assert rows["dir_mali_hizmetler"]["percent"] == 40.0
    # Exceptions are outside the plan: İmar is done with its plan, two machines stay on Windows.
    assert (rows["dir_imar"]["percent"], rows["dir_imar"]["exception"]) == (100.0, 2)
    assert rows["dir_fen_isleri"]["target"] == "2026-09-30"
    sites = {r["name"]: r for r in report["sites"]}
    assert (sites["site_merkez"]["total"], sites["site_merkez"]["behind"]) == (14, 1)
    assert sorted(m["host"] for m in report["machines"] if m["behind"]) == ["pc-fen-003", "pc-yazi-003"]


@pytest.mark.parametrize(
    ("today", "behind"),
    [
        ("2026-09-30", []),
        ("2026-10-01", ["pc-fen-003"]),
        (
            "2027-07-01",
            ["pc-fen-003", "pc-mali-003", "pc-mali-004", "pc-mali-005", "pc-tem-002", "pc-yazi-003", "pc-zab-003"],
        ),
    ],
    ids=["on the target date", "the day after", "after every target"],
)
def test_a_planned_machine_is_behind_once_its_date_has_passed(production, today, behind):
    report = mr.build_report(*mr.desktops_from_inventory(production), dt.date.fromisoformat(today))
    assert sorted(m["host"] for m in report["machines"] if m["behind"]) == behind


def test_facts_that_disagree_are_flagged_and_unreachable_ones_shown(production):
    facts = {"pc-bim-001": {"distribution": "Pardus", "distribution_version": "23.2"},
             "pc-bim-002": {"distribution": "Debian", "distribution_version": "12.8"},
             "pc-ik-001": None}  # fmt: skip
    report = mr.build_report(*mr.desktops_from_inventory(production, facts), TODAY)
    machines = {m["host"]: m for m in report["machines"]}
    assert machines["pc-bim-001"]["seen"] == "Pardus 23.2"
    assert machines["pc-bim-001"]["note"] == ""
    assert machines["pc-bim-002"]["note"] == "facts say Debian 12.8"
    assert machines["pc-ik-001"]["seen"] == "unreachable"
    assert "pc-bim-002" in mr.render_md(report, "", "en").split("disagree with the inventory")[1]


def inventory(**overrides):
    base = {
        "_meta": {"hostvars": {
            "pc-a": {"pardus_migration_schedule": {"dir_x": "2026-12-31"}},
            "pc-b": {"pardus_migration": "planned", "pardus_migration_schedule": {"dir_x": "2026-12-31"}},
        }},
        "pardus_desktops": {"hosts": ["pc-a"]},
        "windows_desktops": {"hosts": ["pc-b"]},
        "dir_x": {"hosts": ["pc-a", "pc-b"]},
        "site_y": {"hosts": ["pc-a", "pc-b"]},
    }  # fmt: skip
    base.update(overrides)
    return base


BAD = [
    (
        "in both groups",
        {"windows_desktops": {"hosts": ["pc-a", "pc-b"]}},
        "in both pardus_desktops and windows_desktops: pc-a",
    ),
    ("no directorate", {"dir_x": {"hosts": ["pc-a"]}}, "pc-b: must be in exactly one dir_*"),
    ("two sites", {"site_z": {"hosts": ["pc-a"]}}, "pc-a: must be in exactly one dir_* and one site_*"),
    (
        "no schedule for the directorate",
        {"dir_w": {"hosts": ["pc-b"]}, "dir_x": {"hosts": ["pc-a"]}},
        "no target date for dir_w",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_inventory_data_is_named(overrides, message):
    with pytest.raises(mr.ReportError, match=message.replace("*", r"\*")):
        mr.desktops_from_inventory(inventory(**overrides))


def test_a_windows_machine_without_a_migration_state_is_refused():
    inv = inventory()
    inv["_meta"]["hostvars"]["pc-b"]["pardus_migration"] = "belki"
    with pytest.raises(mr.ReportError, match="pc-b: pardus_migration must be planned or exception, not 'belki'"):
        mr.desktops_from_inventory(inv)


def test_the_files_are_private_and_in_both_languages(tmp_path):
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps(inventory()), encoding="utf-8")
    out = tmp_path / "rapor"
    assert (
        mr.main(["build", "--inventory", str(inv), "--out", str(out), "--today", "2027-01-01", "--stamp", "<abc>"]) == 0
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [f"{kind}.{lang}.{ext}" for lang in ("tr", "en") for kind, ext in
         [("report", "md"), ("report", "html"), ("directorates", "csv"), ("sites", "csv"), ("machines", "csv")]]
        + ["report.json"]
    )  # fmt: skip
    assert out.stat().st_mode & 0o777 == 0o750
    assert all(p.stat().st_mode & 0o777 == 0o640 for p in out.iterdir())
    assert "&lt;abc&gt;" in (out / "report.tr.html").read_text(encoding="utf-8")
    assert (out / "directorates.tr.csv").read_text(encoding="utf-8").startswith("Birim,Pardus,Windows (planlı)")
    assert "takvimin gerisinde" in (out / "report.tr.md").read_text(encoding="utf-8")


def test_a_bad_date_is_a_clean_error(tmp_path, capsys):
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps(inventory()), encoding="utf-8")
    assert mr.main(["build", "--inventory", str(inv), "--out", str(tmp_path / "o"), "--today", "31.12.2026"]) == 2
    assert "--today: '31.12.2026' is not a date" in capsys.readouterr().err


def test_the_playbook_builds_the_report_from_the_production_inventory_without_connecting(tmp_path):
    out = tmp_path / "rapor"
    res = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "inventories/production",
         "playbooks/pardus-migration-report.yml", "-e", "migration_report_gather=false",
         "-e", f"migration_report_out={out}", "-e", "migration_report_today=2026-11-30"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "BELEDIYE_LEDGER_PATH": str(tmp_path / "ledger.jsonl"),
             "BELEDIYE_LEDGER_SYSLOG": "false"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["totals"] == {"total": 23, "pardus": 14, "planned": 7, "exception": 2, "percent": 66.7, "behind": 2}
    assert {m["seen"] for m in report["machines"]} == {"not_gathered"}
    # Only the groups and variables the report reads leave the inventory.
    written = json.loads((out / "inventory.json").read_text(encoding="utf-8"))
    assert {k for v in written["_meta"]["hostvars"].values() for k in v} <= {
        "pardus_migration", "pardus_migration_reason", "pardus_migration_schedule"}  # fmt: skip
