"""tools/change_report.py: git history joined with the run ledger, for a date range.

The test builds a repository with known commits and dates and a ledger with known runs, and
expects rows worked out here from the hashes it created, never from the tool's own output.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from scripttools import hermetic_git_env, load_script

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "change_report.py"
NONE = "—"


change_report = load_script(TOOL, "change_report")


def git(repo: Path, *args: str, when: str | None = None, stdin: str | None = None) -> str:
    env = hermetic_git_env()
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    proc = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def commit(repo: Path, when: str, files: dict[str, str], message: str, author: str = "Ayşe Yılmaz") -> str:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    git(repo, "add", "-A")
    email = {"Ayşe Yılmaz": "ayse@ornek.bel.tr", "Mehmet Öz": "mehmet@ornek.bel.tr"}[author]
    who = ["-c", f"user.name={author}", "-c", f"user.email={email}"]
    git(repo, *who, "commit", "-q", "-F", "-", when=when, stdin=message)
    return git(repo, "rev-parse", "HEAD").strip()


SUBJECT_F2 = "Role docs <script>alert(1)</script> | db01"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """main: c0 (October), c1, [feature: f1 (two Talep), f2], c2, merge m, c3 (last second), c4 (December)."""
    repo = tmp_path_factory.mktemp("history") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Ayşe Yılmaz")
    git(repo, "config", "user.email", "ayse@ornek.bel.tr")
    sha = {}
    sha["c0"] = commit(repo, "2026-10-15T09:00:00+00:00", {"README.md": "x\n"}, "Initial layout")
    sha["c1"] = commit(
        repo,
        "2026-11-02T08:00:00+03:00",  # 05:00 UTC
        {"inventories/production/host_vars/app01.yml": "ntp: [a]\n"},
        "Production: app01 NTP servers\n\nTalep: 2026/0101\n",
    )
    git(repo, "checkout", "-q", "-b", "feature")
    sha["f1"] = commit(
        repo,
        "2026-11-03T10:00:00+00:00",
        {"group_vars/all/org.yml": "relay: mail01\n"},
        "Org-wide mail relay\n\nTalep: BIM-2026/0002\nTalep: 2026/0003\n",
        author="Mehmet Öz",
    )
    sha["f2"] = commit(
        repo,
        "2026-11-04T10:00:00+00:00",
        {"roles/common/README.md": "# common\n", "inventories/production/host_vars/db01/main.yml": "db: 1\n"},
        f"{SUBJECT_F2}\n\nTalep: 2026/0004\nTalep: <b>x</b>\n",
        author="Mehmet Öz",
    )
    git(repo, "checkout", "-q", "main")
    sha["c2"] = commit(repo, "2026-11-05T09:00:00+00:00", {"docs/x.md": "x\n"}, "=1+1 docs typo")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge feature: mail relay", "feature", when="2026-11-06T12:00:00+00:00")
    sha["m"] = git(repo, "rev-parse", "HEAD").strip()
    sha["c3"] = commit(
        repo,
        "2026-11-30T23:59:59+00:00",
        {"inventories/lab/group_vars/dhcp_servers.yml": "pool: 1\n"},
        "Last-second lab DHCP pool\n\nTalep: 2026/0005\n",
    )
    sha["c4"] = commit(repo, "2026-12-01T00:00:00+00:00", {"docs/y.md": "y\n"}, "December")

    def run(run_id, start, mode, commit_sha, hosts, status="ok", dirty=False):
        return json.dumps(
            {
                "v": 1,
                "seq": 0,
                "run_id": run_id,
                "start": start,
                "end": start,
                "status": status,
                "git": {"commit": commit_sha, "dirty": dirty},
                "mode": mode,
                "playbooks": ["playbooks/site.yml"],
                "inventory": ["inventories/production"],
                "limit": None,
                "hosts": {
                    h: {"ok": 5, "changed": c, "failed": f, "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0}
                    for h, (c, f) in hosts.items()
                },
                "changes": [],
                "failures": [],
            }
        )

    lines = [
        run("plan-0", "2026-11-02T08:30:00+03:00", "check", sha["c1"], {"app01": (1, 0)}, dirty=True),
        run("plan-1", "2026-11-04T11:00:00+00:00", "check", sha["f2"], {"app01": (1, 0), "db01": (0, 0)}),
        "this line is not JSON {",
        run(
            "apply-1",
            "2026-11-06T12:30:00+00:00",
            "apply",
            sha["m"],
            {"app01": (2, 0), "db01": (0, 1), "web01": (0, 0)},
            status="failed",
        ),
        run("apply-2", "2026-12-01T01:00:00+00:00", "apply", sha["c4"], {"app01": (1, 0)}),
        "",
    ]
    ledger = repo.parent / "ledger.jsonl"
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"repo": repo, "sha": sha, "ledger": ledger}


def report(history, out: Path, *extra: str, ledger: str | None = None, env_ledger: str | None = None) -> list[Path]:
    env = hermetic_git_env()
    if env_ledger:
        env["BELEDIYE_LEDGER_PATH"] = env_ledger
    args = ["--since", "2026-11-01", "--until", "2026-11-30", "--repo", str(history["repo"]), "--out-dir", str(out)]
    if ledger is not None:
        args += ["--ledger", ledger]
    proc = subprocess.run(
        [sys.executable, str(TOOL), *args, *extra], env=env, capture_output=True, text=True, check=False, cwd=out.parent
    )
    assert proc.returncode == 0, proc.stderr
    return [Path(line) for line in proc.stdout.splitlines()]


def expected_rows(history) -> list[list[str]]:
    sha = history["sha"]
    plan0 = "2026-11-02 05:30 ok: 1 host, 1 changed, 0 failed (dirty) [plan-0]"
    plan1 = "2026-11-04 11:00 ok: 2 hosts, 1 changed, 0 failed [plan-1]"
    apply1 = "2026-11-06 12:30 failed: 3 hosts, 1 changed, 1 failed [apply-1]"
    ayse = "Ayşe Yılmaz <ayse@ornek.bel.tr>"
    mehmet = "Mehmet Öz <mehmet@ornek.bel.tr>"
    return [
        [
            sha["c3"],
            "Last-second lab DHCP pool",
            "2026-11-30T23:59:59+00:00",
            ayse,
            NONE,
            "2026/0005",
            "inventories/lab/group_vars/dhcp_servers.yml",
            "group:dhcp_servers",
            NONE,
            NONE,
        ],
        [sha["c2"], "'=1+1 docs typo", "2026-11-05T09:00:00+00:00", ayse, NONE, NONE, "docs/x.md", NONE, NONE, NONE],
        [
            sha["f2"],
            SUBJECT_F2,
            "2026-11-04T10:00:00+00:00",
            mehmet,
            sha["m"],
            "2026/0004; <b>x</b>",
            "inventories/production/host_vars/db01/main.yml; roles/common/README.md",
            "app01; db01",
            plan1,
            apply1,
        ],
        [
            sha["f1"],
            "Org-wide mail relay",
            "2026-11-03T10:00:00+00:00",
            mehmet,
            sha["m"],
            "BIM-2026/0002; 2026/0003",
            "group_vars/all/org.yml",
            "app01; db01; group:all",
            NONE,
            apply1,
        ],
        [
            sha["c1"],
            "Production: app01 NTP servers",
            "2026-11-02T05:00:00+00:00",
            ayse,
            NONE,
            "2026/0101",
            "inventories/production/host_vars/app01.yml",
            "app01",
            plan0,
            NONE,
        ],
    ]


HEADINGS = [
    "Değişiklik / Commit",
    "Konu / Subject",
    "Tarih / Date",
    "Yazar / Author",
    "Birleştirme / Merge",
    "Talep / Request",
    "Dosyalar / Files",
    "Sunucular / Hosts",
    "Plan / Plan",
    "Uygulama / Apply",
]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


@pytest.fixture(scope="module")
def both(history, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("both") / "reports"
    paths = report(history, out, ledger=str(history["ledger"]))
    return {p.suffix[1:]: p for p in paths}


def test_writes_the_three_files_and_prints_their_paths(both) -> None:
    assert sorted(both) == ["csv", "html", "md"]
    for ext, path in both.items():
        assert path.name == f"changes_2026-11-01_2026-11-30.{ext}"
        assert path.is_file()


def test_csv_holds_exactly_the_expected_rows(history, both) -> None:
    raw = both["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = read_csv(both["csv"])
    assert rows[0] == HEADINGS
    assert rows[1:] == expected_rows(history)


def test_markdown_and_html_hold_the_same_commits(history, both) -> None:
    sha = history["sha"]
    md = both["md"].read_text(encoding="utf-8")
    page = both["html"].read_text(encoding="utf-8")
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 5  # headings and one row per commit
    shown = ["c3", "c2", "f2", "f1", "c1"]
    assert [line.split(" | ")[0][2:] for line in table[1:]] == [sha[k][:10] for k in shown]
    rows = re.findall(r'<tr><td class="sha" title="([0-9a-f]{40})">', page)
    assert rows == [sha[k] for k in shown]
    for text in (md, page):
        table_part = text.split("<tbody>")[1] if text is page else "\n".join(table)
        for key in ("c0", "c4"):
            assert sha[key][:10] not in table_part
        assert f"HEAD = {sha['c4']}" in text  # the revision reported on
        assert len(re.findall(rf"[ >]{sha['m'][:10]}[ <]", text)) == 2  # only as the merge of f1 and f2
        assert "2026-11-01 – 2026-11-30" in text
        assert "tools/ledger.py verify" in text
        assert str(history["ledger"]) in text


def test_markdown_cells(history, both) -> None:
    md = both["md"].read_text(encoding="utf-8")
    f2 = next(line for line in md.splitlines() if line.startswith(f"| {history['sha']['f2'][:10]} "))
    assert "Role docs &lt;script&gt;alert(1)&lt;/script&gt; \\| db01" in f2
    assert "inventories/production/host_vars/db01/main.yml<br>roles/common/README.md" in f2
    assert "2026/0004, &lt;b&gt;x&lt;/b&gt;" in f2
    assert f2.count(" | ") == 9  # the escaped pipe did not add a column
    assert "5 lines" in md
    assert "4 runs" in md


def test_html_is_escaped_standalone_and_utf8(both) -> None:
    page = both["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert '<html lang="tr">' in page
    assert "<script" not in page
    assert "<b>x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "Ayşe Yılmaz &lt;ayse@ornek.bel.tr&gt;" in page


def test_invalid_ledger_line_is_reported_in_the_header(both) -> None:
    for ext in ("md", "html"):
        text = both[ext].read_text(encoding="utf-8")
        assert "1 line of the run ledger is not valid JSON and was skipped (line 3)" in text
        assert "satır 3" in text


def test_both_languages_by_default(both) -> None:
    for ext in ("md", "html", "csv"):
        text = both[ext].read_text(encoding="utf-8-sig")
        for word in ("Tarih", "Date", "Yazar", "Author", "Sunucular", "Hosts", "Uygulama", "Apply"):
            assert word in text, (ext, word)


@pytest.mark.parametrize(
    ("lang", "present", "absent"),
    [
        ("tr", ["Değişiklik", "Tarih", "Yazar", "Birleştirme", "Dosyalar", "Sunucular", "Uygulama"], ["Author"]),
        ("en", ["Commit", "Date", "Author", "Merge", "Request", "Files", "Hosts", "Apply"], ["Yazar"]),
    ],
)
def test_one_language(history, tmp_path: Path, lang: str, present: list[str], absent: list[str]) -> None:
    paths = report(history, tmp_path / "out", "--lang", lang, ledger=str(history["ledger"]))
    absent = absent + ["Tarih", "Sunucular", "Uygulama", "Birleştirme"] if lang == "en" else absent + ["Hosts", "Date"]
    for path in paths:
        text = path.read_text(encoding="utf-8-sig")
        for word in present:
            assert word in text, (path.suffix, word)
        for word in absent:
            assert word not in text, (path.suffix, word)
        if path.suffix == ".html":
            assert f'<html lang="{lang}">' in text
    header = read_csv(next(p for p in paths if p.suffix == ".csv"))[0]
    assert len(header) == 10
    assert all(" / " not in cell for cell in header)


def test_missing_ledger_still_lists_every_change(history, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ledger.jsonl"
    paths = report(history, tmp_path / "out", "--formats", "csv,md", ledger=str(missing))
    assert sorted(p.suffix for p in paths) == [".csv", ".md"]
    rows = read_csv(next(p for p in paths if p.suffix == ".csv"))[1:]
    expected = expected_rows(history)
    assert [r[0] for r in rows] == [r[0] for r in expected]
    assert all(r[8] == NONE and r[9] == NONE for r in rows)
    # without runs, hosts come from the changed host_vars and group_vars paths only
    assert [r[7] for r in rows] == ["group:dhcp_servers", NONE, "db01", "group:all", "app01"]
    md = next(p for p in paths if p.suffix == ".md").read_text(encoding="utf-8")
    assert f"Run ledger missing: {missing}" in md
    assert f"Çalıştırma kaydı yok: {missing}" in md


def test_ledger_from_the_environment(history, tmp_path: Path) -> None:
    paths = report(history, tmp_path / "out", "--formats", "csv", env_ledger=str(history["ledger"]))
    assert read_csv(paths[0])[1:] == expected_rows(history)


def test_rev_and_an_empty_range(history, tmp_path: Path) -> None:
    sha = history["sha"]
    paths = report(history, tmp_path / "a", "--formats", "csv", "--rev", "feature", ledger=str(history["ledger"]))
    rows = read_csv(paths[0])[1:]
    # on the feature branch f1 and f2 are first-parent commits: no merge brought them in
    assert [r[0] for r in rows] == [sha["f2"], sha["f1"], sha["c1"]]
    assert [r[4] for r in rows] == [NONE, NONE, NONE]
    assert rows[1][9] == NONE  # the apply at the merge is not theirs from this branch's view

    proc = subprocess.run(
        [sys.executable, str(TOOL), "--since", "2026-01-01", "--until", "2026-01-31", "--repo", str(history["repo"])]
        + ["--out-dir", str(tmp_path / "b"), "--ledger", str(history["ledger"])],
        capture_output=True,
        text=True,
        check=False,
        env=hermetic_git_env(),
    )
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "b" / "changes_2026-01-01_2026-01-31.md").read_text(encoding="utf-8")
    assert "No changes in this range" in md
    assert read_csv(tmp_path / "b" / "changes_2026-01-01_2026-01-31.csv") == [HEADINGS]


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "2026-11-30", "--until", "2026-11-01"],
        ["--since", "2026-13-01", "--until", "2026-12-01"],
        ["--since", "2026-11-01", "--until", "2026-11-30", "--formats", "pdf"],
        ["--since", "2026-11-01", "--until", "2026-11-30", "--rev", "no-such-branch"],
    ],
)
def test_bad_arguments(history, tmp_path: Path, args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(TOOL), *args, "--repo", str(history["repo"]), "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env=hermetic_git_env(),
    )
    assert proc.returncode == 2
    assert list(tmp_path.iterdir()) == []


def test_the_merge_that_brought_a_commit_in() -> None:
    """A: main; F1, F2 merged by M1 after B; G1 (branched from A) by M2 after C; H1 by M3 after D.

    `git rev-list --ancestry-path --first-parent --merges F1..HEAD` names M3 here (git 2.39),
    which is why the tool walks the graph itself.
    """
    parents = {
        "A": [],
        "B": ["A"],
        "F1": ["A"],
        "F2": ["F1"],
        "M1": ["B", "F2"],
        "C": ["M1"],
        "G1": ["A"],
        "M2": ["C", "G1"],
        "D": ["M2"],
        "H1": ["M2"],
        "M3": ["D", "H1"],
    }
    mainline = ["M3", "D", "M2", "C", "M1", "B", "A"]
    assert change_report.merges_that_brought_in(parents, mainline) == {
        "F1": "M1",
        "F2": "M1",
        "G1": "M2",
        "H1": "M3",
    }


@pytest.mark.parametrize(
    ("path", "affected"),
    [
        ("inventories/production/host_vars/app01.yml", "app01"),
        ("inventories/production/host_vars/app01.yaml", "app01"),
        ("inventories/production/host_vars/db01/main.yml", "db01"),
        ("host_vars/pc-kultur-001.yml", "pc-kultur-001"),
        ("host_vars/pc-kultur-001/vault.yml", "pc-kultur-001"),
        ("group_vars/all/org.yml", "group:all"),
        ("inventories/lab/group_vars/log_servers.yml", "group:log_servers"),
        ("inventories/production/hosts.yml", None),
        ("roles/common/defaults/main.yml", None),
        ("docs/host_vars/x.md", None),
    ],
)
def test_hosts_of_path(path: str, affected: str | None) -> None:
    assert change_report.hosts_of_path(path) == affected
