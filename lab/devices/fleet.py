#!/usr/bin/env python3
"""The lab's simulated device fleet: one simulator per host of the groups cameras, pdks_terminals
and xray_scanners of inventories/lab, each on its host's loopback address, and a WS-Man stand-in for
each Windows host (windows_servers, windows_desktops) at its windows_baseline_winrm_host, in one process.

The simulators are started with the credentials the inventory gives the modules (read through
Ansible's own inventory and templating, with the lab's throwaway vault password), so a playbook
run against the lab finds devices that accept it; their state lives in --state-dir and survives
a restart. Everything binds to 127.0.0.0/8 only.

    python lab/devices/fleet.py [--inventory inventories/lab] [--state-dir .lab/devices] [--pid-file F]
    python lab/devices/fleet.py --list        # what would be started (no secrets)

lab/labctl.py starts it in the background (`labctl devices`, and `labctl up`) and stops it by its
PID file (`labctl down`). SIGTERM stops every simulator and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

GROUPS = ("cameras", "pdks_terminals", "xray_scanners", "windows_servers", "windows_desktops")
WINDOWS_GROUPS = ("windows_servers", "windows_desktops")


def inventory_devices(inventory: Path, vault_password_file: Path) -> list[dict]:
    """Each device host of the inventory with the templated values its simulator needs."""
    os.chdir(ROOT)  # ansible.cfg (vars plugins, vault ids) is read from the repository root
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret, VaultSecretsContext
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    secrets = [("lab", VaultSecret(vault_password_file.read_bytes().strip()))]
    loader = DataLoader()
    loader.set_vault_secrets(secrets)
    VaultSecretsContext.initialize(VaultSecretsContext(secrets))
    inv = InventoryManager(loader=loader, sources=[str(inventory)])
    variables = VariableManager(loader=loader, inventory=inv)
    groups = inv.get_groups_dict()
    devices = []
    for group in GROUPS:
        for name in groups.get(group, []):
            hostvars = variables.get_vars(host=inv.get_host(name))
            templar = Templar(loader=loader, variables=hostvars)

            def value(key, default=None, _hv=hostvars, _t=templar):
                return _t.template(_hv[key]) if key in _hv else default

            # A Windows host keeps its own address in the inventory; its stand-in answers on loopback.
            key = "windows_baseline_winrm_host" if group in WINDOWS_GROUPS else "ansible_host"
            address = str(value(key, ""))
            if not address.startswith("127."):
                raise SystemExit(f"fleet: {name}: {key} {address!r} is not a loopback address")
            device = {"name": name, "group": group, "address": address}
            if group == "cameras":
                device.update(
                    port=int(value("camera_onvif_port", 8080)),
                    user=value("camera_admin_user", "admin"),
                    password=value("camera_admin_password"),
                    model=value("camera_model", "DS-2CD2143G2-I"),
                    firmware=value("lab_camera_firmware") or value("camera_firmware_version", "V5.7.3"),
                    serial=f"{value('camera_model', 'CAM')}-LAB-{name}",
                )
            elif group == "pdks_terminals":
                device.update(port=int(value("pdks_port", 4370)), comm_key=int(value("pdks_comm_key", 0)),
                              model=value("pdks_model", "MB460"))  # fmt: skip
            elif group in WINDOWS_GROUPS:
                device.update(port=int(value("windows_baseline_winrm_port", 5985)),
                              user=value("windows_baseline_winrm_user"),
                              password=value("vault_windows_admin_password"),
                              domain=value("directory_netbios_domain", "BELEDIYE"),
                              admins=list(value("windows_baseline_local_administrators", [])))  # fmt: skip
            else:
                device.update(
                    snmp_port=int(value("xray_snmp_port", 1161)),
                    snmp_user=value("xray_snmp_user"),
                    auth_key=value("xray_snmp_auth_key"),
                    priv_key=value("xray_snmp_priv_key"),
                    winrm_port=int(value("xray_winrm_port", 5985)),
                    winrm_user=value("xray_winrm_user"),
                    winrm_password=value("xray_winrm_password"),
                    location=value("xray_location", ""),
                    model=value("xray_model", ""),
                )
            devices.append(device)
    return devices


def lab_punches() -> list[dict]:
    """Entries at about 08:30 and exits at about 17:30 of the two days before today, for four sicils."""
    import datetime as dt

    today = dt.date.today()
    punches = []
    for back in (2, 1):
        day = today - dt.timedelta(days=back)
        for n, sicil in enumerate(("100101", "100102", "100103", "100104")):
            for hour, minute, punch in ((8, 25 + n, 0), (17, 31 + n, 1)):
                stamp = dt.datetime.combine(day, dt.time(hour, minute))
                punches.append({"user_id": sicil, "timestamp": stamp.isoformat(), "status": 1, "punch": punch})
    return punches


def windows_initial_state(name: str, domain: str, admins: list[str]) -> str:
    """A fresh Windows host for the stand-in: lab/devices/windows-initial-state.json (shared with the
    molecule scenario windows_baseline) with this host's name, the lab's domain, and a SID for every
    account the inventory wants in the local Administrators group (what Windows would resolve)."""
    text = (HERE / "windows-initial-state.json").read_text(encoding="utf-8")
    text = text.replace("WIN-MOL-01", name.upper()).replace("MOL\\\\", f"{domain}\\\\")
    state = json.loads(text)
    principals = state["windows"]["principals"]
    for n, admin in enumerate(sorted(set(admins) - set(principals))):
        principals[admin] = f"S-1-5-21-1004336348-1177238915-682003330-{2100 + n}"
    return json.dumps(state, indent=2, ensure_ascii=False)


def start(devices: list[dict], state_dir: Path) -> list:
    import camera
    import snmp_agent
    import wsman_fake
    import zk_terminal

    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    servers = []
    for d in devices:
        state = state_dir / f"{d['name']}.json"
        if d["group"] == "cameras":
            servers.append(camera.serve(d["address"], d["port"], str(state), user=d["user"], password=d["password"],
                                        model=d["model"], firmware=d["firmware"], serial=d["serial"],
                                        hostname="camera"))  # fmt: skip
        elif d["group"] in WINDOWS_GROUPS:
            if not state.exists():
                state.write_text(windows_initial_state(d["name"], d["domain"], d["admins"]), encoding="utf-8")
            servers.append(wsman_fake.serve(str(state), d["user"], d["password"], d["address"], d["port"]))
        elif d["group"] == "pdks_terminals":
            # A new terminal comes with two days of punches to pull (the staff list's sicil numbers;
            # the users themselves are the playbook's job). Never again once it has a state.
            seed = None if state.exists() else {"attendance": lab_punches()}
            servers.append(zk_terminal.serve(d["address"], d["port"], str(state), comm_key=d["comm_key"], seed=seed))
        else:
            snmp_state = state_dir / f"{d['name']}-snmp.json"
            if not snmp_state.exists():
                snmp_state.write_text(json.dumps({"sysName": d["name"], "sysLocation": d["location"],
                                                  "sysDescr": f"{d['model']} operator workstation (lab simulator)"}),
                                      encoding="utf-8")  # fmt: skip
            v3 = {"v3_user": d["snmp_user"], "auth_key": d["auth_key"], "priv_key": d["priv_key"]}
            servers.append(snmp_agent.serve(str(snmp_state), d["address"], d["snmp_port"], community="", **v3))
            winrm_state = state_dir / f"{d['name']}-winrm.json"
            if not winrm_state.exists():
                # As a workstation comes from the vendor: Windows' own time source, USB storage on.
                winrm_state.write_text(json.dumps({"hostname": d["name"].upper(),
                                                   "time": {"type": "NTP", "peers": ["time.windows.com"]},
                                                   "accounts": {"Administrator": {"enabled": True},
                                                                "operator": {"enabled": True}},
                                                   "usbstor_start": 3}), encoding="utf-8")  # fmt: skip
            servers.append(wsman_fake.serve(str(winrm_state), d["winrm_user"],
                                            d["winrm_password"], d["address"], d["winrm_port"]))  # fmt: skip
    return servers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventories" / "lab")
    parser.add_argument("--vault-password-file", type=Path, default=ROOT / "inventories" / "lab" / "vault-password.txt")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".lab" / "devices")
    parser.add_argument("--pid-file", type=Path)
    parser.add_argument("--list", action="store_true", help="print the fleet (without secrets) and exit")
    args = parser.parse_args()

    devices = inventory_devices(args.inventory.resolve(), args.vault_password_file.resolve())
    if args.list:
        for d in devices:
            shown = {k: v for k, v in d.items() if k in ("name", "group", "address", "port", "snmp_port", "winrm_port")}
            print(json.dumps(shown))
        return 0
    servers = start(devices, args.state_dir.resolve())
    if args.pid_file:
        args.pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
    print(f"fleet: {len(devices)} simulated devices up ({', '.join(d['name'] for d in devices)})", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    for server in servers:
        server.shutdown()
    if args.pid_file:
        args.pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
