"""NetBox as the lab's source of truth, end to end (the lab stage; NetBox on loopback).

The lab inventory is loaded into an empty NetBox; the dynamic inventory must give the same groups,
ansible_host and host variables; then playbooks/netbox-sync.yml runs THROUGH that NetBox inventory
against the real lab hosts and the device simulators, and NetBox must hold what they reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NETBOXCTL = [sys.executable, str(ROOT / "lab" / "netbox" / "netboxctl.py")]
SEED = [sys.executable, str(ROOT / "tools" / "netbox_seed.py")]
VIEW = [sys.executable, str(ROOT / "tests" / "netbox" / "inventory_view.py")]
LAB = ROOT / "inventories" / "lab"


def run(cmd: list[str], env: dict, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def netbox_env() -> dict:
    up = subprocess.run([*NETBOXCTL, "up", "--fresh"], capture_output=True, text=True, check=False)
    if up.returncode != 0:
        pytest.fail(f"netboxctl up --fresh failed:\n{up.stdout}\n{up.stderr}")
    out = subprocess.run([*NETBOXCTL, "env"], capture_output=True, text=True, check=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    seeded = run([*SEED, str(LAB), "--json"], env)
    assert seeded.returncode == 0, seeded.stderr
    assert json.loads(seeded.stdout)["changes"], "an empty NetBox must get the lab's devices"
    return env


@pytest.fixture(scope="module")
def netbox_inventory() -> Path:
    """inventories/netbox as it is, with the lab's group_vars and host_vars in place of production's.

    It lies two levels below the repository, as inventories/lab does, because the lab's group_vars
    find the lab's SSH key relative to inventory_dir.
    """
    inv = ROOT / ".lab" / "netbox-inventory"
    shutil.rmtree(inv, ignore_errors=True)
    inv.mkdir(parents=True)
    for name in ("netbox.yml", "access-check.py"):
        shutil.copy2(ROOT / "inventories" / "netbox" / name, inv / name)
    for name in ("group_vars", "host_vars"):
        if (LAB / name).exists():
            (inv / name).symlink_to(LAB / name)
    return inv


def view(env: dict, source: Path | str) -> dict:
    out = run([*VIEW, str(source)], env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_lab_inventory_from_netbox_equals_static(netbox_env, netbox_inventory):
    static = view(netbox_env, LAB)
    dynamic = view(netbox_env, netbox_inventory)
    assert set(dynamic) == set(static)
    for name, host in static.items():
        assert dynamic[name]["groups"] == host["groups"], name
        for key, value in host["vars"].items():
            assert dynamic[name]["vars"].get(key) == value, f"{name}: {key}"


def device(env: dict, name: str) -> dict:
    import pynetbox

    nb = pynetbox.api(env["NETBOX_API"], token=env["NETBOX_TOKEN"])
    return dict(nb.dcim.devices.get(name=name).serialize())


def sync(env: dict, inventory: Path) -> subprocess.CompletedProcess:
    return run(
        [
            str(ROOT / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            str(inventory),
            "playbooks/netbox-sync.yml",
            "--flush-cache",
        ],
        env,
    )


def test_facts_written_back_through_the_netbox_inventory(netbox_env, netbox_inventory):
    before = {n: device(netbox_env, n) for n in ("log01", "app01", "pardus01", "kamera-lab-01", "pdks-lab-01")}
    assert all(not d["custom_fields"].get("asset_os") for d in before.values())
    first = sync(netbox_env, netbox_inventory)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    for name in ("log01", "app01"):
        cf = device(netbox_env, name)["custom_fields"]
        assert cf["asset_os"].startswith("Debian 12"), (name, cf)
        assert cf["asset_run_commit"] == commit
        assert cf["asset_facts_at"]
    # A desktop reports the distribution its os-release names (the lab's Pardus stand-in).
    assert device(netbox_env, "pardus01")["custom_fields"]["asset_os"]
    # The camera simulator reports its firmware and serial over its own protocol.
    cam = device(netbox_env, "kamera-lab-01")
    assert cam["custom_fields"]["asset_firmware"]
    assert cam["serial"]
    pdks = device(netbox_env, "pdks-lab-01")
    assert pdks["serial"]
    assert pdks["custom_fields"]["asset_firmware"]
    # Fields the write-back does not own are as the seed left them.
    for name, old in before.items():
        new = device(netbox_env, name)
        for key in ("site", "role", "tenant", "primary_ip4", "local_context_data", "tags"):
            assert new[key] == old[key], (name, key)
        for key in ("camera_firmware_policy", "camera_firmware_version", "pdks_port"):
            assert new["custom_fields"].get(key) == old["custom_fields"].get(key), (name, key)
    # The seed's view is unchanged: the drift report finds no field the seed owns to repair.
    drift = run([*SEED, str(LAB), "--drift", "--json"], netbox_env)
    lines = json.loads(drift.stdout)["drift"]
    assert not [line for line in lines if line.startswith("NetBox lacks")], drift.stdout
    # A model reported by a device that is not the inventory's is reported, and only then.
    static = view(netbox_env, LAB)
    for name, host in static.items():
        model = host["vars"].get("camera_model") or host["vars"].get("pdks_model")
        reported = device(netbox_env, name)["custom_fields"]["asset_model"] if model else None
        if not reported:
            continue
        line = f"facts contradict the inventory: {name} reports model '{reported}', the inventory says '{model}'"
        assert (line in lines) == (model.lower() not in reported.lower()), (name, lines)

    # A second run confirms the same facts: only the stamp of when they were gathered moves.
    first_state = {n: device(netbox_env, n) for n in before}
    second = sync(netbox_env, netbox_inventory)
    assert second.returncode == 0, second.stdout[-4000:]
    for name, old in first_state.items():
        new = device(netbox_env, name)
        assert new["serial"] == old["serial"], name
        moved = {k for k in new["custom_fields"] if new["custom_fields"][k] != old["custom_fields"][k]}
        assert moved == {"asset_facts_at"}, (name, moved)
