"""scripts/antivirus_report.py on fixture status files: the states (stale signatures, no data,
detections), the Turkish and English headings, and the exact CSV rows."""

import csv
import io
import json
import stat
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scripttools import load_script  # noqa: E402

report = load_script(ROOT / "scripts" / "antivirus_report.py", "antivirus_report")

STAMP = {"commit": "abc123def456", "dirty": False, "date": "2026-11-30", "generated": "2026-11-30T13:00:00Z",
         "inventory": "inventories/lab", "playbook": "playbooks/antivirus-report.yml"}  # fmt: skip


def status(age, detections=(), clamd="active", ping=True, result="clean", files=120):
    return {
        "format": 1,
        "databases": [{"file": "belediye-lab.cud", "kind": "custom", "version": 3, "age_hours": age}],
        "signatures": {"newest_database": "belediye-lab.cud", "age_hours": age, "max_age_hours": 48,
                       "stale": age > 48},
        "clamd": {"active": clamd, "ping": ping},
        "freshclam": {"active": "active"},
        "scan": {"last": {"end": "2026-11-30T03:12:00Z", "result": result, "files_scanned": files}},
        "detections": list(detections),
        "quarantine": {"files": len(detections)},
    }  # fmt: skip


QUARANTINE = "/var/lib/belediye/antivirus/quarantine"
DETECTION = {"path": "/home/ayşe.yılmaz/Belgeler/fatura|ocak.com", "signature": "Belediye.Test.EICAR.UNOFFICIAL",
             "time": "2026-11-30T03:05:00Z", "quarantine": f"{QUARANTINE}/fatura|ocak.com"}  # fmt: skip


@pytest.fixture
def built(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    (hosts / "app01.json").write_text(json.dumps(status(30.5)))
    (hosts / "pardus01.json").write_text(json.dumps(status(2.0, [DETECTION], result="infected")))
    (hosts / "log01.json").write_text(json.dumps(status(1.0, clamd="failed", ping=False)))
    inventory = {
        "stamp": STAMP,
        "hosts": {
            "app01": {"collected": True, "problem": "", "max_signature_age_hours": 24},
            "pardus01": {"collected": True, "problem": "", "max_signature_age_hours": 48},
            "log01": {"collected": True, "problem": "", "max_signature_age_hours": 48},
            "mail01": {"collected": False, "problem": "unreachable or failed", "max_signature_age_hours": 48},
        },
    }
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    out = tmp_path / "out"
    rc = report.main(["build", "--inventory", str(tmp_path / "inventory.json"), "--status-dir", str(hosts),
                      "--out", str(out)])  # fmt: skip
    assert rc == 0
    return out


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_host_rows_flag_stale_signatures_by_each_hosts_limit(built):
    assert rows(built / "hosts.en.csv") == [
        ["Host", "State", "Signature age (hours)", "Maximum age (hours)", "Newest database", "Version", "clamd",
         "freshclam", "Last scan end", "Last scan result", "Files scanned", "Detections", "Files in quarantine"],
        ["app01", "STALE SIGNATURES", "30.5", "24", "belediye-lab.cud", "3", "running", "running",
         "2026-11-30T03:12:00Z", "clean", "120", "0", "0"],
        ["log01", "CLAMD NOT RUNNING", "1.0", "48", "belediye-lab.cud", "3", "failed", "running",
         "2026-11-30T03:12:00Z", "clean", "120", "0", "0"],
        ["mail01", "NO DATA", "", "48", "", "", "", "", "", "", "", "", ""],
        ["pardus01", "DETECTIONS", "2.0", "48", "belediye-lab.cud", "3", "running", "running",
         "2026-11-30T03:12:00Z", "infected files found", "120", "1", "1"],
    ]  # fmt: skip


def test_host_rows_in_turkish(built):
    got = rows(built / "hosts.tr.csv")
    assert got[0] == ["Makine", "Durum", "İmza yaşı (saat)", "Azami yaş (saat)", "En yeni veritabanı", "Sürüm",
                      "clamd", "freshclam", "Son tarama bitişi", "Son tarama sonucu", "Taranan dosya", "Tespit",
                      "Karantinadaki dosya"]  # fmt: skip
    assert [r[1] for r in got[1:]] == ["ESKİ İMZA", "CLAMD ÇALIŞMIYOR", "VERİ YOK", "TESPİT VAR"]
    assert got[4][9] == "virüslü dosya bulundu"


@pytest.mark.parametrize("lang", ["tr", "en"])
def test_detection_rows_keep_the_path_and_quarantine(built, lang):
    got = rows(built / f"detections.{lang}.csv")
    assert got[1] == ["pardus01", "2026-11-30T03:05:00Z", "Belediye.Test.EICAR.UNOFFICIAL", DETECTION["path"],
                      DETECTION["quarantine"]]  # fmt: skip
    assert len(got) == 2


@pytest.mark.parametrize(
    ("lang", "lines"),
    [
        ("tr", ["# Antivirüs durum raporu", "## Makineler", "## Tespitler",
                "4 makine: 0 sorunsuz, 1 eski imza, 2 sorunlu, 1 veri yok; 1 tespit.",
                "| app01 | **ESKİ İMZA** | 30.5 | 24 | belediye-lab.cud | 3 | çalışıyor | çalışıyor | "
                "2026-11-30T03:12:00Z | temiz | 120 | 0 | 0 |",
                "| pardus01 | 2026-11-30T03:05:00Z | Belediye.Test.EICAR.UNOFFICIAL | "
                "/home/ayşe.yılmaz/Belgeler/fatura\\|ocak.com | "
                f"{QUARANTINE}/fatura\\|ocak.com |",
                "| Commit | `abc123def456` (temiz) |"]),
        ("en", ["# Antivirus status report", "## Hosts", "## Detections",
                "4 hosts: 0 fine, 1 stale signatures, 2 with problems, 1 without data; 1 detections.",
                "| mail01 | **NO DATA** |  | 48 |  |  |  |  |  |  |  |  |  |",
                "_This report holds file paths, which can name people (KVKK personal data)._"]),
    ],
    ids=["turkish", "english"],
)  # fmt: skip
def test_markdown_pages_have_their_language_and_escaped_cells(built, lang, lines):
    page = (built / f"report.{lang}.md").read_text(encoding="utf-8").splitlines()
    for line in lines:
        assert line in page


def test_report_files_are_not_for_everyone(built):
    assert stat.S_IMODE(built.stat().st_mode) == 0o750
    for path in built.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path.name
    data = json.loads((built / "report.json").read_text())
    assert data["counts"] == {"ok": 0, "stale": 1, "no_signatures": 0, "clamd_down": 1, "not_collected": 1,
                              "detections": 1}  # fmt: skip


def test_a_host_without_databases_has_no_signatures(tmp_path):
    (tmp_path / "h.json").write_text(json.dumps({"signatures": {"age_hours": None}, "databases": []}))
    got = report.build_report({"hosts": {"h": {"collected": True}}}, tmp_path)
    assert got["hosts"][0]["state"] == "no_signatures"
    assert got["hosts"][0]["max_age_hours"] == 48


def test_an_unreadable_status_file_is_an_error_naming_the_host(tmp_path, capsys):
    (tmp_path / "h.json").write_text("{broken")
    (tmp_path / "inv.json").write_text(json.dumps({"hosts": {"h": {"collected": True}}}))
    rc = report.main(["build", "--inventory", str(tmp_path / "inv.json"), "--status-dir", str(tmp_path),
                      "--out", str(tmp_path / "out")])  # fmt: skip
    assert rc == 1
    assert "status of h" in capsys.readouterr().err
