"""ci/check_talep.py and githooks/commit-msg: production and group_vars changes name their request.

Each test builds its own git repository under tmp_path; git runs without the user's global or
system configuration, so the results do not depend on the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scripttools import hermetic_git_env, load_script

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "ci" / "check_talep.py"
HOOK = ROOT / "githooks" / "commit-msg"


check_talep = load_script(CHECK, "check_talep")


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=hermetic_git_env(),
        capture_output=True,
        text=True,
        check=check,
    )


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    git(repo, "add", "-A")
    subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-F", "-"],
        cwd=repo,
        env=hermetic_git_env(),
        input=message,
        text=True,
        check=True,
        capture_output=True,
    )
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def short(repo: Path, sha: str) -> str:
    return git(repo, "rev-parse", "--short", sha).stdout.strip()


def run_check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), *args],
        cwd=repo,
        env=hermetic_git_env(),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Ayşe Yılmaz")
    git(path, "config", "user.email", "ayse@ornek.bel.tr")
    git(path, "config", "commit.gpgsign", "false")
    commit(path, {"README.md": "belediye-iac test\n"}, "Start")
    return path


# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "needs"),
    [
        ("inventories/production/hosts.yml", True),
        ("inventories/production/host_vars/app01.yml", True),
        ("inventories/production/group_vars/all/main.yml", True),
        ("group_vars/all.yml", True),
        ("group_vars/all/org.yml", True),
        ("inventories/lab/group_vars/y.yml", True),
        ("inventories/lab/hosts.yml", False),
        ("inventories/lab/host_vars/app01.yml", False),
        ("inventories/production", False),
        ("inventories/productionx/hosts.yml", False),
        ("roles/common/tasks/main.yml", False),
        ("docs/group_vars.md", False),
        ("README.md", False),
    ],
)
def test_which_paths_need_a_talep(path: str, needs: bool) -> None:
    assert check_talep.needs_talep(path) is needs


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026/1234", True),
        ("2000/1", True),
        ("2099/123456", True),
        ("BIM-2026/0001", True),
        ("İŞLERİ-2026/7", True),
        ("ÇĞİÖŞÜ-2026/1", True),
        ("ABCDEFGHIJKL-2026/1", True),
        ("ABCDEFGHIJKLM-2026/1", False),
        ("A-2026/1", False),
        ("bim-2026/1", False),
        ("BIM2026/1", False),
        ("1999/1", False),
        ("2100/1", False),
        ("2026/1234567", False),
        ("2026/", False),
        ("2026-1234", False),
        ("26/1234", False),
        ("2026/12 34", False),
        ("", False),
    ],
)
def test_talep_values(value: str, ok: bool) -> None:
    assert check_talep.valid_talep(value) is ok


def test_comments_and_the_scissors_part_are_not_the_message() -> None:
    text = "Subject\n\n# a comment\nTalep: 2026/1\n# ------------------------ >8 ------------------------\n+Talep: 1\n"
    assert check_talep.clean_message(text) == "Subject\n\nTalep: 2026/1\n"
    assert check_talep.clean_message("S\n\n; c\nTalep: 2026/1\n", cc=";") == "S\n\nTalep: 2026/1\n"


def test_help_documents_the_rule() -> None:
    out = subprocess.run([sys.executable, str(CHECK), "--help"], capture_output=True, text=True, check=True).stdout
    for needle in ("inventories/production/", "group_vars", "Talep: 2026/1234", "BIM-2026/0001", "--range", "--all"):
        assert needle in out


# --- history: --range and --all ----------------------------------------------------------------

PROD = {"inventories/production/x.yml": "ntp: [ntp1]\n"}
TOP_GV = {"group_vars/all.yml": "org: ornek\n"}
LAB_GV = {"inventories/lab/group_vars/y.yml": "lab: true\n"}
CODE = {"roles/common/tasks/main.yml": "- name: x\n", "docs/x.md": "# x\n"}


@pytest.mark.parametrize(
    ("files", "message", "problem"),
    [
        (PROD, "Production NTP", "changes inventories/production/x.yml but has no Talep: trailer"),
        (PROD, "Production NTP\n\nTalep: 2026/1234\n", None),
        (TOP_GV, "Org name", "changes group_vars/all.yml but has no Talep: trailer"),
        (TOP_GV, "Org name\n\nTalep: BIM-2026/0001\n", None),
        (LAB_GV, "Lab flag", "changes inventories/lab/group_vars/y.yml but has no Talep: trailer"),
        (LAB_GV, "Lab flag\n\nReviewed-by: Deniz\nTalep: 2026/9\n", None),
        (PROD, "Production NTP\n\nTalep: 2026-1234\n", "malformed Talep: '2026-1234'"),
        (PROD, "Two\n\nTalep: 2026/1\nTalep: bim-2026/2\n", "malformed Talep: 'bim-2026/2'"),
        (PROD, "Empty\n\nTalep:\n", "malformed Talep: ''"),
        (CODE, "Code\n\nTalep: soon\n", "malformed Talep: 'soon'"),
        (
            PROD,
            "Body only\n\nThis follows Talep: 2026/1234 as asked.\n\nMore text.\n",
            "changes inventories/production/x.yml but has no Talep: trailer",
        ),
        (
            PROD,
            "In the middle\n\nTalep: 2026/1234\n\nThe last paragraph.\n",
            "changes inventories/production/x.yml but has no Talep: trailer",
        ),
        (CODE, "Code and docs only", None),
    ],
)
def test_range_one_commit(repo: Path, files: dict[str, str], message: str, problem: str | None) -> None:
    sha = commit(repo, files, message)
    result = run_check(repo, "--range", "HEAD~1..HEAD")
    subject = message.split("\n", 1)[0]
    if problem is None:
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout == ""
    else:
        assert result.returncode == 1
        assert result.stdout == f"{short(repo, sha)} {subject}: {problem}\n"


def test_range_lists_each_offending_commit_with_at_most_three_files(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD").stdout.strip()
    many = {f"inventories/production/host_vars/pc{n}.yml": "x: 1\n" for n in range(5)}
    first = commit(repo, many, "Five desktops")
    commit(repo, CODE, "Code")
    third = commit(repo, TOP_GV, "Org")
    result = run_check(repo, "--range", f"{base}..HEAD")
    assert result.returncode == 1
    files = ", ".join(f"inventories/production/host_vars/pc{n}.yml" for n in range(3))
    assert result.stdout.splitlines() == [
        f"{short(repo, third)} Org: changes group_vars/all.yml but has no Talep: trailer",
        f"{short(repo, first)} Five desktops: changes {files} … (+2 more) but has no Talep: trailer",
    ]
    # a single revision means it and all its ancestors
    assert run_check(repo, "--range", first).stdout.splitlines() == result.stdout.splitlines()[1:]
    assert run_check(repo, "--range", "HEAD").returncode == 1


def test_a_merge_commit_is_skipped_its_commits_are_checked(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD").stdout.strip()
    git(repo, "checkout", "-q", "-b", "feature")
    good = commit(repo, PROD, "Production NTP\n\nTalep: 2026/1234\n")
    git(repo, "checkout", "-q", "main")
    commit(repo, CODE, "Code")
    git(repo, "merge", "-q", "--no-ff", "--no-verify", "-m", "Merge branch feature", "feature")
    merge = git(repo, "rev-parse", "HEAD").stdout.strip()
    assert len(git(repo, "rev-list", "--parents", "-n1", merge).stdout.split()) == 3
    result = run_check(repo, "--range", f"{base}..HEAD")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 commits checked" not in result.stderr  # the merge is not counted
    assert "2 commits checked" in result.stderr

    git(repo, "checkout", "-q", "-b", "feature2", base)
    bad = commit(repo, LAB_GV, "Lab flag")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-verify", "-m", "Merge feature2\n\nTalep: 2026/5", "feature2")
    result = run_check(repo, "--range", f"{base}..HEAD")
    assert result.returncode == 1
    assert (
        result.stdout
        == f"{short(repo, bad)} Lab flag: changes inventories/lab/group_vars/y.yml but has no Talep: trailer\n"
    )
    assert good not in result.stdout


def test_all_honours_the_exempt_file(repo: Path) -> None:
    old = commit(repo, PROD, "Before the rule")
    commit(repo, CODE, "Code")
    result = run_check(repo, "--all")
    assert result.returncode == 1
    assert result.stdout.startswith(f"{short(repo, old)} Before the rule: ")

    exempt = repo / "ci" / "talep-exempt.txt"
    exempt.parent.mkdir()
    exempt.write_text(f"# known history\n\n{old} before the Talep check existed (issue 5); production x.yml\n")
    result = run_check(repo, "--all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 exempt" in result.stderr
    assert run_check(repo, "--range", "HEAD").returncode == 0  # --range honours it too

    later = commit(repo, TOP_GV, "After the rule")
    result = run_check(repo, "--all")
    assert result.returncode == 1
    assert (
        result.stdout == f"{short(repo, later)} After the rule: changes group_vars/all.yml but has no Talep: trailer\n"
    )

    other = repo.parent / "other-exempt.txt"
    other.write_text("")
    assert run_check(repo, "--all", "--exempt", str(other)).stdout.count("\n") == 2


@pytest.mark.parametrize(
    "line",
    ["abc123 short sha", "{sha}", "{sha}   ", "{SHA} upper case"],
)
def test_a_malformed_exempt_line_is_an_error(repo: Path, line: str) -> None:
    sha = git(repo, "rev-parse", "HEAD").stdout.strip()
    exempt = repo / "ci" / "talep-exempt.txt"
    exempt.parent.mkdir()
    exempt.write_text(line.format(sha=sha, SHA=sha.upper()) + "\n")
    result = run_check(repo, "--all")
    assert result.returncode == 2
    assert "talep-exempt.txt:1" in result.stderr


def test_exempt_entries_that_are_not_needed_are_reported(repo: Path) -> None:
    fine = commit(repo, CODE, "Code")
    (repo / "ci").mkdir()
    (repo / "ci" / "talep-exempt.txt").write_text(f"{fine} not needed\n{'0' * 40} not here\n")
    result = run_check(repo, "--all")
    assert result.returncode == 0
    assert "does not need an exemption" in result.stderr
    assert "not in the checked history" in result.stderr


def test_bad_range_is_a_usage_error(repo: Path) -> None:
    assert run_check(repo, "--range", "nothing..HEAD").returncode == 2
    assert run_check(repo, "--range=-p").returncode == 2


def test_shallow_clone_skips_the_boundary_commit_with_a_warning(repo: Path, tmp_path: Path) -> None:
    commit(repo, PROD, "Production NTP\n\nTalep: 2026/1234\n")
    boundary = commit(repo, CODE, "Code one")
    commit(repo, {"docs/y.md": "y\n"}, "Docs two")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{repo}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    result = run_check(clone, "--all")
    # the boundary commit seen against an empty tree would "add" inventories/production/x.yml
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "shallow" in result.stderr
    assert short(clone, boundary) in result.stderr

    # a commit whose parent is in the clone is checked as usual
    git(clone, "config", "user.name", "Mehmet Öz")
    git(clone, "config", "user.email", "mehmet@ornek.bel.tr")
    commit(clone, TOP_GV, "Org")
    result = run_check(clone, "--all")
    assert result.returncode == 1
    assert "Org: changes group_vars/all.yml but has no Talep: trailer" in result.stdout


# --- the commit-msg hook -----------------------------------------------------------------------


@pytest.fixture
def hooked(repo: Path) -> Path:
    """The repository with the real hook and checker at their paths, enabled like `make hooks`."""
    for source in (HOOK, CHECK):
        target = repo / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    commit(repo, {}, "Add the hook")
    git(repo, "config", "core.hooksPath", "githooks")
    return repo


def stage(repo: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    git(repo, "add", "-A")


def test_hook_rejects_a_production_commit_without_talep_and_accepts_one_with(hooked: Path) -> None:
    head = git(hooked, "rev-parse", "HEAD").stdout.strip()
    stage(hooked, PROD | CODE)
    refused = git(hooked, "commit", "-m", "Production NTP", check=False)
    assert refused.returncode != 0
    assert "inventories/production/x.yml" in refused.stderr
    assert "roles/common" not in refused.stderr
    assert "Talep: 2026/1234" in refused.stderr
    assert git(hooked, "rev-parse", "HEAD").stdout.strip() == head

    body_only = git(hooked, "commit", "-m", "Production NTP", "-m", "As asked in Talep: 2026/1234 today.", check=False)
    assert body_only.returncode != 0

    malformed = git(hooked, "commit", "-m", "Production NTP", "-m", "Talep: 26/1", check=False)
    assert malformed.returncode != 0
    assert "malformed Talep: '26/1'" in malformed.stderr

    accepted = git(hooked, "commit", "-m", "Production NTP", "-m", "Talep: 2026/1234", check=False)
    assert accepted.returncode == 0, accepted.stderr
    assert git(hooked, "log", "-1", "--format=%(trailers:key=Talep,valueonly)").stdout.strip() == "2026/1234"


def test_hook_accepts_code_only_commits_and_commits_from_a_subdirectory(hooked: Path) -> None:
    stage(hooked, CODE)
    assert git(hooked, "commit", "-m", "Code only", check=False).returncode == 0
    stage(hooked, LAB_GV)
    sub = hooked / "inventories" / "lab"
    refused = git(sub, "commit", "-m", "Lab flag", check=False)
    assert refused.returncode != 0
    assert "inventories/lab/group_vars/y.yml" in refused.stderr
    assert git(sub, "commit", "-m", "Lab flag", "-m", "Talep: BİM-2026/3", check=False).returncode == 0


def test_hook_checks_only_what_is_committed_with_commit_a(hooked: Path) -> None:
    stage(hooked, PROD)
    commit(hooked, {}, "Production NTP\n\nTalep: 2026/1\n")
    (hooked / "inventories/production/x.yml").write_text("ntp: [ntp2]\n")
    refused = git(hooked, "commit", "-a", "-m", "Change NTP again", check=False)
    assert refused.returncode != 0
    assert "inventories/production/x.yml" in refused.stderr


def test_hook_lets_a_merge_commit_through(hooked: Path) -> None:
    git(hooked, "checkout", "-q", "-b", "feature")
    stage(hooked, PROD)
    assert git(hooked, "commit", "-m", "Production NTP", "-m", "Talep: 2026/1234", check=False).returncode == 0
    git(hooked, "checkout", "-q", "main")
    stage(hooked, CODE)
    assert git(hooked, "commit", "-m", "Code", check=False).returncode == 0
    merged = git(hooked, "merge", "--no-ff", "--no-edit", "feature", check=False)
    assert merged.returncode == 0, merged.stderr
    assert len(git(hooked, "rev-list", "--parents", "-n1", "HEAD").stdout.split()) == 3


def test_hook_fails_with_a_message_without_python3(hooked: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git_path = shutil.which("git")
    assert git_path
    (bin_dir / "git").symlink_to(git_path)
    msg = hooked / "msg.txt"
    msg.write_text("Subject\n")
    env = hermetic_git_env() | {"PATH": str(bin_dir)}
    result = subprocess.run(
        ["/bin/sh", str(hooked / "githooks" / "commit-msg"), str(msg)],
        cwd=hooked,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "python3 not found" in result.stderr


def test_hook_files_are_executable() -> None:
    assert os.access(HOOK, os.X_OK)
    assert os.access(CHECK, os.X_OK)
    assert HOOK.read_text().startswith("#!/bin/sh\n")
    assert CHECK.read_text().startswith("#!/usr/bin/env python3\n")


# --- this repository ---------------------------------------------------------------------------


def test_this_repository_passes_with_its_exempt_file() -> None:
    inside = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True, check=False)
    if inside.returncode != 0:
        pytest.skip("not a git checkout")
    result = subprocess.run(
        [sys.executable, str(CHECK), "--all"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    exempt = (ROOT / "ci" / "talep-exempt.txt").read_text()
    for line in exempt.splitlines():
        if line and not line.startswith("#"):
            assert "before the Talep check existed (issue 5); " in line


def test_moving_a_file_out_of_production_needs_a_talep(repo: Path) -> None:
    commit(repo, PROD, "Production NTP\n\nTalep: 2026/1\n")
    git(repo, "mv", "inventories/production/x.yml", "ntp-notes.yml")
    moved = commit(repo, {}, "Move the NTP notes")
    result = run_check(repo, "--range", "HEAD~1..HEAD")
    assert result.returncode == 1
    problem = "changes inventories/production/x.yml but has no Talep: trailer"
    assert result.stdout == f"{short(repo, moved)} Move the NTP notes: {problem}\n"
