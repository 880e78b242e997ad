"""House rules every role keeps: a typed argument spec that matches its defaults and its README,
and a molecule scenario that converges it (its own, or one it shares)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").exists())


def spec_options(role: str) -> dict:
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return specs["main"]["options"]


def test_there_are_roles():
    assert "common" in ROLES


def scenarios_applying(role: str) -> list[str]:
    """The molecule scenarios whose converge applies the role (by role:, name: or a roles list).
    A role has a scenario of its own, or shares one whose instances it needs (the identity roles
    share one domain controller: molecule/identity)."""
    name = re.escape(role)
    pattern = re.compile(rf"^\s*(-\s+)?(role|name):\s+['\"]?{name}['\"]?\s*$|^\s*-\s+{name}\s*$", re.M)
    found = []
    for path in sorted((ROOT / "molecule").glob("*/converge.yml")):
        text = path.read_text()
        # A converge that imports a playbook of the project applies what that playbook applies.
        for imported in re.findall(r"import_playbook:\s+(\S+)", text):
            target = (path.parent / imported).resolve()
            if target.is_file() and ROOT in target.parents:
                text += target.read_text()
        if pattern.search(text):
            found.append(path.parent.name)
    return found


@pytest.mark.parametrize("role", ROLES)
def test_role_has_spec_readme_and_molecule_scenario(role):
    assert (ROOT / "roles" / role / "meta" / "argument_specs.yml").is_file()
    assert (ROOT / "roles" / role / "README.md").is_file()
    scenarios = scenarios_applying(role)
    assert scenarios, f"no molecule scenario's converge.yml applies role {role}"
    for name in scenarios:
        scenario = yaml.safe_load((ROOT / "molecule" / name / "molecule.yml").read_text())
        assert scenario["platforms"], f"molecule/{name} has no platforms"
        assert (ROOT / "molecule" / name / "tests").is_dir(), f"molecule/{name} has no verifier (tests/)"


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_typed_in_the_spec_with_the_same_value(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    options = spec_options(role)
    assert set(defaults) == set(options), "defaults/main.yml and meta/argument_specs.yml name different variables"
    differing = {
        k: (defaults[k], options[k].get("default")) for k in defaults if defaults[k] != options[k].get("default")
    }
    assert differing == {}


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_carries_the_role_prefix(role):
    assert [k for k in spec_options(role) if not k.startswith(f"{role}_")] == []


def test_role_readme_tables_are_generated_from_the_specs():
    res = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "role_docs.py"), "--check"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr


SET_FILTER = re.compile(r"\|\s*(union|intersect|difference|symmetric_difference)\s*\(")


def test_rendered_files_do_not_take_their_order_from_a_python_set():
    """Ansible's union, intersect and difference filters go through a Python set, whose order changes
    from one ansible-playbook process to the next (string hashes are salted per process). A template
    line built from one renders differently on the next run, and the drift plan reports a change that
    nobody made (it did, for /etc/hosts). Templates keep order with `+ ... | unique`, or sort."""
    offenders = []
    for path in sorted(ROOT.glob("roles/*/templates/**/*.j2")) + sorted(ROOT.glob("playbooks/templates/**/*.j2")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SET_FILTER.search(line) and "sort" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []
