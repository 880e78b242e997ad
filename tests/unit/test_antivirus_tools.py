"""Role antivirus without a host: its input checks (filter_plugins/antivirus.py), and the parsing
parts of the scan wrapper and the status tool it installs (files/antivirus_scan.py,
files/antivirus_status.py)."""

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "antivirus"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scripttools import load_script  # noqa: E402

filters = load_script(ROLE / "filter_plugins" / "antivirus.py", "antivirus_filters")
scan = load_script(ROLE / "files" / "antivirus_scan.py", "antivirus_scan")
status = load_script(ROLE / "files" / "antivirus_status.py", "antivirus_status")

GOOD = {
    "antivirus_private_mirror": "",
    "antivirus_official_databases": True,
    "antivirus_custom_database_urls": [],
    "antivirus_freshclam_checks": 24,
    "antivirus_database_wait_seconds": 300,
    "antivirus_max_signature_age_hours": 48,
    "antivirus_scan_paths": ["/home", "/srv"],
    "antivirus_scan_exclude": [],
    "antivirus_scan_on_calendar": "*-*-* 03:00:00",
    "antivirus_scan_randomized_delay_sec": 1800,
    "antivirus_quarantine_dir": "/var/lib/belediye/antivirus/quarantine",
    "antivirus_onaccess_paths": ["/home"],
}


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({}, []),
        ({"antivirus_private_mirror": "https://clamav.ornek.bel.tr:8443/imzalar",
          "antivirus_custom_database_urls": ["http://10.231.0.1:3320/belediye-lab.cud", "https://av.ornek.bel.tr/b.ndb"],
          "antivirus_scan_on_calendar": "Mon..Fri 12:30"}, []),
        ({"antivirus_official_databases": False, "antivirus_custom_database_urls": ["http://10.231.0.1:3320/x.cud"]},
         []),
        ({"antivirus_scan_on_calendar": "daily"}, []),
        ({"antivirus_private_mirror": "ftp://mirror.ornek.bel.tr"},
         ["h1: antivirus_private_mirror must be an http:// or https:// URL, not 'ftp://mirror.ornek.bel.tr'"]),
        ({"antivirus_private_mirror": "http://database.clamav.net"},
         ["h1: antivirus_private_mirror must be the organisation's own mirror, not a clamav.net host (freshclam "
          "refuses it): 'http://database.clamav.net'"]),
        ({"antivirus_private_mirror": "http://user:pw@mirror.ornek.bel.tr"},
         ["h1: antivirus_private_mirror must not carry credentials: 'http://user:pw@mirror.ornek.bel.tr'"]),
        ({"antivirus_private_mirror": "http://mirror ornek"},
         ["h1: antivirus_private_mirror must be a URL without spaces, not 'http://mirror ornek'"]),
        ({"antivirus_private_mirror": "http://:80/"},
         ["h1: antivirus_private_mirror has no valid host name: 'http://:80/'"]),
        ({"antivirus_custom_database_urls": ["http://a.ornek.bel.tr/imzalar/"]},
         ["h1: antivirus_custom_database_urls[0] must end in a database file name such as belediye.cud or "
          "belediye.ndb, not 'http://a.ornek.bel.tr/imzalar/'"]),
        ({"antivirus_custom_database_urls": ["http://a.ornek.bel.tr/daily.cvd"]},
         ["h1: antivirus_custom_database_urls[0] uses the name of an official database (daily.cvd); give the "
          "custom database a name of its own"]),
        ({"antivirus_custom_database_urls": ["http://a.ornek.bel.tr/x.cud", "https://b.ornek.bel.tr/x.cud"]},
         ["h1: antivirus_custom_database_urls[1] has the same file name (x.cud) as entry 0; one would overwrite "
          "the other"]),
        ({"antivirus_custom_database_urls": "http://a.ornek.bel.tr/x.cud"},
         ["h1: antivirus_custom_database_urls must be a list of URLs, not 'http://a.ornek.bel.tr/x.cud'"]),
        ({"antivirus_official_databases": False},
         ["h1: antivirus_official_databases is false, so antivirus_custom_database_urls must name at least one "
          "database: clamd cannot start without signatures"]),
        ({"antivirus_freshclam_checks": 51},
         ["h1: antivirus_freshclam_checks must be a whole number from 1 to 50, not 51"]),
        ({"antivirus_max_signature_age_hours": "iki"},
         ["h1: antivirus_max_signature_age_hours must be a whole number from 1 to 8760, not 'iki'"]),
        ({"antivirus_scan_paths": ["home", "/srv/../etc", "/srv/"]},
         ["h1: antivirus_scan_paths[0] must be an absolute path of plain characters, not 'home'",
          "h1: antivirus_scan_paths[1] must be a normalised path, not '/srv/../etc'",
          "h1: antivirus_scan_paths[2] must not end in '/': '/srv/'"]),
        ({"antivirus_scan_paths": []}, ["h1: antivirus_scan_paths must name at least one path"]),
        ({"antivirus_scan_exclude": ["/srv/yedek dizini"]},
         ["h1: antivirus_scan_exclude[0] must be an absolute path of plain characters, not '/srv/yedek dizini'"]),
        ({"antivirus_quarantine_dir": "/home/karantina"}, []),
        ({"antivirus_quarantine_dir": "/var", "antivirus_scan_paths": ["/var/belgeler"]},
         ["h1: antivirus_quarantine_dir (/var) must not be or contain the scanned path /var/belgeler"]),
        ({"antivirus_quarantine_dir": "/srv", "antivirus_onaccess_paths": []},
         ["h1: antivirus_quarantine_dir (/srv) must not be or contain the scanned path /srv"]),
        ({"antivirus_quarantine_dir": "karantina"},
         ["h1: antivirus_quarantine_dir must be an absolute path of plain characters, not 'karantina'"]),
        ({"antivirus_scan_on_calendar": "her gün"},
         ["h1: antivirus_scan_on_calendar is not a systemd calendar expression (characters outside A-Z 0-9 * : . "
          ", / ~ - +): 'her gün'"]),
        ({"antivirus_scan_on_calendar": "Pzt 03:00"},
         ["h1: antivirus_scan_on_calendar is not a systemd calendar expression (unknown word 'Pzt'): 'Pzt 03:00'"]),
        ({"antivirus_scan_on_calendar": ""},
         ["h1: antivirus_scan_on_calendar must be a systemd calendar expression such as '*-*-* 03:00:00' or "
          "'daily', not ''"]),
    ],
    ids=["defaults", "production-mirror-and-custom", "lab-custom-only", "calendar-shorthand", "mirror-not-http",
         "mirror-clamav-net", "mirror-credentials", "mirror-space", "mirror-no-host", "custom-no-file-name",
         "custom-official-name", "custom-same-name", "custom-not-a-list", "no-databases-at-all", "checks-too-many",
         "age-not-a-number", "scan-paths-relative-dotdot-slash", "scan-paths-empty", "exclude-with-space",
         "quarantine-inside-a-scanned-path-is-excluded", "quarantine-contains-a-scanned-path",
         "quarantine-is-scanned", "quarantine-relative", "calendar-turkish-words",
         "calendar-unknown-weekday", "calendar-empty"],
)  # fmt: skip
def test_antivirus_problems_name_host_variable_and_problem(changes, problems):
    assert filters.antivirus_problems({**GOOD, **changes}, "h1") == problems


def test_antivirus_problems_of_a_non_mapping():
    assert filters.antivirus_problems(["x"], "h1") == ["h1: the antivirus inputs must be a mapping, not list"]


@pytest.mark.parametrize(
    ("path", "regex"),
    [("/srv/yedek", "^/srv/yedek(/|$)"), ("/var/lib/a.b+c", "^/var/lib/a\\.b\\+c(/|$)"), ("/srv/", "^/srv(/|$)")],
    ids=["plain", "regex-characters-escaped", "trailing-slash"],
)
def test_path_regex_covers_the_path_and_what_is_under_it(path, regex):
    assert filters.antivirus_path_regex(path) == regex


# --- the scan wrapper -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("/home/ayse/fatura.com: Belediye.Test.EICAR.UNOFFICIAL FOUND\n",
         ("found", "/home/ayse/fatura.com", "Belediye.Test.EICAR.UNOFFICIAL")),
        ("/home/ayse/not: 2026.txt: Win.Test.EICAR_HDB-1 FOUND", ("found", "/home/ayse/not: 2026.txt",
                                                                   "Win.Test.EICAR_HDB-1")),
        ("/home/ayse/fatura.com: moved to '/var/lib/belediye/antivirus/quarantine/fatura.com'",
         ("moved", "/home/ayse/fatura.com", "/var/lib/belediye/antivirus/quarantine/fatura.com")),
        ("/srv/belge.pdf: OK", ("ok", "/srv/belge.pdf", "")),
        ("/srv/yedek: Excluded", ("excluded", "/srv/yedek", "")),
        ("/srv/kilitli: Access denied. ERROR", ("error", "/srv/kilitli", "Access denied.")),
        ("----------- SCAN SUMMARY -----------", ("summary", "", "----------- SCAN SUMMARY -----------")),
        ("Infected files: 1", ("summary", "", "Infected files: 1")),
        ("", ("other", "", "")),
        ("WARNING: something odd", ("other", "", "WARNING: something odd")),
    ],
    ids=["found", "found-path-with-colon", "moved", "ok", "excluded", "error", "summary-banner", "summary-count",
         "empty", "other"],
)  # fmt: skip
def test_clamdscan_lines_are_classified(line, parsed):
    assert scan.parse_line(line) == parsed


CLAMDSCAN_OUTPUT = """/home/ayse/Belgeler/not.txt: OK
/home/ayse/Belgeler/fatura.com: Belediye.Test.EICAR.UNOFFICIAL FOUND
/home/ayse/Belgeler/fatura.com: moved to '/q/fatura.com'
/srv/x.com: Belediye.Test.EICAR.UNOFFICIAL FOUND
/srv/x.com: moved to '/q/x.com.001'
/srv/kilitli: Access denied. ERROR

----------- SCAN SUMMARY -----------
Infected files: 2
Total errors: 1
Time: 0.031 sec (0 m 0 s)
Start Date: 2026:11:30 13:00:00
End Date:   2026:11:30 13:00:00
"""


def test_a_scan_is_tallied_with_detections_and_their_quarantine_paths():
    tally = scan.Tally()
    for line in CLAMDSCAN_OUTPUT.splitlines(keepends=True):
        tally.add(line, when="2026-11-30T13:00:00Z")
    assert tally.error_count == 1
    assert tally.errors == [{"path": "/srv/kilitli", "message": "Access denied."}]
    assert tally.detections == [
        {"path": "/home/ayse/Belgeler/fatura.com", "signature": "Belediye.Test.EICAR.UNOFFICIAL",
         "time": "2026-11-30T13:00:00Z", "quarantine": "/q/fatura.com"},
        {"path": "/srv/x.com", "signature": "Belediye.Test.EICAR.UNOFFICIAL", "time": "2026-11-30T13:00:00Z",
         "quarantine": "/q/x.com.001"},
    ]  # fmt: skip
    assert scan.result_of(1, tally) == "infected"
    assert scan.result_of(0, scan.Tally()) == "clean"
    assert scan.result_of(2, scan.Tally()) == "error"


def test_scan_command_passes_descriptors_and_moves_to_the_quarantine():
    cmd = scan.scan_command({"quarantine_dir": "/q", "clamdscan": "/usr/bin/clamdscan"}, ["/home", "/srv"])
    assert cmd == ["/usr/bin/clamdscan", "--fdpass", "--multiscan", "--stdout", "--config-file=/etc/clamav/clamd.conf",
                   "--move=/q", "/home", "/srv"]  # fmt: skip


def test_quarantined_files_become_read_only_and_links_or_outsiders_are_left_alone(tmp_path):
    q = tmp_path / "q"
    q.mkdir()
    moved = q / "fatura.com"
    moved.write_bytes(b"x")
    moved.chmod(0o755)
    outside = tmp_path / "outside.com"
    outside.write_bytes(b"y")
    outside.chmod(0o644)
    link = q / "link.com"
    link.symlink_to(outside)
    detections = [
        {"path": "/home/a/fatura.com", "quarantine": str(moved)},
        {"path": "/home/a/link.com", "quarantine": str(link)},
        {"path": "/home/a/outside.com", "quarantine": str(outside)},
        {"path": "/home/a/not-moved.com", "quarantine": None},
    ]
    scan.lock_quarantined(detections, str(q))
    assert moved.stat().st_mode & 0o777 == 0o400
    if os.geteuid() == 0:
        assert (moved.stat().st_uid, moved.stat().st_gid) == (0, 0)
    assert outside.stat().st_mode & 0o777 == 0o644  # neither through the link nor outside the quarantine


def test_a_run_without_existing_paths_records_nothing_to_scan(tmp_path):
    config = {"state_dir": str(tmp_path / "state"), "scan_paths": [str(tmp_path / "yok")], "quarantine_dir": "/q"}
    assert scan.run_scan(config) == 0
    last = json.loads((tmp_path / "state" / "last-scan.json").read_text())
    assert last["result"] == "nothing to scan"
    assert last["skipped_paths"] == [str(tmp_path / "yok")]
    assert (tmp_path / "state" / "last-scan.json").stat().st_mode & 0o777 == 0o640
    assert not (tmp_path / "state" / "detections.jsonl").exists()


def test_files_are_counted_without_exclusions_and_symbolic_links(tmp_path):
    (tmp_path / "home" / "ayse").mkdir(parents=True)
    (tmp_path / "home" / "ayse" / "a.txt").write_text("a")
    (tmp_path / "home" / "ayse" / "b.txt").write_text("b")
    (tmp_path / "home" / "ayse" / "link").symlink_to(tmp_path / "home" / "ayse" / "a.txt")
    (tmp_path / "home" / "yedek").mkdir()
    (tmp_path / "home" / "yedek" / "c.txt").write_text("c")
    conf = f"LocalSocket /run/clamav/clamd.ctl\nExcludePath ^{tmp_path}/home/yedek(/|$)\nExcludePath [bad\n"
    excludes = scan.exclude_patterns(conf)
    assert len(excludes) == 1
    assert scan.count_files([str(tmp_path / "home"), str(tmp_path / "home" / "ayse" / "b.txt")], excludes) == 3


def test_a_run_records_detections_from_a_fake_clamdscan(tmp_path):
    fake = tmp_path / "clamdscan"
    fake.write_text("#!/bin/sh\ncat <<'EOF'\n" + CLAMDSCAN_OUTPUT + "EOF\nexit 1\n")
    fake.chmod(0o755)
    (tmp_path / "home").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / "home" / name).write_text(name)
    config = {"state_dir": str(tmp_path / "state"), "scan_paths": [str(tmp_path / "home")], "quarantine_dir": "/q",
              "clamdscan": str(fake), "clamd_config": str(tmp_path / "none.conf")}  # fmt: skip
    assert scan.run_scan(config) == 1
    last = json.loads((tmp_path / "state" / "last-scan.json").read_text())
    assert (last["result"], last["files_scanned"], last["infected"], last["errors"]) == ("infected", 3, 2, 1)
    lines = (tmp_path / "state" / "detections.jsonl").read_text().splitlines()
    assert [json.loads(line)["quarantine"] for line in lines] == ["/q/fatura.com", "/q/x.com.001"]
    assert json.loads(lines[0])["scan_start"] == last["start"]


# --- the status tool ------------------------------------------------------------------------

HEADER = "ClamAV-VDB:30 Nov 2026 12-37 +0000:3:2:216:6aa32fb75d41c3136d6c6cd6e0b29cb0:X:belediye-lab:1796042279"
DAILY = "ClamAV-VDB:29 Nov 2026 07-10 +0000:27834:2077000:90:md5:sig:raynman:1795950600"


@pytest.mark.parametrize(
    ("head", "parsed"),
    [
        (HEADER.ljust(512).encode(), {"builder": "belediye-lab", "time_text": "30 Nov 2026 12-37 +0000", "version": 3,
                                      "signatures": 2, "flevel": 216, "build_time": 1796042279}),
        (b"ClamAV-VDB:x:y:z", {"builder": None, "time_text": "x", "version": None, "signatures": None,
                               "flevel": None, "build_time": None}),
        (b"\x1f\x8b\x08 gzip data", None),
    ],
    ids=["lab-cud", "truncated-header", "not-a-container"],
)  # fmt: skip
def test_database_headers_are_parsed(head, parsed):
    assert status.parse_header(head) == parsed


def test_databases_are_listed_with_kind_version_and_age(tmp_path):
    (tmp_path / "belediye-lab.cud").write_bytes(HEADER.ljust(512).encode() + b"x")
    (tmp_path / "daily.cvd").write_bytes(DAILY.ljust(512).encode() + b"x")
    (tmp_path / "yerel.ndb").write_text("Yerel.Test:0:*:41\n")
    (tmp_path / "freshclam.dat").write_bytes(b"\0" * 10)
    os.utime(tmp_path / "yerel.ndb", (1_796_000_000, 1_796_000_000))
    now = 1_796_042_279 + 7200
    dbs = status.databases(tmp_path, now)
    assert [(d["file"], d["kind"], d["version"], d["age_hours"]) for d in dbs] == [
        ("belediye-lab.cud", "custom", 3, 2.0),
        ("daily.cvd", "official", 27834, 27.5),
        ("yerel.ndb", "custom", None, 13.7),
    ]
    assert dbs[0]["build_time"] == "2026-11-30T12:37:59Z"
    summary = status.signature_summary(dbs, 1)
    assert summary == {"newest_build": "2026-11-30T12:37:59Z", "newest_database": "belediye-lab.cud",
                       "age_hours": 2.0, "max_age_hours": 1, "stale": True}  # fmt: skip
    assert status.signature_summary(dbs, 48)["stale"] is False


def test_no_database_is_stale():
    assert status.signature_summary([], 48) == {"newest_build": None, "age_hours": None, "max_age_hours": 48,
                                                "stale": True}  # fmt: skip


def test_recent_detections_keep_the_last_ones_and_skip_bad_lines(tmp_path):
    path = tmp_path / "detections.jsonl"
    path.write_text("".join(json.dumps({"path": f"/srv/{n}"}) + "\n" for n in range(5)) + "{broken\n")
    assert [d["path"] for d in status.recent_detections(path, keep=2)] == ["/srv/3", "/srv/4"]
    assert status.recent_detections(tmp_path / "missing") == []


def test_collect_without_probes_reads_the_state(tmp_path):
    state = tmp_path / "state"
    (state / "quarantine").mkdir(parents=True)
    (state / "quarantine" / "fatura.com").write_text("x")
    (state / "last-scan.json").write_text(json.dumps({"result": "infected", "files_scanned": 3}))
    (state / "detections.jsonl").write_text(json.dumps({"path": "/home/ayse/fatura.com"}) + "\n")
    config = {"state_dir": str(state), "database_dir": str(tmp_path / "db"),
              "quarantine_dir": str(state / "quarantine"), "max_signature_age_hours": 24, "scan_paths": ["/home"],
              "onaccess_enabled": True}  # fmt: skip
    got = status.collect(config, now=1_796_042_279, probe=False)
    assert got["generated"] == "2026-11-30T12:37:59Z"
    assert got["databases"] == []
    assert got["signatures"]["stale"] is True
    assert got["scan"]["last"]["result"] == "infected"
    assert got["detections"] == [{"path": "/home/ayse/fatura.com"}]
    assert got["quarantine"]["files"] == 1
    assert got["onaccess"] == {"enabled": True}
    assert "clamd" not in got
