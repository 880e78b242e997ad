"""roles/mail_server/files/*-config-check: the wrappers that stand between a template and the live file.

postconf and clamconf both exit 0 on a misspelt option and only print about it, so the wrappers
must turn their output into a failure. Fake postconf and clamconf programs, first on PATH, stand
in for the real ones (the molecule scenario runs the real ones): each prints what its real
counterpart prints for the case at hand and records the directory it was asked to read.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "roles" / "mail_server" / "files"
POSTFIX_CHECK = FILES / "postfix-config-check"
CLAMAV_CHECK = FILES / "clamav-milter-config-check"

# The fake postconf: the behaviour comes from FAKE_MODE; it saves the files it was given to FAKE_SEEN.
FAKE_POSTCONF = """#!/bin/sh
dir=$2
cp "$dir/main.cf" "$FAKE_SEEN/main.cf"; cp "$dir/master.cf" "$FAKE_SEEN/master.cf"
case "$FAKE_MODE" in
  clean) ;;
  warning) echo "postconf: warning: $dir/main.cf: unused parameter: smtpd_tls_secruity_level=may" >&2 ;;
  fatal) echo "postconf: fatal: $dir/master.cf: line 3: bad field count" >&2; exit 1 ;;
esac
exit 0
"""

FAKE_CLAMCONF = """#!/bin/sh
cp "$2/clamav-milter.conf" "$FAKE_SEEN/clamav-milter.conf"
echo "Checking configuration files in $2"
case "$FAKE_MODE" in
  clean) ;;
  error) echo "ERROR: Incorrect argument format for option OnInfected" >&2 ;;
esac
exit 0
"""


def fake(tmp_path: Path, name: str, body: str) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    prog = bindir / name
    prog.write_text(body)
    prog.chmod(0o755)
    return bindir


def run(script: Path, args: list[str], tmp_path: Path, bindir: Path, mode: str, **env) -> subprocess.CompletedProcess:
    seen = tmp_path / "seen"
    seen.mkdir(exist_ok=True)
    environ = {"PATH": f"{bindir}:/usr/bin:/bin", "FAKE_MODE": mode, "FAKE_SEEN": str(seen), **env}
    return subprocess.run(["sh", str(script), *args], capture_output=True, text=True, env=environ, check=False)


@pytest.fixture
def live(tmp_path: Path) -> Path:
    """A live Postfix configuration directory with both files."""
    directory = tmp_path / "etc-postfix"
    directory.mkdir()
    (directory / "main.cf").write_text("live main\n")
    (directory / "master.cf").write_text("live master\n")
    return directory


@pytest.mark.parametrize(
    ("mode", "rc", "stderr"),
    [
        pytest.param("clean", 0, "", id="clean-candidate-passes"),
        pytest.param("warning", 1, "main candidate: main.cf: unused parameter: smtpd_tls_secr", id="a-warning-fails"),
        pytest.param("fatal", 1, "bad field count", id="a-fatal-error-fails"),
    ],
)
def test_postfix_check_fails_on_any_warning_or_error(tmp_path, live, mode, rc, stderr):
    candidate = tmp_path / "candidate"
    candidate.write_text("candidate main\n")
    bindir = fake(tmp_path, "postconf", FAKE_POSTCONF)
    res = run(POSTFIX_CHECK, ["main", str(candidate)], tmp_path, bindir, mode, POSTFIX_CONFIG_DIRECTORY=str(live))
    assert res.returncode == rc, res.stderr
    assert stderr in res.stderr


@pytest.mark.parametrize(
    ("kind", "main", "master"),
    [
        pytest.param("main", "candidate\n", "live master\n", id="main-with-live-master"),
        pytest.param("master", "live main\n", "candidate\n", id="master-with-live-main"),
    ],
)
def test_postfix_check_reads_the_candidate_with_the_live_other_file(tmp_path, live, kind, main, master):
    candidate = tmp_path / "candidate"
    candidate.write_text("candidate\n")
    bindir = fake(tmp_path, "postconf", FAKE_POSTCONF)
    res = run(POSTFIX_CHECK, [kind, str(candidate)], tmp_path, bindir, "clean", POSTFIX_CONFIG_DIRECTORY=str(live))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "seen" / "main.cf").read_text() == main
    assert (tmp_path / "seen" / "master.cf").read_text() == master


def test_postfix_check_without_a_live_other_file_uses_an_empty_one(tmp_path):
    candidate = tmp_path / "candidate"
    candidate.write_text("candidate\n")
    bindir = fake(tmp_path, "postconf", FAKE_POSTCONF)
    res = run(
        POSTFIX_CHECK, ["main", str(candidate)], tmp_path, bindir, "clean", POSTFIX_CONFIG_DIRECTORY="/nonexistent"
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "seen" / "master.cf").read_text() == ""


def test_postfix_check_refuses_an_unknown_kind(tmp_path):
    bindir = fake(tmp_path, "postconf", FAKE_POSTCONF)
    res = run(POSTFIX_CHECK, ["mian", "/dev/null"], tmp_path, bindir, "clean")
    assert res.returncode == 2
    assert "main or master" in res.stderr


@pytest.mark.parametrize(
    ("mode", "rc", "stderr"),
    [
        pytest.param("clean", 0, "", id="clean-candidate-passes"),
        pytest.param("error", 1, "Incorrect argument format for option OnInfected", id="an-error-line-fails"),
    ],
)
def test_clamav_milter_check_fails_on_an_error_line(tmp_path, mode, rc, stderr):
    candidate = tmp_path / "candidate.conf"
    candidate.write_text("OnInfected Reject\n")
    bindir = fake(tmp_path, "clamconf", FAKE_CLAMCONF)
    res = run(CLAMAV_CHECK, [str(candidate)], tmp_path, bindir, mode)
    assert res.returncode == rc, res.stderr
    assert stderr in res.stderr
    assert (tmp_path / "seen" / "clamav-milter.conf").read_text() == "OnInfected Reject\n"


def test_clamav_milter_check_names_the_missing_clamconf(tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    res = subprocess.run(
        ["/bin/sh", str(CLAMAV_CHECK), "/dev/null"],
        capture_output=True,
        text=True,
        env={"PATH": str(empty)},
        check=False,
    )
    assert res.returncode == 2
    assert "role antivirus" in res.stderr


def test_the_checkers_are_posix_shell_scripts():
    for script in (POSTFIX_CHECK, CLAMAV_CHECK):
        assert script.read_text().startswith("#!/bin/sh\n")
        assert os.access(script, os.R_OK)
