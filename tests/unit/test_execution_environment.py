"""The AWX/AAP execution environment (execution-environment.yml, ee/): it is a valid ansible-builder v3
definition and carries the same pins as the control node.

The real `ansible-builder create` writes the build context (Containerfile and _build/) into a
temporary folder; that step reads only local files and needs no network. Building the image itself
(`ansible-builder build`) is not done here.
"""

from __future__ import annotations

import ast
import copy
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EE_FILE = ROOT / "execution-environment.yml"

# Present on the control node for linting and testing only; never in the EE.
DEV_TOOLS = {
    "ansible",
    "ansible-builder",
    "ansible-lint",
    "dkimpy",  # the lab mail tests verify DKIM signatures with it
    "dnspython",  # dkimpy's dependency
    "molecule",
    "molecule-plugins",
    "pytest",
    "pytest-testinfra",
    "pytest-xdist",
    "ruff",
    "yamllint",
}
# What our plugins and roles need on the controller, whoever imports it.
RUNTIME = {"jinja2", "netaddr", "paramiko", "passlib", "pynetbox", "pywinrm"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """{package: version} of a requirements file; every requirement must be an exact pin."""
    out = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
        assert m, f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}: {raw!r} is not an exact pin"
        out[canonical(m.group(1))] = m.group(3)
    return out


def builder() -> str:
    """ansible-builder of the venv that runs the tests (.venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "ansible-builder"
    found = str(beside) if beside.exists() else shutil.which("ansible-builder")
    assert found, "ansible-builder is not installed (make venv)"
    return found


def create(ee_file: Path, context: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [builder(), "create", "-f", str(ee_file), "-c", str(context), "--output-filename", "Containerfile"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ee_definition() -> dict:
    return yaml.safe_load(EE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    ctx = tmp_path_factory.mktemp("ee") / "context"
    res = create(EE_FILE, ctx, ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    return ctx


def test_ansible_builder_writes_a_containerfile(context):
    assert (context / "Containerfile").is_file()
    assert (context / "_build" / "scripts" / "assemble").is_file()


def test_the_containerfile_names_the_base_image_and_the_pinned_ansible(context):
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    base = ee_definition()["images"]["base_image"]["name"]
    assert f'ARG EE_BASE_IMAGE="{base}"' in containerfile
    assert "FROM $EE_BASE_IMAGE AS base" in containerfile
    core = pins(ROOT / "requirements.txt")["ansible-core"]
    assert re.search(rf'^ARG ANSIBLE_INSTALL_REFS=".*\bansible-core=={re.escape(core)}\b', containerfile, re.M)


def test_the_base_image_has_a_tag_and_python_312_is_asked_for():
    definition = ee_definition()
    name = definition["images"]["base_image"]["name"]
    assert re.search(r":[^/]+$", name), f"{name} has no tag"
    assert definition["dependencies"]["python_interpreter"]["python_path"] == "/usr/bin/python3"


def test_ansible_core_is_the_control_nodes_and_ansible_runner_is_pinned():
    deps = ee_definition()["dependencies"]
    assert deps["ansible_core"]["package_pip"] == f"ansible-core=={pins(ROOT / 'requirements.txt')['ansible-core']}"
    assert re.fullmatch(r"ansible-runner==\d+\.\d+\.\d+", deps["ansible_runner"]["package_pip"])


def test_the_context_holds_every_collection_of_requirements_yml(context):
    repo = yaml.safe_load((ROOT / "requirements.yml").read_text(encoding="utf-8"))["collections"]
    built = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))["collections"]
    assert repo, "requirements.yml lists no collection"
    assert {c["name"]: c["version"] for c in built} == {c["name"]: c["version"] for c in repo}


def test_the_context_holds_our_python_pins_and_system_packages(context):
    assert pins(context / "_build" / "requirements.txt") == pins(ROOT / "ee" / "requirements.txt")
    bindep = (context / "_build" / "bindep.txt").read_text(encoding="utf-8")
    assert re.search(r"^openssh-clients \[platform:rpm\]", bindep, re.M)
    assert re.search(r"^git-core \[platform:rpm\]", bindep, re.M)


def test_ee_pins_equal_the_control_nodes():
    ee, node = pins(ROOT / "ee" / "requirements.txt"), pins(ROOT / "requirements.txt")
    assert {p: (v, node.get(p)) for p, v in ee.items() if node.get(p) != v} == {}


def test_ee_requirements_are_the_runtime_ones_without_test_tools():
    ee = set(pins(ROOT / "ee" / "requirements.txt"))
    assert RUNTIME - ee == set()
    assert ee & DEV_TOOLS == set()
    assert not ee & {"ansible-core", "ansible-runner"}, "pinned in execution-environment.yml instead"


def test_every_control_node_package_is_either_in_the_ee_or_a_tool():
    node = set(pins(ROOT / "requirements.txt"))
    ee = set(pins(ROOT / "ee" / "requirements.txt"))
    assert node - ee - DEV_TOOLS - {"ansible-core"} == set()


def test_every_system_package_names_its_platform():
    lines = [
        line.strip()
        for line in (ROOT / "ee" / "bindep.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines
    assert [line for line in lines if not re.fullmatch(r"[A-Za-z0-9.+_-]+ \[platform:(rpm|dpkg)\]", line)] == []


def _controller_python_files() -> list[Path]:
    """Python that runs on the controller: our plugins, role filter plugins, and the scripts that
    playbooks and roles call."""
    files = [
        p
        for pattern in ("plugins/**/*.py", "roles/*/filter_plugins/*.py", "roles/*/library/*.py")
        for p in ROOT.glob(pattern)
    ]
    called = set()
    for yml in [*ROOT.glob("playbooks/**/*.yml"), *ROOT.glob("roles/*/tasks/*.yml")]:
        called.update(re.findall(r"scripts/([A-Za-z0-9_]+\.py)", yml.read_text(encoding="utf-8")))
    scripts = [ROOT / "scripts" / name for name in sorted(called)]
    for script in scripts:  # and the scripts' own modules that they import (scripts/isms_soa.py)
        for name in sorted(_imports(script)):
            local = ROOT / "scripts" / f"{name}.py"
            if local.is_file() and local not in scripts:
                scripts.append(local)
    return sorted(files) + scripts


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _third_party_imports(path: Path) -> set[str]:
    local = {p.stem for p in path.parent.glob("*.py")}
    return {n for n in _imports(path) if n not in sys.stdlib_module_names and n not in local and n != "__future__"}


def test_every_library_our_controller_code_imports_is_in_the_ee():
    core_deps = {canonical(re.split(r"[ ;<>=!~\[]", r, maxsplit=1)[0]) for r in metadata.requires("ansible-core")}
    provided = set(pins(ROOT / "ee" / "requirements.txt")) | core_deps | {"ansible-core"}
    dists = metadata.packages_distributions()
    missing = {}
    files = _controller_python_files()
    assert files
    for path in files:
        for name in sorted(_third_party_imports(path)):
            if name in ("ansible", "ansible_collections"):
                continue
            owners = {canonical(d) for d in dists.get(name, [])}
            if not owners & provided:
                missing.setdefault(str(path.relative_to(ROOT)), []).append(f"{name} ({', '.join(owners) or '?'})")
    assert missing == {}, "add these to ee/requirements.txt (and requirements.txt)"


# --- a broken definition is refused -------------------------------------------------------------


def _without(d: dict, *keys: str) -> dict:
    d = copy.deepcopy(d)
    *path, last = keys
    for k in path:
        d = d[k]
    del d[last]
    return d


def _broken(change):
    def apply(d: dict) -> dict:
        d = copy.deepcopy(d)
        change(d)
        return d

    return apply


BROKEN = [
    ("an unknown key", _broken(lambda d: d.update(bogus=1)), "Additional properties are not allowed"),
    (
        "ansible_core without its package",
        _broken(lambda d: d["dependencies"].update(ansible_core={})),
        "'package_pip' is a required property",
    ),
    (
        "a base image without a name",
        _broken(lambda d: d["images"].update(base_image={"signature_original_name": "x:y"})),
        "'name' is a required field",
    ),
    (
        "a base image without a tag",
        _broken(lambda d: d["images"]["base_image"].update(name="quay.io/centos/centos")),
        "requires a tag",
    ),
    (
        "a missing requirements file",
        _broken(lambda d: d["dependencies"].update(python="ee/missing.txt")),
        "does not exist",
    ),
    ("an unknown schema version", _broken(lambda d: d.update(version=9)), "Unsupported schema version"),
]


@pytest.fixture
def ee_copy(tmp_path) -> Path:
    """The repository's EE inputs in a temporary folder, so a broken copy fails for its own fault."""
    shutil.copy(ROOT / "requirements.yml", tmp_path / "requirements.yml")
    shutil.copytree(ROOT / "ee", tmp_path / "ee")
    return tmp_path


def test_the_copy_without_changes_is_accepted(ee_copy):
    (ee_copy / "execution-environment.yml").write_text(yaml.safe_dump(ee_definition()), encoding="utf-8")
    res = create(ee_copy / "execution-environment.yml", ee_copy / "context", ee_copy)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize(("change", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_definition_is_refused(ee_copy, change, message):
    (ee_copy / "execution-environment.yml").write_text(yaml.safe_dump(change(ee_definition())), encoding="utf-8")
    res = create(ee_copy / "execution-environment.yml", ee_copy / "context", ee_copy)
    assert res.returncode != 0
    assert message in res.stdout + res.stderr
    assert not (ee_copy / "context" / "Containerfile").exists()
