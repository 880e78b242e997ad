"""The action role_inputs (plugins/action/role_inputs.py) on a role made for the test: the argument
spec, then the checks of tasks/assert.yml with the precedence include_role gives (role defaults <
the host's variables < role vars < task vars < loop variables), stopping at the first problem, and
refusing what it cannot evaluate. tests/unit/test_validate.py runs it on the real roles and
inventories."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"

SPEC = {
    "argument_specs": {
        "main": {
            "short_description": "test role",
            "options": {
                "demo_port": {"type": "int", "default": 514},
                "demo_servers": {"type": "list", "elements": "str"},
                "demo_mode": {"type": "str", "choices": ["tcp", "udp"]},
            },
        }
    }
}
DEFAULTS = {"demo_port": 514, "demo_servers": ["a.ornek"], "demo_mode": "tcp", "demo_limit": "{{ demo_port + 1 }}"}
ROLE_VARS = {"__demo_re": "^[a-z][a-z.]*$"}
CATALOGUE = {"known": ["tcp", "udp"]}
ASSERTS = [
    {
        "name": "The catalogue is loaded",
        "ansible.builtin.include_vars": {"file": "{{ role_path }}/catalogue.yml", "name": "__demo_catalogue"},
    },
    {
        "name": "The mode is in the catalogue",
        "ansible.builtin.assert": {
            "that": ["demo_mode in __demo_catalogue.known"],
            "fail_msg": "{{ inventory_hostname }}: demo_mode {{ demo_mode }} is unknown",
            "quiet": True,
        },
    },
    {
        "name": "The server names are found",
        "ansible.builtin.set_fact": {"__demo_bad": "{{ demo_servers | reject('match', __demo_re) | list }}"},
        "no_log": True,
    },
    {
        "name": "Each server is a DNS name",
        "ansible.builtin.assert": {
            "that": ["item is match(__demo_re)"],
            "fail_msg": "{{ inventory_hostname }}: demo_servers[{{ idx }}] '{{ item }}' is not a DNS name",
        },
        "loop": "{{ demo_servers }}",
        "loop_control": {"index_var": "idx", "label": "{{ item }}"},
        "when": "__demo_bad | length > 0",
    },
    {
        "name": "The port is below the limit, which is a template of a default",
        "ansible.builtin.assert": {
            "that": "demo_port | int < demo_limit | int",
            "fail_msg": "{{ inventory_hostname }}: demo_port {{ demo_port }} reaches {{ demo_limit }}",
        },
        "vars": {"demo_limit": "{{ demo_cap }}"},
        "when": "demo_cap is defined",
    },
    {
        "name": "A note for the operator",
        "ansible.builtin.debug": {"msg": "NOTE {{ inventory_hostname }}: {{ demo_servers | length }} servers"},
        "when": "demo_servers | length > 1",
    },
]
PLAYBOOK = [
    {
        "name": "check",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [{"name": "inputs", "role_inputs": {"roles": ["demo"], "roles_path": "{{ playbook_dir }}/roles"}}],
    }
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    role = tmp_path / "roles" / "demo"
    for sub, name, data in (
        ("meta", "argument_specs.yml", SPEC),
        ("defaults", "main.yml", DEFAULTS),
        ("vars", "main.yml", ROLE_VARS),
        ("tasks", "assert.yml", ASSERTS),
        ("", "catalogue.yml", CATALOGUE),
    ):
        (role / sub).mkdir(parents=True, exist_ok=True)
        (role / sub / name).write_text(yaml.safe_dump(data, sort_keys=False))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))
    return tmp_path


def run(project: Path, host_vars: dict, asserts: list | None = None) -> tuple[int, dict]:
    if asserts is not None:
        (project / "roles" / "demo" / "tasks" / "assert.yml").write_text(yaml.safe_dump(asserts, sort_keys=False))
    inventory = {"all": {"hosts": {"h1": {"ansible_connection": "local", **host_vars}}}}
    (project / "inventory.yml").write_text(yaml.safe_dump(inventory))
    env = {
        **os.environ,
        "ANSIBLE_ACTION_PLUGINS": str(ROOT / "plugins" / "action"),
        "ANSIBLE_LIBRARY": str(ROOT / "plugins" / "modules"),
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_CONFIG": str(project / "none.cfg"),
        "ANSIBLE_NOCOLOR": "1",
    }
    res = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory.yml", "play.yml"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.stdout.startswith("{"), res.stderr[-3000:]
    out = json.loads(res.stdout)
    return res.returncode, out["plays"][0]["tasks"][0]["hosts"]["h1"]


def test_valid_inputs_pass_and_the_note_is_a_warning(project):
    rc, result = run(project, {"demo_servers": ["a.ornek", "b.ornek"]})
    assert rc == 0, result
    assert result["roles"] == ["demo"]
    assert result["warnings"] == ["NOTE h1: 2 servers"]


def test_a_type_error_is_named_by_the_argument_spec(project):
    rc, result = run(project, {"demo_port": "beş yüz"})
    assert rc == 2
    assert result["msg"].startswith("host h1: role demo: ")
    assert "demo_port" in result["msg"]
    assert result["task"] == "argument spec"


def test_the_first_failing_loop_item_is_reported_with_its_index(project):
    rc, result = run(project, {"demo_servers": ["a.ornek", "Kötü Ad", "c!"]})
    assert rc == 2
    assert result["msg"] == "h1: demo_servers[1] 'Kötü Ad' is not a DNS name"
    assert result["task"] == "Each server is a DNS name"


def test_included_vars_and_choices_are_checked(project):
    catalogue = project / "roles" / "demo" / "catalogue.yml"
    catalogue.write_text(yaml.safe_dump({"known": ["tcp"]}))
    rc, result = run(project, {"demo_mode": "udp"})
    assert rc == 2
    assert result["msg"] == "h1: demo_mode udp is unknown"


def test_role_vars_beat_the_inventory_and_task_vars_beat_role_defaults(project):
    # __demo_re is a role var: an inventory value cannot loosen it (include_role's precedence).
    rc, result = run(project, {"__demo_re": ".*", "demo_servers": ["Kötü"]})
    assert rc == 2, result
    assert "'Kötü' is not a DNS name" in result["msg"]
    # demo_limit is a role default (demo_port + 1); the task's vars replace it with demo_cap.
    rc, result = run(project, {"demo_cap": 100})
    assert rc == 2
    assert result["msg"] == "h1: demo_port 514 reaches 100"
    rc, result = run(project, {"demo_cap": 1000})
    assert rc == 0, result


def test_an_undefined_variable_fails_with_the_task_named(project):
    broken = [{"name": "Uses a typo", "ansible.builtin.assert": {"that": "demo_prot > 0"}}]
    rc, result = run(project, {}, broken)
    assert rc == 2
    assert result["msg"].startswith("host h1: role demo: task 'Uses a typo': ")
    assert "demo_prot" in result["msg"]


@pytest.mark.parametrize(
    "task",
    [
        {"name": "A command", "ansible.builtin.command": {"cmd": "true"}},
        {"name": "Registered", "ansible.builtin.assert": {"that": "true"}, "register": "x"},
    ],
    ids=["unsupported-action", "unsupported-keyword"],
)
def test_what_cannot_be_evaluated_is_refused_not_skipped(project, task):
    rc, result = run(project, {}, [task])
    assert rc == 2
    assert "role_inputs" in result["msg"]
