#!/usr/bin/env python3
"""Load NetBox from a belediye-iac inventory, or report where NetBox and the inventory disagree.

    netbox_seed.py INVENTORY            create or update what NetBox lacks (idempotent: a rerun changes nothing)
    netbox_seed.py INVENTORY --check    print the plan, change nothing
    netbox_seed.py INVENTORY --drift    the drift report: every disagreement, including devices that are only in
                                        NetBox and facts written back (tools/netbox-sync) that contradict the
                                        inventory; exit 3 when there is any
    add --json for a machine-readable answer.

NetBox's address and token come from NETBOX_API and NETBOX_TOKEN (a v2 token, `nbt_<key>.<secret>`); keep the
token in the vault (see docs/netbox.md). The tool checks both with one read before it writes anything, so a wrong
token or a NetBox that is down stops it with one line and no change.

How a host becomes a device (docs/netbox.md has the table):
- site      = its site_<key> group, a NetBox site with slug <key>; the sites, their VLANs and prefixes come from
              group_vars/all/ipplan.yml;
- tenant    = its dir_<key> group (the directorate, müdürlük);
- role      = its most specific functional group (log_servers, cameras, ...);
- tags      = every other group it is in (linux, servers, backup_clients, ...), so that the dynamic inventory
              (inventories/netbox/netbox.yml) rebuilds the same groups;
- mgmt0     = an interface with ansible_host as the primary IPv4, its prefix length from the IP plan's VLAN;
- custom fields for the register's columns (camera firmware policy, X-ray licence, PDKS port, Pardus migration);
- local config context = the host's own inventory variables, which the dynamic inventory gives back as host vars.
The tool owns those fields only. The asset fields that netbox-sync.yml writes back (serial once reported,
asset_*) are never overwritten by a rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Host variables that become custom fields (the register's columns), with their NetBox type.
INVENTORY_FIELDS = {
    "camera_firmware_policy": (
        "select",
        "Kamera yazılım politikası",
        "Camera firmware policy: pinned, minimum or report_only",
    ),
    "camera_firmware_version": ("text", "Kamera hedef yazılım sürümü", "Camera firmware version the policy aims at"),
    "xray_licence_number": ("text", "NDK lisans numarası", "X-ray licence number (Nükleer Düzenleme Kurumu)"),
    "xray_licence_expires": ("date", "NDK lisans bitişi", "X-ray licence expiry date"),
    "xray_maintenance_last": ("date", "Son bakım", "X-ray scanner: date of the last maintenance"),
    "pdks_port": ("integer", "PDKS kapısı", "PDKS terminal: the ZK protocol port"),
    "pardus_migration": ("select", "Pardus göçü", "Windows desktop: planned move to Pardus, or exception"),
}
SELECT_CHOICES = {
    "camera_firmware_policy": ["pinned", "minimum", "report_only"],
    "pardus_migration": ["planned", "exception"],
}
# Written back by playbooks/netbox-sync.yml (plugins/modules/netbox_asset.py); this tool only creates them.
ASSET_FIELDS = {
    "asset_model": ("text", "Bildirilen model", "Model as the host or device reports it"),
    "asset_os": ("text", "İşletim sistemi", "OS name and version as reported"),
    "asset_firmware": ("text", "Firmware / BIOS", "Firmware or BIOS version as reported"),
    "asset_facts_at": ("datetime", "Bilgilerin toplandığı an", "When the facts were gathered"),
    "asset_run_commit": ("text", "Çalıştırma commit'i", "belediye-iac commit of the run that gathered them"),
}
INVENTORY_GROUP = "Envanter / inventory"
ASSET_GROUP = "Varlık kaydı / asset register"

# Variables that NetBox holds natively and the dynamic inventory derives itself.
NATIVE_VARS = {"ansible_host"}

# The device type and maker of a role's hosts: (maker variable or fixed maker, model variable or fixed model).
HARDWARE = {
    "cameras": ("camera_vendor", "camera_model"),
    "xray_scanners": ("xray_vendor", "xray_model"),
    "pdks_terminals": ("=ZKTeco", "pdks_model"),
    "ios_switches": ("=Cisco", "switch_model"),
    "cbs_switches": ("=Cisco", "switch_model"),
    "fortios_firewalls": ("=Fortinet", "firewall_model"),
    "nftables_firewalls": ("=Generic", "=Debian gateway"),
    "pardus_desktops": ("=Generic", "=Desktop PC"),
    "windows_desktops": ("=Generic", "=Desktop PC"),
}
SERVER_HARDWARE = ("=Generic", "=Server")
PLATFORMS = {
    "pardus_desktops": "Pardus 23",
    "windows_desktops": "Windows",
    "ios_switches": "Cisco IOS XE",
    "cbs_switches": "Cisco CBS",
    "fortios_firewalls": "FortiOS",
    "nftables_firewalls": "Debian 12",
}
SERVER_PLATFORM = "Debian 12"
# Models the inventory does not name (a generic device type): a reported model never contradicts them.
GENERIC_MODELS = {m[1:] for _, m in [*HARDWARE.values(), SERVER_HARDWARE] if m.startswith("=")} | {"Unknown"}
ROLE_COLORS = {"servers": "2196f3", "desktops": "4caf50", "network": "9c27b0", "devices": "ff9800"}
MANAGED_TAG = "belediye-iac"


class SeedError(Exception):
    """A problem with the inventory or NetBox that stops the tool before (or instead of) a change."""


def slugify(text: str) -> str:
    table = str.maketrans("çğıöşüÇĞİÖŞÜ", "cgiosuCGIOSU")
    slug = re.sub(r"[^a-z0-9_]+", "-", text.translate(table).lower()).strip("-")
    return slug[:100] or "x"


# --------------------------------------------------------------------------- the inventory's view


@dataclass
class Host:
    name: str
    address: str
    groups: set[str]
    vars: dict[str, Any]
    role: str = ""
    site: str = ""
    tenant: str = ""
    tags: list[str] = field(default_factory=list)
    prefixlen: int = 32
    vlan: tuple[str, str] | None = None  # (site key, vlan key)


def load_inventory(path: Path) -> tuple[list[Host], dict]:
    """The hosts of an inventory (with their groups and own variables) and its IP plan."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    inventory = InventoryManager(loader=DataLoader(), sources=[str(path)])
    ipplan_file = path / "group_vars" / "all" / "ipplan.yml"
    if not ipplan_file.exists():
        raise SeedError(f"{ipplan_file}: no IP plan; sites, VLANs and prefixes come from it")
    ipplan = (yaml.safe_load(ipplan_file.read_text()) or {}).get("ipplan") or {}
    depth: dict[str, int] = {}

    def group_depth(group) -> int:
        if group.name not in depth:
            parents = [p for p in group.parent_groups if p.name != "all"]
            depth[group.name] = 1 + max((group_depth(p) for p in parents), default=0)
        return depth[group.name]

    hosts = []
    problems = []
    for host in sorted(inventory.get_hosts(), key=lambda h: h.name):
        groups = {g.name for g in host.get_groups()} - {"all", "ungrouped"}
        own_vars = {k: v for k, v in host.vars.items() if k not in ("inventory_file", "inventory_dir")}
        address = own_vars.get("ansible_host")
        if not address:
            problems.append(f"host {host.name}: ansible_host is not set; NetBox needs its management address")
            continue
        item = Host(name=host.name, address=str(address), groups=groups, vars=own_vars)
        sites = sorted(g.removeprefix("site_") for g in groups if g.startswith("site_"))
        tenants = sorted(g.removeprefix("dir_") for g in groups if g.startswith("dir_"))
        if len(sites) != 1:
            problems.append(
                f"host {host.name}: in {len(sites)} site_<key> groups ({', '.join(sites) or 'none'}); "
                "NetBox needs exactly one site"
            )
            continue
        if len(tenants) > 1:
            problems.append(
                f"host {host.name}: in {len(tenants)} dir_<key> groups ({', '.join(tenants)}); "
                "a device has one directorate"
            )
            continue
        item.site = sites[0]
        item.tenant = tenants[0] if tenants else ""
        if item.site not in (ipplan.get("sites") or {}):
            problems.append(f"host {host.name}: group site_{item.site} has no site '{item.site}' in the IP plan")
            continue
        # The role: the deepest of the groups that name the host directly (not a site or directorate).
        direct = [
            g for g in host.groups if g.name not in ("all", "ungrouped") and not g.name.startswith(("site_", "dir_"))
        ]
        if not direct:
            problems.append(f"host {host.name}: in no functional group; NetBox needs a device role")
            continue
        item.role = max(direct, key=lambda g: (group_depth(g), g.name)).name
        item.tags = sorted(
            groups - {item.role, f"site_{item.site}"} - ({f"dir_{item.tenant}"} if item.tenant else set())
        )
        located = locate(item.address, ipplan, item.site)
        if located is None:
            problems.append(
                f"host {host.name}: ansible_host {item.address} is in no VLAN of site {item.site} in the IP plan"
            )
            continue
        item.vlan, item.prefixlen = located
        hosts.append(item)
    if problems:
        raise SeedError("the inventory cannot be loaded into NetBox:\n  " + "\n  ".join(problems))
    return hosts, ipplan


def locate(address: str, ipplan: dict, site: str) -> tuple[tuple[str, str], int] | None:
    import netaddr

    try:
        ip = netaddr.IPAddress(address)
    except (netaddr.AddrFormatError, ValueError):
        return None
    for key, vlan in ((ipplan.get("sites") or {}).get(site, {}).get("vlans") or {}).items():
        net = netaddr.IPNetwork(vlan["subnet"])
        if ip in net:
            return (site, key), net.prefixlen
    return None


# --------------------------------------------------------------------------- NetBox access


def connect(url: str | None, token: str | None):
    """A pynetbox API after one authenticated read; SeedError names the URL and what is wrong."""
    import pynetbox
    import requests

    if not url:
        raise SeedError("NETBOX_API is not set (the NetBox URL, e.g. https://netbox.ornek.bel.tr)")
    if not token:
        raise SeedError("NETBOX_TOKEN is not set (a v2 API token, nbt_<key>.<secret>; keep it in the vault)")
    nb = pynetbox.api(url, token=token)
    nb.http_session.timeout = 30
    try:
        nb.dcim.sites.count()
    except pynetbox.RequestError as exc:
        code = exc.req.status_code
        if code in (401, 403):
            raise SeedError(f"NetBox at {url} refused the token (HTTP {code}); nothing was changed") from None
        raise SeedError(f"NetBox at {url} answered HTTP {code}: {exc.error}; nothing was changed") from None
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise SeedError(f"NetBox at {url} cannot be reached ({reason}); nothing was changed") from None
    return nb


def nested_id(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("id", value.get("value"))
    return value


class Endpoint:
    """One NetBox endpoint: its objects read once, indexed by a natural key; changes planned, then applied in bulk."""

    def __init__(self, api, label: str, key, fields: tuple[str, ...]):
        self.api = api
        self.label = label
        self.key = key
        self.fields = fields
        self.by_key: dict[Any, dict] = {}
        for rec in api.all():
            data = dict(rec.serialize())
            self.by_key[key(data)] = data
        self.creates: list[dict] = []
        self.updates: list[dict] = []
        self.changes: list[str] = []

    def ensure(self, want: dict, name: str, owned_custom: tuple[str, ...] = ()) -> None:
        key = self.key(want)
        have = self.by_key.get(key)
        if have is None:
            self.creates.append(want)
            self.changes.append(f"create {self.label} {name}")
            # A stand-in id until NetBox gives the real one, so that a --check run can plan what refers to it.
            self.by_key[key] = {**want, "id": f"new {self.label} {name}"}
            return
        diff = {}
        for fname in self.fields:
            if fname not in want:
                continue
            if fname == "custom_fields":
                cur = have.get("custom_fields") or {}
                sub = {k: v for k, v in want[fname].items() if k in owned_custom and normal(cur.get(k)) != normal(v)}
                if sub:
                    diff[fname] = sub
            elif normal(have.get(fname)) != normal(want[fname]):
                diff[fname] = want[fname]
        if diff and "id" in have:
            self.updates.append({"id": have["id"], **diff})
            self.changes.append(f"update {self.label} {name}: {', '.join(sorted(diff))}")
            have.update(diff)

    def apply(self) -> None:
        if self.creates:
            made = self.api.create(self.creates)
            made = made if isinstance(made, list) else [made]
            for rec in made:
                data = dict(rec.serialize())
                self.by_key[self.key(data)] = data
        if self.updates:
            self.api.update(self.updates)
        self.creates, self.updates = [], []


def normal(value: Any) -> Any:
    """Compare NetBox's answer with what we send: nested objects by id, tags by slug, choices by value."""
    if isinstance(value, dict):
        if set(value) == {"slug"}:
            return value["slug"]
        if "id" in value or ("value" in value and "label" in value):
            return nested_id(value)
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [normal(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if value == "":
        return None
    return value


# --------------------------------------------------------------------------- the seed


def ensure_custom_fields(nb, changes: list[str] | None = None) -> None:
    """The device custom fields of the project: the register's columns and the write-back's asset fields."""
    changes = changes if changes is not None else []
    sets = {cs.name: cs for cs in nb.extras.custom_field_choice_sets.all()}
    existing = {cf.name: cf for cf in nb.extras.custom_fields.all()}
    for name, (kind, label, description) in {**INVENTORY_FIELDS, **ASSET_FIELDS}.items():
        if name in existing:
            continue
        spec = {
            "name": name,
            "label": label,
            "description": description,
            "type": kind,
            "object_types": ["dcim.device"],
            "group_name": ASSET_GROUP if name in ASSET_FIELDS else INVENTORY_GROUP,
            "required": False,
        }
        if kind == "select":
            set_name = f"belediye-{name}"
            if set_name not in sets:
                sets[set_name] = nb.extras.custom_field_choice_sets.create(
                    name=set_name, extra_choices=[[c, c] for c in SELECT_CHOICES[name]]
                )
            spec["choice_set"] = sets[set_name].id
        nb.extras.custom_fields.create(spec)
        changes.append(f"create custom field {name}")


def custom_values(host: Host) -> dict:
    return {k: host.vars[k] for k in INVENTORY_FIELDS if k in host.vars}


def local_context(host: Host) -> dict | None:
    """The host's own variables that NetBox does not hold natively; dates and the like as JSON strings."""
    data = {k: v for k, v in host.vars.items() if k not in NATIVE_VARS}
    return json.loads(json.dumps(data, default=str)) if data else None


def hardware(host: Host) -> tuple[str, str]:
    maker_src, model_src = HARDWARE.get(host.role, SERVER_HARDWARE)

    def pick(src: str, fallback: str) -> str:
        return src[1:] if src.startswith("=") else str(host.vars.get(src) or fallback)

    maker = pick(maker_src, "Generic")
    maker = maker if any(c.isupper() for c in maker) else maker.title()
    return maker, pick(model_src, "Unknown")


def platform_of(host: Host) -> str | None:
    """The NetBox platform of a host's role; Debian for servers of roles without one of their own."""
    return PLATFORMS.get(host.role, SERVER_PLATFORM if "servers" in host.groups else None)


def role_family(host: Host) -> str:
    for family in ("servers", "desktops", "network", "devices"):
        if family in host.groups:
            return family
    return "servers"


@dataclass
class Plan:
    changes: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)


def seed(nb, hosts: list[Host], ipplan: dict, apply: bool) -> Plan:
    """Plan (and with apply=True make) the changes that bring NetBox to the inventory's state."""
    plan = Plan()
    if apply:
        ensure_custom_fields(nb, plan.changes)
    else:
        have = {cf.name for cf in nb.extras.custom_fields.all()}
        plan.changes += [f"create custom field {n}" for n in {**INVENTORY_FIELDS, **ASSET_FIELDS} if n not in have]

    def slug_key(d):
        return d.get("slug")

    steps: list[Endpoint] = []

    def endpoint(api, label, key, fields):
        ep = Endpoint(api, label, key, fields)
        steps.append(ep)
        return ep

    def flush():
        if apply:
            for ep in steps:
                ep.apply()
        for ep in steps:
            plan.changes.extend(ep.changes)
            ep.changes = []

    # Tags, tenants, sites, makers, types, platforms, roles: flat objects keyed by slug.
    tags = endpoint(nb.extras.tags, "tag", slug_key, ("name", "description"))
    tags.ensure(
        {"name": MANAGED_TAG, "slug": MANAGED_TAG, "description": "Managed by belediye-iac (tools/netbox_seed.py)"},
        MANAGED_TAG,
    )
    for tag in sorted({t for h in hosts for t in h.tags}):
        tags.ensure({"name": tag, "slug": tag, "description": f"Ansible group {tag}"}, tag)
    tenants = endpoint(nb.tenancy.tenants, "tenant", slug_key, ("name", "description"))
    for tenant in sorted({h.tenant for h in hosts if h.tenant}):
        tenants.ensure(
            {"name": tenant, "slug": tenant, "description": f"Müdürlük (Ansible group dir_{tenant})"}, tenant
        )
    sites = endpoint(nb.dcim.sites, "site", slug_key, ("name", "description", "time_zone", "status"))
    for key, site in sorted((ipplan.get("sites") or {}).items()):
        sites.ensure(
            {
                "name": key,
                "slug": key,
                "description": str(site.get("description", ""))[:200],
                "time_zone": "Europe/Istanbul",
                "status": "active",
            },
            key,
        )
    makers = endpoint(nb.dcim.manufacturers, "manufacturer", slug_key, ("name",))
    platforms = endpoint(nb.dcim.platforms, "platform", slug_key, ("name",))
    roles = endpoint(nb.dcim.device_roles, "device role", slug_key, ("name", "color"))
    for host in hosts:
        maker, _ = hardware(host)
        makers.ensure({"name": maker, "slug": slugify(maker)}, maker)
        platform = platform_of(host)
        if platform:
            platforms.ensure({"name": platform, "slug": slugify(platform)}, platform)
        roles.ensure({"name": host.role, "slug": host.role, "color": ROLE_COLORS[role_family(host)]}, host.role)
    flush()

    maker_id = {k: v["id"] for k, v in makers.by_key.items()}
    types = endpoint(
        nb.dcim.device_types, "device type", lambda d: (nested_id(d.get("manufacturer")), d.get("slug")), ("model",)
    )
    for host in hosts:
        maker, model = hardware(host)
        types.ensure(
            {"manufacturer": maker_id[slugify(maker)], "model": model, "slug": slugify(model)}, f"{maker} {model}"
        )
    site_id = {k: v["id"] for k, v in sites.by_key.items()}
    vlans = endpoint(
        nb.ipam.vlans, "VLAN", lambda d: (nested_id(d.get("site")), d.get("vid")), ("name", "description", "status")
    )
    for skey, site in sorted((ipplan.get("sites") or {}).items()):
        for vkey, vlan in sorted((site.get("vlans") or {}).items()):
            vlans.ensure(
                {
                    "site": site_id[skey],
                    "vid": int(vlan["id"]),
                    "name": vkey,
                    "description": str(vlan.get("description", ""))[:200],
                    "status": "active",
                },
                f"{skey}/{vkey}",
            )
    flush()

    vlan_id = {k: v["id"] for k, v in vlans.by_key.items()}
    prefixes = endpoint(
        nb.ipam.prefixes,
        "prefix",
        lambda d: d.get("prefix"),
        ("scope_type", "scope_id", "vlan", "description", "status"),
    )
    for skey, site in sorted((ipplan.get("sites") or {}).items()):
        for vkey, vlan in sorted((site.get("vlans") or {}).items()):
            prefixes.ensure(
                {
                    "prefix": vlan["subnet"],
                    "scope_type": "dcim.site",
                    "scope_id": site_id[skey],
                    "vlan": vlan_id[(site_id[skey], int(vlan["id"]))],
                    "description": f"{skey}/{vkey}",
                    "status": "active",
                },
                vlan["subnet"],
            )
    tag_ids = {k: v["id"] for k, v in tags.by_key.items() if "id" in v}
    type_id = {k: v["id"] for k, v in types.by_key.items()}
    tenant_id = {k: v["id"] for k, v in tenants.by_key.items()}
    platform_id = {k: v["id"] for k, v in platforms.by_key.items()}
    role_id = {k: v["id"] for k, v in roles.by_key.items()}
    devices = endpoint(
        nb.dcim.devices,
        "device",
        lambda d: d.get("name"),
        ("site", "tenant", "role", "device_type", "platform", "status", "tags", "custom_fields", "local_context_data"),
    )
    for host in hosts:
        maker, model = hardware(host)
        platform = platform_of(host)
        want = {
            "name": host.name,
            "site": site_id[host.site],
            "tenant": tenant_id.get(host.tenant) if host.tenant else None,
            "role": role_id[host.role],
            "device_type": type_id[(maker_id[slugify(maker)], slugify(model))],
            "platform": platform_id.get(slugify(platform)) if platform else None,
            "status": "active",
            # By id, as NetBox answers (a tag that a check run has not created yet: by slug).
            "tags": sorted((tag_ids.get(t, {"slug": t}) for t in {MANAGED_TAG, *host.tags}), key=str),
            "custom_fields": custom_values(host),
            "local_context_data": local_context(host),
        }
        existing = devices.by_key.get(host.name)
        if existing is None and host.vars.get("xray_serial"):
            want["serial"] = str(host.vars["xray_serial"])  # at creation only: later the write-back owns it
        devices.ensure(want, host.name, owned_custom=tuple(INVENTORY_FIELDS))
    flush()

    device_id = {k: v["id"] for k, v in devices.by_key.items() if "id" in v}
    interfaces = endpoint(
        nb.dcim.interfaces,
        "interface",
        lambda d: (nested_id(d.get("device")), d.get("name")),
        ("type", "mode", "untagged_vlan", "description"),
    )
    for host in hosts:
        if host.name not in device_id:
            continue
        vid = int(ipplan["sites"][host.vlan[0]]["vlans"][host.vlan[1]]["id"])
        interfaces.ensure(
            {
                "device": device_id[host.name],
                "name": "mgmt0",
                "type": "virtual",
                "mode": "access",
                "untagged_vlan": vlan_id[(site_id[host.site], vid)],
                "description": "Yönetim / management (ansible_host)",
            },
            f"{host.name} mgmt0",
        )
    flush()

    iface_id = {k: v["id"] for k, v in interfaces.by_key.items() if "id" in v}
    addresses = endpoint(
        nb.ipam.ip_addresses,
        "IP address",
        lambda d: d.get("address"),
        ("assigned_object_type", "assigned_object_id", "tenant", "dns_name", "status"),
    )
    domain = ipplan.get("domain")
    for host in hosts:
        if host.name not in device_id:
            continue
        addresses.ensure(
            {
                "address": f"{host.address}/{host.prefixlen}",
                "assigned_object_type": "dcim.interface",
                "assigned_object_id": iface_id[(device_id[host.name], "mgmt0")],
                "tenant": tenant_id.get(host.tenant) if host.tenant else None,
                "dns_name": f"{host.name}.{domain}" if domain else "",
                "status": "active",
            },
            f"{host.address}/{host.prefixlen} ({host.name})",
        )
    flush()

    ip_id = {k: v["id"] for k, v in addresses.by_key.items() if "id" in v}
    primaries = endpoint(nb.dcim.devices, "device", lambda d: d.get("name"), ("primary_ip4",))
    for host in hosts:
        key = f"{host.address}/{host.prefixlen}"
        # A device or address that is still to be created (a --check run) gets its primary IPv4 with it.
        if isinstance(device_id.get(host.name), int) and isinstance(ip_id.get(key), int):
            primaries.ensure({"name": host.name, "primary_ip4": ip_id[key]}, f"{host.name} primary IPv4")
    flush()
    return plan


def drift(nb, hosts: list[Host], ipplan: dict) -> Plan:
    """What the inventory and NetBox disagree on: the seed's plan, devices only in NetBox, contradicting facts."""
    plan = seed(nb, hosts, ipplan, apply=False)
    report = [f"NetBox lacks or differs: {c}" for c in plan.changes]
    names = {h.name for h in hosts}
    by_name = {h.name: h for h in hosts}
    for dev in nb.dcim.devices.all():
        if dev.name not in names:
            site = dev.site.slug if dev.site else "?"
            report.append(f"only in NetBox: device {dev.name} (site {site}, role {dev.role.slug if dev.role else '?'})")
            continue
        host = by_name[dev.name]
        cf = dev.custom_fields or {}
        reported = cf.get("asset_model")
        _, model = hardware(host)
        if reported and model not in GENERIC_MODELS and model.lower() not in reported.lower():
            report.append(
                f"facts contradict the inventory: {dev.name} reports model '{reported}', the inventory says '{model}'"
            )
        serial = host.vars.get("xray_serial")
        if serial and dev.serial and str(serial) != dev.serial:
            report.append(
                f"facts contradict the inventory: {dev.name} reports serial '{dev.serial}', "
                f"the inventory says '{serial}'"
            )
        policy = host.vars.get("camera_firmware_policy")
        target = host.vars.get("camera_firmware_version")
        firmware = cf.get("asset_firmware")
        if policy == "pinned" and target and firmware and firmware != target:
            report.append(
                f"facts contradict the inventory: {dev.name} runs firmware '{firmware}', pinned to '{target}'"
            )
    return Plan(changes=plan.changes, drift=report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inventory", type=Path, help="an inventory directory (inventories/production, inventories/lab)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="print the plan, change nothing")
    mode.add_argument("--drift", action="store_true", help="report every disagreement (exit 3 when there is one)")
    parser.add_argument("--json", action="store_true", help="answer in JSON")
    args = parser.parse_args(argv)
    try:
        hosts, ipplan = load_inventory(args.inventory)
        nb = connect(os.environ.get("NETBOX_API"), os.environ.get("NETBOX_TOKEN"))
        if args.drift:
            result = drift(nb, hosts, ipplan)
            lines = result.drift
        else:
            result = seed(nb, hosts, ipplan, apply=not args.check)
            lines = result.changes
    except SeedError as exc:
        print(f"netbox_seed: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        key = "drift" if args.drift else "changes"
        print(
            json.dumps(
                {"inventory": str(args.inventory), "hosts": len(hosts), key: lines, "check": args.check},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        verb = "drift" if args.drift else ("would change" if args.check else "changed")
        for line in lines:
            print(line)
        print(f"netbox_seed: {args.inventory}: {len(hosts)} hosts, {len(lines)} {verb}")
    return 3 if args.drift and lines else 0


if __name__ == "__main__":
    sys.exit(main())
