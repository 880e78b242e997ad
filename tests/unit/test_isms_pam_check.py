"""roles/isms_baseline/files/bgys-pam-check: the validator run before a PAM file is written.

A misspelt module in an auth stack locks everybody out, so the checker must refuse it. Installed
modules are fake .so files in tmp_path (MODULE_DIRS); /etc/pam.d for @include is a tmp directory.
"""

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "isms_baseline"
SCRIPT = ROLE / "files" / "bgys-pam-check"

MODULES = ["pam_unix.so", "pam_deny.so", "pam_permit.so", "pam_faillock.so", "pam_pwhistory.so", "pam_pwquality.so"]


def load_checker():
    loader = importlib.machinery.SourceFileLoader("bgys_pam_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture
def pam(tmp_path, monkeypatch):
    """The checker, seeing the fake modules in tmp_path/security and tmp_path/pam.d as /etc/pam.d."""
    checker = load_checker()
    security = tmp_path / "security"
    security.mkdir()
    for name in MODULES:
        (security / name).write_bytes(b"\x7fELF")
    pamd = tmp_path / "pam.d"
    pamd.mkdir()
    (pamd / "common-auth").write_text("auth required pam_unix.so\n")
    monkeypatch.setattr(checker, "MODULE_DIRS", [str(tmp_path / "missing-dir"), str(security)])

    def exists(path):
        if path.startswith("/etc/pam.d/"):
            path = str(pamd / path.removeprefix("/etc/pam.d/"))
        return os.path.exists(path)

    monkeypatch.setattr(
        checker, "os", types.SimpleNamespace(path=types.SimpleNamespace(exists=exists, join=os.path.join))
    )
    checker.tmp = tmp_path
    return checker


# --- service files (/etc/pam.d syntax) --------------------------------------------------------

GOOD_SERVICE = """\
# /etc/pam.d/common-auth, as pam-auth-update writes it
auth	requisite			pam_faillock.so preauth
auth	[success=1 default=ignore]	pam_unix.so nullok
auth	[default=die]			pam_faillock.so authfail
auth	requisite			pam_deny.so
auth	required			pam_permit.so
@include common-auth
"""


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        pytest.param(GOOD_SERVICE, [], id="good-service-file-passes"),
        pytest.param("", [], id="empty-file-passes"),
        pytest.param("# only comments\n\n   \n", [], id="comments-and-blank-lines-pass"),
        pytest.param("auth required pam_unix.so # trailing comment\n", [], id="trailing-comment-is-ignored"),
        pytest.param(
            "auth required pam_unix.so\nauth required pam_faillok.so preauth\n",
            ["line 2: module 'pam_faillok.so' is not installed"],
            id="misspelt-module-fails",
        ),
        pytest.param(
            "session optional pam_systemd_home.so\n",
            ["line 1: module 'pam_systemd_home.so' is not installed"],
            id="missing-module-fails-even-when-optional-control",
        ),
        pytest.param("-session optional pam_systemd_home.so\n", [], id="dash-prefixed-missing-module-is-tolerated"),
        pytest.param(
            "auth [success=jump default=ignore] pam_unix.so\n",
            ["line 1: malformed control '[success=jump default=ignore]'"],
            id="bracket-control-with-bad-action-fails",
        ),
        pytest.param(
            "auth [success=ok new_authtok_reqd=done default=bad] pam_unix.so\n",
            [],
            id="bracket-control-with-good-actions",
        ),
        pytest.param("auth [] pam_unix.so\n", ["line 1: malformed control '[]'"], id="empty-bracket-control-fails"),
        pytest.param(
            "auth requird pam_unix.so\n", ["line 1: malformed control 'requird'"], id="misspelt-simple-control-fails"
        ),
        pytest.param(
            "auth [success=1 default=ignore pam_unix.so\n",
            ["line 1: unbalanced [ ] in 'auth [success=1 default=ignore pam_unix.so'"],
            id="unclosed-bracket-fails",
        ),
        pytest.param(
            "authentication required pam_unix.so\n", ["line 1: unknown type 'authentication'"], id="unknown-type-fails"
        ),
        pytest.param(
            "auth required\n", ["line 1: a rule needs a control and a module"], id="rule-without-module-fails"
        ),
        pytest.param("@include common-auth\n", [], id="include-of-existing-file-passes"),
        pytest.param(
            "@include common-auht\n",
            ["line 1: bad @include '@include common-auht'"],
            id="include-of-missing-file-fails",
        ),
        pytest.param("@include\n", ["line 1: bad @include '@include'"], id="include-without-file-fails"),
        pytest.param("auth include common-auth\n", [], id="include-control-of-existing-file-passes"),
        pytest.param(
            "auth substack common-auht\n",
            ["line 1: included file 'common-auht' does not exist"],
            id="substack-of-missing-file-fails",
        ),
        pytest.param(
            "auth required pam_unix.so\naccount required pam_unx.so\npassword requird pam_unix.so\n",
            ["line 2: module 'pam_unx.so' is not installed", "line 3: malformed control 'requird'"],
            id="every-bad-line-is-reported",
        ),
    ],
)
def test_check_service(pam, text, problems):
    assert pam.check_service(text) == problems


@pytest.mark.parametrize(
    ("module", "ok"),
    [
        pytest.param("security/pam_unix.so", False, id="relative-path-is-not-a-module-name"),
        pytest.param("{tmp}/security/pam_unix.so", True, id="absolute-path-that-exists"),
        pytest.param("{tmp}/security/pam_nope.so", False, id="absolute-path-that-does-not-exist"),
    ],
)
def test_check_service_module_given_by_path(pam, module, ok):
    problems = pam.check_service(f"auth required {module.format(tmp=pam.tmp)}\n")
    assert (problems == []) is ok


# --- pam-auth-update profiles (/usr/share/pam-configs syntax) ---------------------------------

GOOD_PROFILE = """\
Name: Refuse locked accounts before the password is asked (BGYS-PWD-02)
Default: yes
Priority: 1024
Auth-Type: Primary
Auth:
	requisite			pam_faillock.so preauth
Account-Type: Primary
Account:
	required			pam_faillock.so
"""


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        pytest.param(GOOD_PROFILE, [], id="good-profile-passes"),
        pytest.param("# comment\n" + GOOD_PROFILE, [], id="comment-line-is-ignored"),
        pytest.param(
            GOOD_PROFILE + "Conflicts: other\nSession-Interactive-Only: yes\nPassword-Initial:\n"
            "        requisite pam_pwhistory.so remember=5\n",
            [],
            id="optional-fields-and-initial-sections-pass",
        ),
        pytest.param(
            GOOD_PROFILE + "Comment: locks accounts\n", ["line 10: unknown field 'Comment'"], id="unknown-field-fails"
        ),
        pytest.param(GOOD_PROFILE + "auth: \n", ["line 10: unknown field 'auth'"], id="field-names-are-case-sensitive"),
        pytest.param(
            "\trequisite pam_faillock.so preauth\n" + GOOD_PROFILE,
            ["line 1: rule outside a section"],
            id="rule-before-any-section-fails",
        ),
        pytest.param(
            GOOD_PROFILE.replace("Auth:\n", ""),
            ["line 5: rule outside a section"],
            id="rule-after-a-plain-field-is-outside-a-section",
        ),
        pytest.param(
            GOOD_PROFILE.replace("Name: ", "Nme: "),
            ["line 1: unknown field 'Nme'", "profile has no Name: field"],
            id="missing-name-fails",
        ),
        pytest.param(
            GOOD_PROFILE.replace("Default: yes\n", ""), ["profile has no Default: field"], id="missing-default-fails"
        ),
        pytest.param(
            GOOD_PROFILE.replace("Priority: 1024\n", ""),
            ["profile has no Priority: field"],
            id="missing-priority-fails",
        ),
        pytest.param(
            GOOD_PROFILE.replace("pam_faillock.so preauth", "pam_faillok.so preauth"),
            ["line 6: module 'pam_faillok.so' is not installed"],
            id="misspelt-module-in-a-profile-fails",
        ),
        pytest.param(
            GOOD_PROFILE.replace("requisite", "[default=jump]"),
            ["line 6: malformed control '[default=jump]'"],
            id="bad-bracket-control-in-a-profile-fails",
        ),
        pytest.param(
            GOOD_PROFILE + "Just some words\n",
            ["line 10: expected 'Field: value', got 'Just some words'"],
            id="line-without-colon-fails",
        ),
    ],
)
def test_check_profile(pam, text, problems):
    assert pam.check_profile(text) == problems


def role_profiles() -> list:
    variables = yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))
    template = jinja2.Template((ROLE / "templates" / "pam-profile.j2").read_text(encoding="utf-8"))
    params = []
    for profile in variables["__isms_baseline_pam_profiles"]:
        body = jinja2.Template(profile["body"]).render(isms_baseline_pwhistory_remember=5)
        text = template.render(__isms_profile={**profile, "body": body}, __isms_control=profile["control"])
        params.append(pytest.param(text, id=profile["name"]))
    return params


@pytest.mark.parametrize("text", role_profiles())
def test_the_role_s_own_profiles_pass_the_checker(pam, text):
    assert pam.check_profile(text) == []


# --- command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "content", "code", "stderr"),
    [
        pytest.param(["{file}"], GOOD_SERVICE, 0, "", id="sound-service-file-exits-0"),
        pytest.param(["--profile", "{file}"], GOOD_PROFILE, 0, "", id="sound-profile-exits-0"),
        pytest.param(["{file}", "--profile"], GOOD_PROFILE, 0, "", id="profile-flag-after-the-file"),
        pytest.param(
            ["{file}"],
            "auth required pam_unx.so\n",
            1,
            "{file}: line 1: module 'pam_unx.so' is not installed\n",
            id="bad-service-file-exits-1",
        ),
        pytest.param(
            ["--profile", "{file}"],
            "Name: x\n",
            1,
            "{file}: profile has no Default: field\n{file}: profile has no Priority: field\n",
            id="bad-profile-exits-1-one-line-per-problem",
        ),
        pytest.param(
            ["{file}"],
            GOOD_PROFILE,
            1,
            "{file}: line 1: unknown type 'Name:'",
            id="profile-checked-as-service-file-fails",
        ),
        pytest.param([], "", 2, "usage: bgys-pam-check [--profile] FILE\n", id="no-file-exits-2"),
        pytest.param(["--profile"], "", 2, "usage:", id="profile-flag-without-file-exits-2"),
        pytest.param(["{file}", "{file}"], "", 2, "usage:", id="two-files-exit-2"),
    ],
)
def test_main_exit_code(pam, capsys, args, content, code, stderr):
    path = pam.tmp / "candidate"
    path.write_text(content)
    assert pam.main([arg.format(file=path) for arg in args]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    if stderr:
        assert captured.err.startswith(stderr.format(file=path))
    else:
        assert captured.err == ""


@pytest.mark.parametrize(
    ("args", "content", "code"),
    [
        pytest.param(["{file}"], "auth required {tmp}/pam_fake.so\n", 0, id="sound-file-exits-0"),
        pytest.param(["{file}"], "auth requird {tmp}/pam_fake.so\n", 1, id="bad-file-exits-1"),
        pytest.param([], "", 2, id="usage-exits-2"),
    ],
)
def test_script_exit_code_as_validate_command_sees_it(tmp_path, args, content, code):
    (tmp_path / "pam_fake.so").write_bytes(b"\x7fELF")
    path = tmp_path / "candidate"
    path.write_text(content.format(tmp=tmp_path))
    argv = [sys.executable, str(SCRIPT), *[arg.format(file=path) for arg in args]]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    assert proc.returncode == code, proc.stderr
