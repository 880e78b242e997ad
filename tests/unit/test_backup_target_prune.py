"""roles/backup_target/files/belediye_backup_prune.py: the target's GFS pruning tool, with restic faked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "roles" / "backup_target" / "files"))

import belediye_backup_prune as prune  # noqa: E402 - an installed script, not a package


def snap(sid: str, time: str, host: str = "app01") -> dict:
    return {"id": sid * 8, "short_id": sid, "time": time, "hostname": host, "paths": ["/etc"]}


# What restic 0.14 prints for `forget --json` (one line of groups), measured on Debian 12.
FORGET_JSON = json.dumps(
    [
        {
            "tags": None,
            "host": "app01",
            "paths": ["/etc"],
            "keep": [snap("cccccccc", "2025-12-31T12:00:00Z"), snap("aaaaaaaa", "2025-11-30T12:00:00Z")],
            "remove": [snap("bbbbbbbb", "2025-12-01T12:00:00Z")],
            "reasons": [],
        }
    ]
)


@pytest.mark.parametrize(
    ("retention", "flags"),
    [
        pytest.param(
            {"daily": 7, "weekly": 4, "monthly": 12},
            ["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "12"],
            id="gfs",
        ),
        pytest.param(
            {"daily": 3, "weekly": 0, "monthly": "6"}, ["--keep-daily", "3", "--keep-monthly", "6"], id="zero-left-out"
        ),
        pytest.param({"daily": 7, "yearly": 5}, ["--keep-daily", "7", "--keep-yearly", "5"], id="yearly"),
    ],
)
def test_forget_command_line(retention, flags):
    argv = prune.forget_argv("/srv/backup/restic/app01", "/etc/k", retention, "host,paths")
    assert argv[:8] == [
        "/usr/bin/restic",
        "--repo",
        "/srv/backup/restic/app01",
        "--password-file",
        "/etc/k",
        "--no-cache",
        "--json",
        "forget",
    ]
    assert argv[8:10] == ["--group-by", "host,paths"]
    assert argv[10:] == flags


@pytest.mark.parametrize(
    ("stdout", "kept", "removed"),
    [
        pytest.param(FORGET_JSON + "\n", ["aaaaaaaa", "cccccccc"], ["bbbbbbbb"], id="sorted-by-time"),
        pytest.param(FORGET_JSON + "\nloading indexes...\n", ["aaaaaaaa", "cccccccc"], ["bbbbbbbb"], id="text-after"),
        pytest.param("", [], [], id="no-snapshots-prints-nothing"),
        pytest.param("[]\n", [], [], id="empty-list"),
    ],
)
def test_parse_forget(stdout, kept, removed):
    out = prune.parse_forget(stdout)
    assert [s["id"] for s in out["kept"]] == kept
    assert [s["id"] for s in out["removed"]] == removed


def test_parse_forget_refuses_text_without_json():
    with pytest.raises(ValueError, match="printed no JSON"):
        prune.parse_forget("Fatal: something\n")


class FakeRestic:
    """Stands in for subprocess.run: answers forget and prune per repository, records the calls."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, **_kw):
        repo = Path(argv[argv.index("--repo") + 1]).name
        command = "forget" if "forget" in argv else "prune"
        self.calls.append((repo, command))
        rc, out, err = self.answers.get((repo, command), (0, "", ""))
        return subprocess.CompletedProcess(argv, rc, out, err)


@pytest.fixture
def setup(tmp_path):
    data = tmp_path / "restic"
    for name in ("app01", "log01", "kilitli"):
        (data / name).mkdir(parents=True)
        (data / name / "config").write_text("x")
    config = {
        "data_dir": str(data),
        "password_file": str(tmp_path / "key"),
        "status_file": str(tmp_path / "prune-status.json"),
        "lock_file": str(tmp_path / "lock"),
        "group_by": "host,paths",
        "repositories": [
            {"name": "app01", "retention": {"daily": 7, "weekly": 4, "monthly": 12}},
            {"name": "log01", "retention": {"daily": 7}},
            {"name": "kilitli", "retention": {"daily": 7}},
            {"name": "yok01", "retention": {"daily": 7}},
        ],
    }
    path = tmp_path / "prune.json"
    path.write_text(json.dumps(config))
    return tmp_path, path


def test_a_run_prunes_what_was_forgotten_and_reports_every_repository(setup, monkeypatch):
    tmp_path, config = setup
    fake = FakeRestic(
        {
            ("app01", "forget"): (0, FORGET_JSON, ""),
            ("log01", "forget"): (0, "", ""),
            ("kilitli", "forget"): (
                1,
                "",
                # restic 0.14's stderr for a repository that a running backup holds (measured).
                "unable to create lock in backend: repository is already locked by PID 7\n"
                "lock was created at 2026-11-30 16:07:04 (1.2s ago)\n"
                "the `unlock` command can be used to remove stale locks\n",
            ),
        }
    )
    monkeypatch.setattr(prune.subprocess, "run", fake)
    assert prune.main(["--config", str(config)]) == 1
    # prune only where forget removed something; a failing repository does not stop the others.
    assert fake.calls == [("app01", "forget"), ("app01", "prune"), ("log01", "forget"), ("kilitli", "forget")]
    status = json.loads((tmp_path / "prune-status.json").read_text())
    assert status["result"] == "failed"
    assert status["failed"] == ["kilitli", "yok01"]
    by_name = {r["repository"]: r for r in status["repositories"]}
    assert (by_name["app01"]["kept"], by_name["app01"]["removed"], by_name["app01"]["result"]) == (2, 1, "ok")
    assert by_name["app01"]["kept_snapshots"][0] == {"id": "aaaaaaaa", "time": "2025-11-30T12:00:00Z", "host": "app01"}
    assert (by_name["log01"]["kept"], by_name["log01"]["removed"]) == (0, 0)
    assert (
        by_name["kilitli"]["error"]
        == "restic forget exited 1: unable to create lock in backend: repository is already locked by PID 7"
    )
    assert by_name["yok01"]["error"].startswith("no repository at ")


def test_a_failing_prune_is_reported(setup, monkeypatch):
    tmp_path, config = setup
    fake = FakeRestic({("app01", "forget"): (0, FORGET_JSON, ""), ("app01", "prune"): (1, "", "Fatal: pack damaged\n")})
    monkeypatch.setattr(prune.subprocess, "run", fake)
    assert prune.main(["--config", str(config), "--repo", "app01"]) == 1
    status = json.loads((tmp_path / "prune-status.json").read_text())
    assert status["repositories"][0]["error"] == "restic prune exited 1: Fatal: pack damaged"
    assert status["repositories"][0]["removed"] == 1


def test_one_good_repository_gives_exit_0(setup, monkeypatch):
    tmp_path, config = setup
    monkeypatch.setattr(prune.subprocess, "run", FakeRestic({("app01", "forget"): (0, FORGET_JSON, "")}))
    assert prune.main(["--config", str(config), "--repo", "app01"]) == 0
    assert json.loads((tmp_path / "prune-status.json").read_text())["result"] == "ok"
    assert oct((tmp_path / "prune-status.json").stat().st_mode & 0o777) == "0o640"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--repo", "baska01"], "not a configured repository: baska01", id="unknown-repo"),
        pytest.param(["--config", "/nonexistent/prune.json"], "cannot read /nonexistent/prune.json", id="no-config"),
    ],
)
def test_usage_errors_exit_2(setup, argv, message, capsys):
    _tmp_path, config = setup
    assert prune.main(["--config", str(config), *argv]) == 2
    assert message in capsys.readouterr().err
