"""Role log_server refuses bad inputs in its asserts, before it changes anything, and says where.

Each row runs the whole role in check mode against the control node itself (connection local,
no facts) with one input broken, and checks that the run stops in the input checks with a message
naming the host, the variable and the problem, that nothing was changed and that no later task
started. The control row runs the input checks alone with sound inputs. A throw-away CA, server
certificate and key are made with the cryptography library for the run.
"""

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from pkitools import throwaway_pki

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
FIRST_CHANGING_TASK = "Rsyslog with its TLS driver, Python 3, openssl and chattr are installed"


@pytest.fixture(scope="module")
def sound() -> dict:
    pki = throwaway_pki("log01")
    return {
        "log_server_tls_ca_cert": pki["ca"],
        "log_server_tls_cert": pki["cert"],
        "log_server_tls_key": pki["key"],
        "log_server_tsa_url": "http://127.0.0.1:9/",
        "log_server_tsa_ca_cert": pki["ca"],
        "spare_key": pki["spare_key"],
    }


def run_role(tmp_path: Path, variables: dict, tasks_from: str = "main.yml", *extra: str) -> subprocess.CompletedProcess:
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(variables))
    (tmp_path / "play.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Role log_server with test inputs",
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "The log server role runs",
                            # Without tasks_from, the role's argument spec is checked first, as in site.yml.
                            "ansible.builtin.include_role": {"name": "log_server"}
                            | ({} if tasks_from == "main.yml" else {"tasks_from": tasks_from}),
                        }
                    ],
                }
            ]
        )
    )
    return subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            "--check",
            "-e",
            f"@{tmp_path / 'vars.yml'}",
            "-e",
            f"ansible_python_interpreter={BIN / 'python'}",
            str(tmp_path / "play.yml"),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_CACHE_PLUGIN": "memory"},
        timeout=300,
    )


def role_vars(sound: dict, **changes) -> dict:
    values = {k: v for k, v in sound.items() if k.startswith("log_server_")}
    for key, value in changes.items():
        values[key] = sound[value[1:]] if isinstance(value, str) and value.startswith("@") else value
    return values


CLASSES = yaml.safe_load((ROOT / "roles" / "log_server" / "defaults" / "main.yml").read_text())["log_server_classes"]


def classes_with(cls: str, **fields) -> list[dict]:
    return [{**c, **fields} if c["name"] == cls else c for c in CLASSES]


# (id, variables changed, texts the failure must contain)
BAD = [
    (
        "class-name-unsafe",
        {"log_server_classes": classes_with("dhcp", name="DHCP/../x")},
        ["log_server_classes", "DHCP/../x"],
    ),
    (
        "web-retention-100-days",
        {"log_server_classes": classes_with("web", retention_days=100)},
        ["log_server_classes", "class 'web'", "retention_days 100 is outside 365..730"],
    ),
    (
        "dhcp-retention-below-two-years",
        {"log_server_classes": classes_with("dhcp", retention_days=365)},
        ["class 'dhcp'", "at least two years"],
    ),
    ("auth-mode-unknown", {"log_server_tls_auth_mode": "x509/any"}, ["log_server_tls_auth_mode", "x509/any"]),
    ("x509-name-without-peers", {"log_server_tls_auth_mode": "x509/name"}, ["log_server_tls_permitted_peers"]),
    ("certificate-missing", {"log_server_tls_cert": ""}, ["log_server_tls_cert is empty"]),
    ("key-of-another-certificate", {"log_server_tls_key": "@spare_key"}, ["log_server_tls_key does not belong"]),
    ("plain-without-sources", {"log_server_plain_enabled": True}, ["log_server_plain_sources"]),
    (
        "plain-source-not-a-network",
        {"log_server_plain_enabled": True, "log_server_plain_sources": ["10.20.0.5/16"]},
        ["log_server_plain_sources", "host bits set"],
    ),
    ("tsa-url-missing", {"log_server_tsa_url": ""}, ["log_server_tsa_url"]),
    (
        "same-port-twice",
        {"log_server_plain_enabled": True, "log_server_plain_sources": ["10.0.0.0/8"], "log_server_plain_port": 6514},
        ["log_server_plain_port"],
    ),  # fmt: skip
    ("common-receiver-still-on", {"common_rsyslog_receiver": True}, ["common_rsyslog_receiver"]),
    ("trees-nested", {"log_server_5651_root": "/var/log/remote/5651"}, ["log_server_5651_root", "lies inside"]),
]


@pytest.mark.parametrize(("changes", "expected"), [row[1:] for row in BAD], ids=[row[0] for row in BAD])
def test_bad_input_stops_the_role_before_any_change(tmp_path, sound, changes, expected):
    res = run_role(tmp_path, role_vars(sound, **changes))
    out = res.stdout + res.stderr
    assert res.returncode != 0, f"the role accepted {changes}:\n{out[-3000:]}"
    failure = "\n".join(line for line in out.splitlines() if "ERROR" in line or "fatal:" in line or "msg" in line)
    assert "localhost" in out
    for text in expected:
        assert text in out, f"{text!r} not in the failure:\n{failure[-3000:]}"
    assert "changed=0" in res.stdout
    assert FIRST_CHANGING_TASK not in res.stdout


def test_sound_inputs_pass_the_checks(tmp_path, sound):
    res = run_role(tmp_path, role_vars(sound), "assert.yml")
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    assert "failed=0" in res.stdout


@pytest.mark.parametrize(
    "changes",
    [{"log_server_classes": classes_with("web", retention_days=100)}, {"log_server_tls_auth_mode": "x509/any"}],
    ids=["refused-by-the-role-asserts", "refused-by-the-argument-spec"],
)
def test_keys_never_appear_in_the_output(tmp_path, sound, changes):
    """Even at -vvv, with a failing check next to them, no line of the private key is printed."""
    res = run_role(tmp_path, role_vars(sound, **changes), "main.yml", "-vvv")
    assert res.returncode != 0
    key_lines = [line for line in sound["log_server_tls_key"].splitlines() if "-----" not in line]
    assert key_lines
    for line in key_lines:
        assert line not in res.stdout + res.stderr
