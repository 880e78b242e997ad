"""tools/netbox_seed.py and inventories/netbox against a real NetBox on loopback.

The module's NetBox starts empty (conftest). The production inventory's data is loaded into it (data
only: nothing connects to the production hosts), then:
- a rerun changes nothing;
- the dynamic inventory (inventories/netbox, netbox.netbox.nb_inventory) gives every host the same
  groups, ansible_host and own variables as the static inventory;
- the drift report finds edits made in NetBox behind the inventory's back, and a rerun repairs them;
- a wrong token or a NetBox that is down stops the tool and the inventory with one clear line, and
  NetBox is left as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = [sys.executable, str(ROOT / "tools" / "netbox_seed.py")]
VIEW = [sys.executable, str(ROOT / "tests" / "netbox" / "inventory_view.py")]
PRODUCTION = ROOT / "inventories" / "production"


def run(cmd: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def seed(env: dict, *args: str, inventory: Path = PRODUCTION) -> subprocess.CompletedProcess:
    return run([*SEED, str(inventory), "--json", *args], env)


def object_counts(nb) -> dict[str, int]:
    return {
        "devices": nb.dcim.devices.count(),
        "interfaces": nb.dcim.interfaces.count(),
        "ip_addresses": nb.ipam.ip_addresses.count(),
        "vlans": nb.ipam.vlans.count(),
        "prefixes": nb.ipam.prefixes.count(),
        "tags": nb.extras.tags.count(),
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def seeded(netbox_instance):
    """NetBox after the first seed of the production inventory, with that run's answer."""
    env = {**os.environ, "NETBOX_API": netbox_instance["url"], "NETBOX_TOKEN": netbox_instance["token"]}
    first = seed(env)
    assert first.returncode == 0, first.stderr
    return json.loads(first.stdout)


def small_inventory(tmp_path: Path, hosts_yaml: str, *merkez: str, extra: str = "") -> Path:
    """An inventory with production's IP plan and the given servers, in site merkez."""
    inventory = tmp_path / "inventory"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    shutil.copy(PRODUCTION / "group_vars" / "all" / "ipplan.yml", inventory / "group_vars" / "all")
    members = ", ".join(f"{h}: " for h in merkez)
    (inventory / "hosts.yml").write_text(
        f"all:\n  children:\n    servers:\n      hosts:\n{hosts_yaml}"
        f"    site_merkez:\n      hosts: {{{members}}}\n{extra}"
    )
    return inventory


def static_view() -> dict:
    out = subprocess.run([*VIEW, str(PRODUCTION)], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_check_plans_without_changing(netbox_instance, nb, netbox_cli_env):
    before = object_counts(nb)
    plan = seed(netbox_cli_env, "--check")
    assert plan.returncode == 0, plan.stderr
    answer = json.loads(plan.stdout)
    hosts = static_view()
    assert answer["hosts"] == len(hosts)
    # One create per host's device, interface and address, and the sites of the IP plan.
    for name in ("log01", "kamera-fen-02", "xray-kultur-01"):
        assert f"create device {name}" in answer["changes"]
        assert f"create interface {name} mgmt0" in answer["changes"]
    assert object_counts(nb) == before


def test_seed_loads_the_estate(seeded, nb):
    hosts = static_view()
    assert seeded["hosts"] == len(hosts)
    devices = {d.name: d for d in nb.dcim.devices.all()}
    assert set(devices) == set(hosts)
    for name, host in hosts.items():
        dev = devices[name]
        groups = set(host["groups"])
        site = next(g.removeprefix("site_") for g in groups if g.startswith("site_"))
        assert dev.site.slug == site, name
        tenant = [g.removeprefix("dir_") for g in groups if g.startswith("dir_")]
        assert (dev.tenant.slug if dev.tenant else None) == (tenant[0] if tenant else None), name
        assert dev.role.slug in groups, name
        assert str(dev.primary_ip4.address).split("/")[0] == host["vars"]["ansible_host"], name
    # A camera's register columns, an X-ray scanner's licence and serial, a Windows desktop's migration.
    cam = devices["kamera-fen-02"]
    assert (
        cam.custom_fields["camera_firmware_policy"]["value"] == hosts["kamera-fen-02"]["vars"]["camera_firmware_policy"]
    )
    assert cam.device_type.model == hosts["kamera-fen-02"]["vars"]["camera_model"]
    xray = devices["xray-kultur-01"]
    assert xray.custom_fields["xray_licence_expires"] == hosts["xray-kultur-01"]["vars"]["xray_licence_expires"]
    assert xray.serial == hosts["xray-kultur-01"]["vars"]["xray_serial"]
    assert devices["pc-imar-002"].local_context_data["pardus_migration_reason"].startswith("NetCAD")
    # The address's prefix length is its VLAN's: log01 is in merkez's server VLAN, a /24.
    assert str(devices["log01"].primary_ip4.address) == f"{hosts['log01']['vars']['ansible_host']}/24"


def test_rerun_changes_nothing(seeded, netbox_cli_env, nb):
    before = object_counts(nb)
    again = seed(netbox_cli_env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["changes"] == []
    assert object_counts(nb) == before


def test_dynamic_inventory_equals_static(seeded, netbox_cli_env):
    static = static_view()
    out = run([*VIEW, "inventories/netbox"], netbox_cli_env)
    assert out.returncode == 0, out.stderr
    dynamic = json.loads(out.stdout)
    assert set(dynamic) == set(static)
    for name, host in static.items():
        assert dynamic[name]["groups"] == host["groups"], name
        for key, value in host["vars"].items():
            assert dynamic[name]["vars"].get(key) == value, f"{name}: {key}"
    # pdks_port is set on no production host, so the group default must still win: NetBox sets nothing.
    assert all("pdks_port" not in dynamic[h]["vars"] for h in dynamic if "pdks_terminals" in dynamic[h]["groups"])


def test_drift_report_and_repair(seeded, nb, netbox_cli_env):
    assert seed(netbox_cli_env, "--drift").returncode == 0
    # Edits behind the inventory's back: a camera moved to another directorate, its policy loosened,
    # a firmware reported that contradicts the pinned one, and a device nobody put in the inventory.
    cam = nb.dcim.devices.get(name="kamera-merkez-01")
    other = nb.tenancy.tenants.get(slug="zabita")
    cam.update(
        {"tenant": other.id, "custom_fields": {"camera_firmware_policy": "report_only", "asset_firmware": "V5.5.0"}}
    )
    stray = nb.dcim.devices.create(
        name="ups-merkez-01", site=cam.site.id, role=cam.role.id, device_type=cam.device_type.id, status="active"
    )
    report = seed(netbox_cli_env, "--drift")
    assert report.returncode == 3, report.stderr
    drift = json.loads(report.stdout)["drift"]
    assert "NetBox lacks or differs: update device kamera-merkez-01: custom_fields, tenant" in drift
    assert any(line.startswith("only in NetBox: device ups-merkez-01") for line in drift)
    assert any("kamera-merkez-01 runs firmware 'V5.5.0'" in line for line in drift)
    assert len(drift) == 3, drift
    # The seed repairs what it owns; the stray device and the reported firmware stay (not its fields).
    assert seed(netbox_cli_env).returncode == 0
    cam = nb.dcim.devices.get(name="kamera-merkez-01")
    assert cam.tenant.slug == "destek_hizmetleri"
    assert cam.custom_fields["camera_firmware_policy"]["value"] == "pinned"
    assert cam.custom_fields["asset_firmware"] == "V5.5.0"
    after = json.loads(seed(netbox_cli_env, "--drift").stdout)["drift"]
    assert len(after) == 2, after
    assert not any(line.startswith("NetBox lacks") for line in after), after
    stray.delete()


def test_wrong_token_changes_nothing(seeded, nb, netbox_cli_env, tmp_path):
    before = object_counts(nb)
    bad = {**netbox_cli_env, "NETBOX_TOKEN": netbox_cli_env["NETBOX_TOKEN"][:-4] + "xxxx"}
    # An inventory with a host NetBox does not have: the tool would create it, past the token check.
    inventory = small_inventory(tmp_path, "        log02: {ansible_host: 10.10.10.17}\n", "log02")
    answer = seed(bad, inventory=inventory)
    assert answer.returncode == 2
    assert f"NetBox at {netbox_cli_env['NETBOX_API']} refused the token (HTTP 403)" in answer.stderr
    assert object_counts(nb) == before
    # The same inventory with the right token does create log02 (the test above is not vacuous).
    plan = json.loads(seed(netbox_cli_env, "--check", inventory=inventory).stdout)
    assert "create device log02" in plan["changes"]
    listing = run([*VIEW, "inventories/netbox"], bad)
    assert listing.returncode != 0
    assert "refused the token (HTTP 403)" in listing.stderr


def test_netbox_down_changes_nothing(seeded, nb, netbox_cli_env):
    before = object_counts(nb)
    down = {**netbox_cli_env, "NETBOX_API": f"http://127.0.0.1:{closed_port()}"}
    answer = seed(down)
    assert answer.returncode == 2
    assert f"NetBox at {down['NETBOX_API']} cannot be reached" in answer.stderr
    listing = run([*VIEW, "inventories/netbox"], down)
    assert listing.returncode != 0
    assert "cannot be reached" in listing.stderr
    assert object_counts(nb) == before


def test_bad_inventory_is_refused_before_netbox(tmp_path, netbox_cli_env):
    """A host outside every VLAN of its site, or in two sites, is named; nothing is sent to NetBox."""
    inventory = small_inventory(
        tmp_path,
        "        a01: {ansible_host: 10.99.0.5}\n        a02: {ansible_host: 10.10.10.40}\n",
        "a01",
        "a02",
        extra="    site_zabita:\n      hosts: {a02: }\n",
    )
    answer = seed({**netbox_cli_env, "NETBOX_API": f"http://127.0.0.1:{closed_port()}"}, inventory=inventory)
    assert answer.returncode == 2
    assert "host a01: ansible_host 10.99.0.5 is in no VLAN of site merkez" in answer.stderr
    assert "host a02: in 2 site_<key> groups (merkez, zabita)" in answer.stderr
