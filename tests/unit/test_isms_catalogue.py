"""House rules that keep the ISMS (BGYS) catalogue, its audit checks, toggles and tasks in step.

A control id runs through controls.yml, checks.yml, the toggle in defaults/main.yml and
meta/argument_specs.yml, and the names and tags of the tasks that enforce it.
"""

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "isms_baseline"
sys.path.insert(0, str(ROOT / "plugins" / "modules"))

import isms_probe  # noqa: E402

ID_RE = re.compile(r"^BGYS-[A-Z]{2,4}-\d{2}$")
# A control task name: one or more ids, then " | ", then the outcome.
TASK_NAME_RE = re.compile(r"^((?:BGYS-[A-Z]{2,4}-\d{2} )*BGYS-[A-Z]{2,4}-\d{2}) \| \S")
NOT_ENFORCED_BY_TASKS = ("verify-only", "exception")

# Keys of each check type (checks.yml header): required, alternatives of which one is needed, and allowed.
EXPECTATIONS = {"equals", "in", "min", "max", "subset_of", "regex"}
CHECK_KEYS = {
    "sshd": {"required": {"key"}, "one_of": EXPECTATIONS, "allowed": {"key"} | EXPECTATIONS},
    "file_line": {
        "required": {"regex"},
        "one_of": {"path", "paths"},
        "allowed": {"path", "paths", "regex", "present", "missing_ok"},
    },
    "file_mode": {
        "required": {"path"},
        "one_of": {"mode", "owner", "group"},
        "allowed": {"path", "mode", "owner", "group", "missing_ok"},
    },
    "sysctl": {"required": {"key", "value"}, "one_of": set(), "allowed": {"key", "value"}},
    "mount": {"required": {"path", "options"}, "one_of": set(), "allowed": {"path", "options"}},
    "unit": {
        "required": {"name"},
        "one_of": {"enabled", "active", "active_live", "masked", "masked_or_absent"},
        "allowed": {"name", "enabled", "active", "active_live", "masked", "masked_or_absent"},
    },
    "package": {"required": set(), "one_of": {"name", "names"}, "allowed": {"name", "names", "installed"}},
    "modprobe": {"required": {"module"}, "one_of": set(), "allowed": {"module", "blocked"}},
    "accounts": {
        "required": set(),
        "one_of": {"uid0_only_root", "no_empty_passwords"},
        "allowed": {"uid0_only_root", "no_empty_passwords"},
    },
    "command": {"required": {"argv"}, "one_of": set(), "allowed": {"argv", "rc", "regex"}},
}
COMMON_KEYS = {"type", "live_only"}


class StrictLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (PyYAML keeps the last one silently)."""


def _mapping_without_duplicates(loader, node, deep=False):
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    duplicates = sorted({str(key) for key in keys if keys.count(key) > 1})
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {duplicates}", node.start_mark)
    return loader.construct_mapping(node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load(path: Path):
    loader = StrictLoader(path.read_text(encoding="utf-8"))
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


CATALOGUE = load(ROLE / "controls.yml")
CONTROLS = CATALOGUE["controls"]
BY_ID = {control["id"]: control for control in CONTROLS}
CHECKS = load(ROLE / "checks.yml")["checks"]
DEFAULTS = load(ROLE / "defaults" / "main.yml")
SPEC_OPTIONS = load(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


def walk(tasks, source, inherited_tags=()):
    """Every task of a task list with its file and effective tags (a block's tags reach its tasks)."""
    for task in tasks or []:
        tags = task.get("tags") or []
        tags = [tags] if isinstance(tags, str) else list(tags)
        effective = (*inherited_tags, *tags)
        yield source, task, effective
        for section in ("block", "rescue", "always"):
            yield from walk(task.get(section), source, effective)


TASKS = [entry for path in sorted((ROLE / "tasks").glob("*.yml")) for entry in walk(load(path), path.name)]
NAMED_CONTROL_TASKS = [(source, task, tags) for source, task, tags in TASKS if "BGYS-" in str(task.get("name", ""))]


def ids_of(task) -> list[str]:
    match = TASK_NAME_RE.match(str(task.get("name", "")))
    return match.group(1).split() if match else []


def control_params(statuses=None):
    return [
        pytest.param(control, id=control["id"])
        for control in CONTROLS
        if statuses is None or control["status"] in statuses
    ]


def check_params():
    return [
        pytest.param(cid, check, id=f"{cid}-{number}-{check.get('type')}")
        for cid, checks in CHECKS.items()
        for number, check in enumerate(checks or [], 1)
    ]


# --- ids --------------------------------------------------------------------------------------


def test_control_ids_are_unique():
    ids = [control["id"] for control in CONTROLS]
    assert sorted({cid for cid in ids if ids.count(cid) > 1}) == []


@pytest.mark.parametrize("control", control_params())
def test_control_id_has_the_bgys_form(control):
    assert ID_RE.match(control["id"]), control["id"]


# --- checks.yml -------------------------------------------------------------------------------


def test_every_catalogue_control_has_audit_checks():
    assert sorted(set(BY_ID) - set(CHECKS)) == []


def test_every_audit_check_belongs_to_a_catalogue_control():
    assert sorted(set(CHECKS) - set(BY_ID)) == []


@pytest.mark.parametrize(("cid", "checks"), [pytest.param(cid, checks, id=cid) for cid, checks in CHECKS.items()])
def test_every_control_has_a_non_empty_list_of_checks(cid, checks):
    assert isinstance(checks, list)
    assert checks


@pytest.mark.parametrize(("cid", "check"), check_params())
def test_check_type_is_known_to_the_probe(cid, check):
    assert callable(getattr(isms_probe.Probe, f"check_{check.get('type')}", None)), check


def test_every_type_the_probe_knows_has_its_keys_listed_here():
    types = {name.removeprefix("check_") for name in dir(isms_probe.Probe) if name.startswith("check_")}
    assert types == set(CHECK_KEYS)


@pytest.mark.parametrize(("cid", "check"), check_params())
def test_check_has_the_keys_its_type_needs_and_no_others(cid, check):
    rules = CHECK_KEYS[check["type"]]
    keys = set(check) - COMMON_KEYS
    assert sorted(rules["required"] - keys) == [], "missing keys"
    assert not rules["one_of"] or keys & rules["one_of"], f"needs one of {sorted(rules['one_of'])}"
    assert sorted(keys - rules["allowed"]) == [], "unknown keys"


@pytest.mark.parametrize(
    ("cid", "check"), [p for p in check_params() if p.values[1]["type"] == "file_mode" and "mode" in p.values[1]]
)
def test_file_mode_check_gives_its_mode_as_quoted_octal_text(cid, check):
    # An unquoted 0640 is read by YAML as the integer 416, which the probe would misread as octal 0o416.
    assert isinstance(check["mode"], str)
    assert re.fullmatch(r"0[0-7]{3}", check["mode"])


# --- toggles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("control", control_params())
def test_toggle_is_named_from_the_id(control):
    assert control["toggle"] == "isms_baseline_" + control["id"].lower().replace("-", "_")


@pytest.mark.parametrize("control", control_params())
def test_toggle_has_a_boolean_default(control):
    assert isinstance(DEFAULTS.get(control["toggle"]), bool)


@pytest.mark.parametrize("control", control_params())
def test_toggle_is_a_boolean_option_in_argument_specs_with_the_same_default(control):
    option = SPEC_OPTIONS.get(control["toggle"])
    assert option is not None
    assert option["type"] == "bool"
    assert option.get("default") == DEFAULTS.get(control["toggle"])


@pytest.mark.parametrize("control", control_params())
def test_toggle_is_off_by_default_exactly_for_opt_in_and_catalogue_exceptions(control):
    assert DEFAULTS[control["toggle"]] is (control["status"] not in ("opt-in", "exception"))


def test_the_controls_off_by_default_are_the_ssh_group_list_and_the_partitions():
    off = sorted(control["id"] for control in CONTROLS if DEFAULTS.get(control["toggle"]) is False)
    assert off == ["BGYS-FS-04", "BGYS-SSH-07"]


def test_defaults_have_no_toggle_without_a_control():
    toggles = {control["toggle"] for control in CONTROLS}
    stray = sorted(key for key in DEFAULTS if re.match(r"^isms_baseline_bgys_", key) and key not in toggles)
    assert stray == []


# --- tasks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("control", control_params(statuses={"implemented", "opt-in"}))
def test_enforced_control_has_a_task_named_and_tagged_with_its_id(control):
    cid = control["id"]
    tasks = [(source, task) for source, task, tags in NAMED_CONTROL_TASKS if cid in ids_of(task) and cid in tags]
    assert tasks, f"no task whose name starts with {cid} and whose tags include it"


@pytest.mark.parametrize(
    ("source", "task", "tags"),
    [pytest.param(source, task, tags, id=f"{source}:{task['name']}") for source, task, tags in NAMED_CONTROL_TASKS],
)
def test_control_task_name_starts_with_catalogue_ids_then_a_bar(source, task, tags):
    ids = ids_of(task)
    assert ids, f"{source}: {task['name']!r} does not start with 'BGYS-XXX-NN | '"
    assert sorted(set(ids) - set(BY_ID)) == [], "ids not in the catalogue"
    assert sorted(set(ids) - set(tags)) == [], "ids missing from the task's tags"


@pytest.mark.parametrize("control", control_params(statuses=set(NOT_ENFORCED_BY_TASKS)))
def test_control_the_role_never_changes_has_no_task(control):
    names = [f"{source}: {task['name']}" for source, task, _ in NAMED_CONTROL_TASKS if control["id"] in ids_of(task)]
    assert names == []


@pytest.mark.parametrize(
    ("source", "task", "tags"),
    [pytest.param(source, task, tags, id=f"{source}:{task['name']}") for source, task, tags in NAMED_CONTROL_TASKS],
)
def test_control_task_tags_name_only_catalogue_ids_or_area_tags(source, task, tags):
    unknown = sorted(tag for tag in tags if tag.startswith("BGYS-") and tag not in BY_ID)
    assert unknown == []
