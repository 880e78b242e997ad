"""plugins/modules/netbox_asset.py: the fact write-back, against a real NetBox on loopback.

The module runs as Ansible runs it: ansible-playbook from the repository root (ansible.cfg maps
plugins/modules), a one-task play on localhost with a local connection, and NetBox's URL and token
from NETBOX_API / NETBOX_TOKEN. The first tests check the module's pure functions and need no NetBox.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"
OWNED = ["serial", "asset_model", "asset_os", "asset_firmware", "asset_facts_at", "asset_run_commit"]
COMMIT_A = "1111111111111111111111111111111111111111"
COMMIT_B = "2222222222222222222222222222222222222222"
FACTS = {
    "serial": "PF3K9ZQ2",
    "model": "Lenovo ThinkSystem SR250",
    "os": "Debian 12.8",
    "firmware": "J8E134A",
    "facts_at": "2026-12-01T08:00:00Z",
    "run_commit": COMMIT_A,
}


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


asset = load("netbox_asset", ROOT / "plugins" / "modules" / "netbox_asset.py")


# --- pure functions (no NetBox) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "current", "wanted", "changed"),
    [
        ("an empty record takes every given field", {"serial": ""}, {"serial": "S1", "asset_os": "Debian 12.8"},
         ["serial", "asset_os"]),
        ("equal values change nothing", {"serial": "S1", "asset_os": "Debian 12.8"},
         {"serial": "S1", "asset_os": "Debian 12.8"}, []),
        ("the same instant in another zone is no change", {"asset_facts_at": "2026-12-01T11:00:00+03:00"},
         {"asset_facts_at": "2026-12-01T08:00:00+00:00"}, []),
        ("a later stamp alone moves", {"serial": "S1", "asset_facts_at": "2026-12-01T08:00:00+00:00"},
         {"serial": "S1", "asset_facts_at": "2026-12-02T08:00:00+00:00"}, ["asset_facts_at"]),
        ("a null custom field takes the value", {"asset_model": None}, {"asset_model": "MB20"}, ["asset_model"]),
        ("fields not wanted are not compared", {"serial": "HAND-1", "asset_os": "old"}, {"asset_os": "old"}, []),
    ],
)  # fmt: skip
def test_plan_asset_lists_only_the_differing_owned_fields(name, current, wanted, changed):
    got, body, after = asset.plan_asset(current, wanted)
    assert got == changed, name
    sent = {k for k in body if k != "custom_fields"} | set(body.get("custom_fields", {}))
    assert sent == set(changed), name
    assert "serial" not in body.get("custom_fields", {}), name
    assert all(after[f] == wanted[f] for f in changed), name


@pytest.mark.parametrize(
    ("params", "wanted"),
    [
        ({"serial": None, "model": None, "os": None, "firmware": None, "facts_at": None, "run_commit": None}, {}),
        ({"serial": " S1 ", "os": "Pardus 23.2"}, {"serial": "S1", "asset_os": "Pardus 23.2"}),
        ({"facts_at": "2026-12-01T11:00:00+03:00"}, {"asset_facts_at": "2026-12-01T08:00:00+00:00"}),
        ({"facts_at": "2026-12-01T08:00:00.123456Z"}, {"asset_facts_at": "2026-12-01T08:00:00+00:00"}),
        ({"facts_at": "2026-12-01 08:00:00"}, {"asset_facts_at": "2026-12-01T08:00:00+00:00"}),
    ],
)
def test_desired_fields_maps_given_options_and_leaves_unset_ones_out(params, wanted):
    assert asset.desired_fields(params) == wanted


def test_a_facts_at_that_is_no_timestamp_is_a_clear_error():
    with pytest.raises(asset.AssetError, match=r"facts_at 'yesterday' is not an ISO 8601 date and time"):
        asset.desired_fields({"facts_at": "yesterday"})


@pytest.mark.parametrize(
    ("custom", "wanted", "missing"),
    [
        ({"asset_os": None}, {"serial": "S1", "asset_os": "x"}, []),
        ({}, {"serial": "S1"}, []),
        ({"asset_os": None}, {"asset_os": "x", "asset_run_commit": "c", "asset_model": "m"},
         ["asset_model", "asset_run_commit"]),
    ],
)  # fmt: skip
def test_missing_custom_fields_names_each_one_the_run_needs(custom, wanted, missing):
    assert asset.missing_custom_fields({"custom_fields": custom}, wanted) == missing


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /api/dcim/devices/ (Caused by "
         "NewConnectionError(\"...: Failed to establish a new connection: [Errno 111] Connection refused\"))",
         "Connection refused"),
        ("Read timed out. (read timeout=30)", "timed out"),
        ("something else\nsecond line", "something else"),
    ],
)  # fmt: skip
def test_connection_reason_is_short_and_one_line(error, reason):
    assert asset.connection_reason(Exception(error)) == reason


# --- against NetBox -------------------------------------------------------------------------------

_names = itertools.count(1)


@pytest.fixture(scope="module")
def register(nb):
    """The project's custom fields plus a site, maker, type and role for the test devices."""
    seed = load("netbox_seed", ROOT / "tools" / "netbox_seed.py")
    seed.ensure_custom_fields(nb)

    def get_or_create(endpoint, **spec):
        return endpoint.get(slug=spec["slug"]) or endpoint.create(spec)

    site = get_or_create(nb.dcim.sites, name="Varlık testi", slug="varlik-testi")
    maker = get_or_create(nb.dcim.manufacturers, name="Test üretici", slug="test-uretici")
    kind = get_or_create(nb.dcim.device_types, manufacturer=maker.id, model="Test sunucu", slug="test-sunucu")
    role = get_or_create(nb.dcim.device_roles, name="Varlık test", slug="varlik-test", color="607d8b")
    return {"site": site.id, "device_type": kind.id, "role": role.id}


@pytest.fixture
def device(nb, register):
    """A fresh device with a description and a register column the write-back does not own."""
    name = f"varlik-test-{os.getpid()}-{next(_names)}"
    created = nb.dcim.devices.create(
        name=name,
        description="Kat 2 sistem odası, elle girildi",
        custom_fields={"camera_firmware_policy": "pinned", "camera_firmware_version": "V5.7.15"},
        **register,
    )
    yield name
    nb.dcim.devices.delete([created.id])


def read(nb, name: str) -> dict:
    return dict(nb.dcim.devices.get(name=name))


def owned(record: dict) -> dict:
    cf = record["custom_fields"]
    return {"serial": record["serial"], **{f: cf[f] for f in OWNED if f != "serial"}}


def unowned(record: dict) -> dict:
    """Everything of a device the write-back must not touch (last_updated moves with any write)."""
    rest = {k: v for k, v in record.items() if k not in ("serial", "custom_fields", "last_updated")}
    rest["custom_fields"] = {k: v for k, v in record["custom_fields"].items() if k not in OWNED}
    return rest


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_module(tmp_path, env, args, *flags, url=None, token=None):
    """Run netbox_asset once through ansible-playbook; returns (return code, the task's result)."""
    book = tmp_path / f"asset-{next(_names)}.yml"
    play = {
        "name": "netbox_asset under test",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{"name": "The device's asset fields are written", "netbox_asset": args}],
    }
    book.write_text(yaml.safe_dump([play], allow_unicode=True, sort_keys=False), encoding="utf-8")
    inventory = tmp_path / "inventory.yml"
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": local}}}), encoding="utf-8")
    run_env = {
        **env,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_NOCOLOR": "1",
        "BELEDIYE_LEDGER_PATH": str(tmp_path / "ledger.jsonl"),
        "BELEDIYE_LEDGER_SYSLOG": "false",
    }
    if url is not None:
        run_env["NETBOX_API"] = url
    if token is not None:
        run_env["NETBOX_TOKEN"] = token
    proc = subprocess.run(
        [str(PLAYBOOK), "-i", str(inventory), str(book), *flags],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"no task result from ansible-playbook (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.returncode, result, proc.stdout + proc.stderr


def test_first_run_writes_the_facts_and_a_rerun_moves_only_the_stamp(tmp_path, nb, netbox_cli_env, device):
    rc, first, _ = run_module(tmp_path, netbox_cli_env, {"name": device, **FACTS})
    assert rc == 0, first
    assert first["changed"] is True
    assert first["changed_fields"] == OWNED
    stored = owned(read(nb, device))
    assert stored["serial"] == "PF3K9ZQ2"
    assert stored["asset_model"] == "Lenovo ThinkSystem SR250"
    assert stored["asset_os"] == "Debian 12.8"
    assert stored["asset_firmware"] == "J8E134A"
    assert asset.parse_timestamp(stored["asset_facts_at"]) == asset.parse_timestamp("2026-12-01T08:00:00Z")
    assert stored["asset_run_commit"] == COMMIT_A

    # The next day's run finds the same hardware: only the stamp moves.
    later = {**FACTS, "facts_at": "2026-12-02T08:00:00Z"}
    rc, second, _ = run_module(tmp_path, netbox_cli_env, {"name": device, **later})
    assert rc == 0, second
    assert second["changed"] is True
    assert second["changed_fields"] == ["asset_facts_at"]
    again = owned(read(nb, device))
    assert asset.parse_timestamp(again["asset_facts_at"]) == asset.parse_timestamp("2026-12-02T08:00:00Z")
    assert {k: v for k, v in again.items() if k != "asset_facts_at"} == {
        k: v for k, v in stored.items() if k != "asset_facts_at"
    }

    # A new commit moves the commit too; the same stamp, given in Istanbul time, is no change.
    istanbul = {**later, "facts_at": "2026-12-02T11:00:00+03:00", "run_commit": COMMIT_B}
    rc, third, _ = run_module(tmp_path, netbox_cli_env, {"name": device, **istanbul})
    assert rc == 0, third
    assert third["changed_fields"] == ["asset_run_commit"]

    # Exactly the same input: nothing changes, and the module says so.
    rc, fourth, _ = run_module(tmp_path, netbox_cli_env, {"name": device, **later, "run_commit": COMMIT_B})
    assert rc == 0, fourth
    assert fourth["changed"] is False
    assert fourth["changed_fields"] == []


def test_fields_it_does_not_own_and_options_not_given_are_left_alone(tmp_path, nb, netbox_cli_env, device):
    record = nb.dcim.devices.get(name=device)
    record.update({"serial": "ELLE-GIRILDI-7", "custom_fields": {"asset_model": "typed by hand"}})
    before = read(nb, device)

    # The device reports its OS and firmware only (like an X-ray workstation): serial and model stay.
    args = {"name": device, "os": "Windows 10 IoT", "firmware": "1.2", "facts_at": FACTS["facts_at"]}
    rc, result, _ = run_module(tmp_path, netbox_cli_env, args)
    assert rc == 0, result
    assert result["changed_fields"] == ["asset_os", "asset_firmware", "asset_facts_at"]
    after = read(nb, device)
    assert unowned(after) == unowned(before)
    assert after["description"] == "Kat 2 sistem odası, elle girildi"
    assert after["custom_fields"]["camera_firmware_policy"]["value"] == "pinned"
    assert after["serial"] == "ELLE-GIRILDI-7"
    assert after["custom_fields"]["asset_model"] == "typed by hand"
    assert after["custom_fields"]["asset_run_commit"] is None

    # NetBox's own change log for the write shows only owned fields moving, with the module's message.
    changes = list(nb.core.object_changes.filter(changed_object_type="dcim.device", changed_object_id=record.id))
    last = max(changes, key=lambda c: c.id)
    pre, post = last.prechange_data, last.postchange_data
    moved = {k for k in set(pre) | set(post) if pre.get(k) != post.get(k)} - {"last_updated"}
    assert moved == {"custom_fields"}
    cf_moved = {k for k in post["custom_fields"] if pre["custom_fields"].get(k) != post["custom_fields"][k]}
    assert cf_moved == {"asset_os", "asset_firmware", "asset_facts_at"}
    assert "belediye-iac netbox_asset" in (last.message or "")


def test_check_mode_reports_the_change_with_a_diff_and_writes_nothing(tmp_path, nb, netbox_cli_env, device):
    before = read(nb, device)
    rc, result, _ = run_module(tmp_path, netbox_cli_env, {"name": device, **FACTS}, "--check", "--diff")
    assert rc == 0, result
    assert result["changed"] is True
    assert result["changed_fields"] == OWNED
    assert read(nb, device) == before
    diff = result["diff"]
    assert set(diff["before"]) <= set(OWNED)
    assert set(diff["after"]) <= set(OWNED)
    assert diff["before"]["serial"] == ""
    assert diff["before"]["asset_os"] is None
    assert diff["after"]["asset_os"] == "Debian 12.8"
    assert diff["after"]["asset_run_commit"] == COMMIT_A


def test_a_wrong_token_fails_with_one_line_and_changes_nothing(tmp_path, nb, netbox_cli_env, netbox_instance, device):
    before = read(nb, device)
    wrong = "nbt_notakey.notthesecret0000000000000000000"
    rc, result, output = run_module(tmp_path, netbox_cli_env, {"name": device, **FACTS}, token=wrong)
    assert rc != 0
    assert result["failed"] is True
    assert result["msg"] == f"NetBox at {netbox_instance['url']} refused the token (HTTP 403)"
    assert read(nb, device) == before
    assert wrong not in output
    assert netbox_instance["token"] not in output


def test_netbox_down_fails_with_one_line_naming_the_url(tmp_path, netbox_cli_env, device):
    url = f"http://127.0.0.1:{closed_port()}"
    rc, result, _ = run_module(tmp_path, netbox_cli_env, {"name": device, **FACTS}, url=url)
    assert rc != 0
    assert result["msg"] == f"NetBox at {url} cannot be reached: Connection refused"


def test_a_device_missing_from_netbox_fails_clearly(tmp_path, netbox_cli_env):
    rc, result, _ = run_module(tmp_path, netbox_cli_env, {"name": "yok-boyle-bir-cihaz", **FACTS})
    assert rc != 0
    assert result["msg"] == "device yok-boyle-bir-cihaz is not in NetBox (seed it with tools/netbox_seed.py)"


def test_a_missing_custom_field_is_named_and_nothing_is_written(tmp_path, nb, netbox_cli_env, netbox_instance, device):
    field = nb.extras.custom_fields.get(name="asset_run_commit")
    field.delete()
    try:
        before = read(nb, device)
        rc, result, _ = run_module(tmp_path, netbox_cli_env, {"name": device, **FACTS})
        assert rc != 0
        assert result["msg"] == (
            f"NetBox at {netbox_instance['url']} has no custom field asset_run_commit on dcim.device "
            "(create the asset register fields with tools/netbox_seed.py)"
        )
        assert read(nb, device) == before
    finally:
        sys.modules["netbox_seed"].ensure_custom_fields(nb)
