"""plugins/modules/keyvalue_settings: several key/value lines of a package-owned file in one call.

It replaces one ansible.builtin.lineinfile per key (isms_baseline: auditd.conf, login.defs), so it
must give the same file as those did: the file of every row is compared with what the real
lineinfile module makes of it, key by key. main() runs in this process on files in tmp_path.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "plugins" / "modules" / "keyvalue_settings.py"
SPEC = importlib.util.spec_from_file_location("keyvalue_settings", MODULE)
kv = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(kv)

AUDITD = """\
#
# This file controls the configuration of the audit daemon
#
local_events = yes
log_file = /var/log/audit/audit.log
log_group = adm
max_log_file = 8
num_logs = 5
max_log_file_action = ROTATE
space_left = 75
"""

LOGIN_DEFS = """\
# Password aging controls:
PASS_MAX_DAYS\t99999
PASS_MIN_DAYS\t0
#ENCRYPT_METHOD SHA512
UMASK\t\t022
"""


def run(args: dict) -> dict:
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        kv.main()
    return json.loads(out.getvalue())


def run_lineinfile(path: Path, settings: dict, style: str, commented: bool) -> None:
    """The tasks this module replaced: one lineinfile per key, with their regular expressions."""
    from ansible.modules import lineinfile

    for key, value in settings.items():
        if style == "equals":
            regexp, line = rf"^\s*{key}\s*=", f"{key} = {value}"
        else:
            regexp, line = (r"^#?" if commented else "^") + rf"\s*{key}\s", f"{key}\t{value}"
        out = io.StringIO()
        with (
            patch_module_args({"path": str(path), "regexp": regexp, "line": line}),
            contextlib.redirect_stdout(out),
            contextlib.suppress(SystemExit),
        ):
            lineinfile.main()
        assert not json.loads(out.getvalue()).get("failed"), out.getvalue()


CASES = [
    # name, text, settings, style, commented, changed keys, text after
    (
        "a live value is replaced in place",
        AUDITD,
        {"max_log_file": 50},
        "equals",
        False,
        ["max_log_file"],
        AUDITD.replace("max_log_file = 8", "max_log_file = 50"),
    ),
    (
        "a missing key is appended at the end",
        AUDITD,
        {"disk_full_action": "SUSPEND"},
        "equals",
        False,
        ["disk_full_action"],
        AUDITD + "disk_full_action = SUSPEND\n",
    ),
    ("a matching file is not changed", AUDITD, {"log_group": "adm", "num_logs": 5}, "equals", False, [], AUDITD),
    (
        "only the last of repeated lines is replaced",
        "a = 1\na = 2\n",
        {"a": 3},
        "equals",
        False,
        ["a"],
        "a = 1\na = 3\n",
    ),
    (
        "a file without a final newline gets one before the appended line",
        "a = 1",
        {"b": 2},
        "equals",
        False,
        ["b"],
        "a = 1\nb = 2\n",
    ),
    ("an empty file gets the lines", "", {"a": 1, "b": "x"}, "equals", False, ["a", "b"], "a = 1\nb = x\n"),
    (
        "a key that is the prefix of another does not match it",
        "max_log_file_action = ROTATE\n",
        {"max_log_file": 50},
        "equals",
        False,
        ["max_log_file"],
        "max_log_file_action = ROTATE\nmax_log_file = 50\n",
    ),
    (
        "a commented-out default is replaced when asked",
        LOGIN_DEFS,
        {"ENCRYPT_METHOD": "YESCRYPT"},
        "space",
        True,
        ["ENCRYPT_METHOD"],
        LOGIN_DEFS.replace("#ENCRYPT_METHOD SHA512", "ENCRYPT_METHOD\tYESCRYPT"),
    ),
    ("a commented-out default stays when not asked", "#a = 1\n", {"a": 2}, "equals", False, ["a"], "#a = 1\na = 2\n"),
    (
        "space style writes a tab",
        LOGIN_DEFS,
        {"PASS_MAX_DAYS": 180, "PASS_MIN_DAYS": 1},
        "space",
        True,
        ["PASS_MAX_DAYS", "PASS_MIN_DAYS"],
        LOGIN_DEFS.replace("99999", "180").replace("PASS_MIN_DAYS\t0", "PASS_MIN_DAYS\t1"),
    ),
    (
        "comments and other keys are kept",
        LOGIN_DEFS,
        {"YESCRYPT_COST_FACTOR": 7},
        "space",
        True,
        ["YESCRYPT_COST_FACTOR"],
        LOGIN_DEFS + "YESCRYPT_COST_FACTOR\t7\n",
    ),
]


@pytest.mark.parametrize(
    ("text", "settings", "style", "commented", "keys", "after"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_apply_settings(text, settings, style, commented, keys, after):
    assert kv.apply_settings(text, settings, style, None, commented) == (after, keys)


@pytest.mark.parametrize(
    ("text", "settings", "style", "commented"), [c[1:5] for c in CASES if c[1]], ids=[c[0] for c in CASES if c[1]]
)
def test_same_file_as_one_lineinfile_per_key(tmp_path, text, settings, style, commented):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.write_text(text)
    theirs.write_text(text)
    run({"path": str(ours), "settings": settings, "style": style, "commented": commented})
    run_lineinfile(theirs, settings, style, commented)
    assert ours.read_text() == theirs.read_text()


def test_change_writes_the_file_and_keeps_its_mode(tmp_path):
    conf = tmp_path / "auditd.conf"
    conf.write_text(AUDITD)
    conf.chmod(0o640)
    result = run({"path": str(conf), "settings": {"max_log_file": 50, "num_logs": 10}})
    assert result["changed"] is True
    assert result["changed_keys"] == ["max_log_file", "num_logs"]
    assert "max_log_file = 50\nnum_logs = 10\n" in conf.read_text()
    assert conf.stat().st_mode & 0o777 == 0o640
    assert not list(tmp_path.glob(".keyvalue_settings.*"))


def test_no_change_leaves_the_file_untouched(tmp_path):
    conf = tmp_path / "auditd.conf"
    conf.write_text(AUDITD)
    inode = conf.stat().st_ino
    result = run({"path": str(conf), "settings": {"max_log_file": 8, "log_group": "adm"}})
    assert result["changed"] is False
    assert result["changed_keys"] == []
    assert conf.stat().st_ino == inode


def test_check_mode_reports_the_change_and_writes_nothing(tmp_path):
    conf = tmp_path / "auditd.conf"
    conf.write_text(AUDITD)
    result = run({"path": str(conf), "settings": {"max_log_file": 50}, "_ansible_check_mode": True})
    assert result["changed"] is True
    assert conf.read_text() == AUDITD


def test_diff_shows_the_file_before_and_after(tmp_path):
    conf = tmp_path / "login.defs"
    conf.write_text(LOGIN_DEFS)
    result = run(
        {
            "path": str(conf),
            "settings": {"PASS_MAX_DAYS": 180},
            "style": "space",
            "commented": True,
            "_ansible_diff": True,
            "_ansible_check_mode": True,
        }
    )
    assert result["diff"] == {
        "before": LOGIN_DEFS,
        "after": LOGIN_DEFS.replace("99999", "180"),
        "before_header": str(conf),
        "after_header": str(conf),
    }


def test_a_missing_file_fails_and_is_not_created(tmp_path):
    conf = tmp_path / "absent.conf"
    result = run({"path": str(conf), "settings": {"a": 1}})
    assert result["failed"] is True
    assert str(conf) in result["msg"]
    assert "does not exist" in result["msg"]
    assert not conf.exists()
