#!/usr/bin/python
"""Write a host's or device's gathered facts back to its NetBox device (the asset register)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netbox_asset
short_description: Keep a NetBox device's asset register fields in line with the facts gathered from it
description:
  - NetBox is the municipality's asset register (taşınır kayıt). This module writes what a host or
    device reported about itself into its NetBox device, found by name (C(inventory_hostname)).
  - It owns the native field C(serial) and the custom fields C(asset_model), C(asset_os),
    C(asset_firmware), C(asset_facts_at) and C(asset_run_commit) (group "Varlık kaydı / asset
    register", created by C(tools/netbox_seed.py)). It reads the device, compares only these, and
    sends a PATCH with only those that differ. Every other field and custom field is left alone,
    also when it holds a value the facts would contradict.
  - An option that is not given (or is null) is not touched, so a device that does not report a
    serial keeps the one that was typed in by hand.
  - O(facts_at) differs on every run, so a run that finds the same hardware still changes
    C(asset_facts_at); RV(changed_fields) shows which fields moved.
  - Runs on the controller (C(delegate_to=localhost)) with pynetbox. Supports check mode (reports
    what would change, writes nothing) and diff mode (the owned fields before and after).
  - Failures are one line that names NetBox's URL or the device; nothing is written then.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
requirements: [pynetbox >= 7]
options:
  netbox_url:
    description: Base URL of NetBox, e.g. C(https://netbox.belediye.local). Falls back to C($NETBOX_API).
    type: str
    required: true
  netbox_token:
    description: API token (a v2 token C(nbt_<key>.<secret>) is accepted as it is). Falls back to C($NETBOX_TOKEN).
    type: str
    required: true
  validate_certs:
    description: Check NetBox's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each answer from NetBox.
    type: int
    default: 30
  name:
    description: The NetBox device name; the project uses C(inventory_hostname).
    type: str
    required: true
  serial:
    description: Serial number as reported; written to the device's native C(serial) field.
    type: str
  model:
    description: Model as reported (C(asset_model)).
    type: str
  os:
    description: Operating system name and version as reported (C(asset_os)).
    type: str
  firmware:
    description: Firmware or BIOS version as reported (C(asset_firmware)).
    type: str
  facts_at:
    description:
      - When the facts were gathered, ISO 8601 (C(asset_facts_at)), e.g. C(2026-12-01T08:00:00Z).
      - A time without a zone is taken as UTC. NetBox receives it in UTC as C(YYYY-MM-DDTHH:MM:SS+00:00).
    type: str
  run_commit:
    description: The belediye-iac git commit of the run (C(asset_run_commit)).
    type: str
"""

EXAMPLES = r"""
- name: The asset register holds what the server reported about itself
  netbox_asset:
    netbox_url: "{{ lookup('ansible.builtin.env', 'NETBOX_API') }}"
    netbox_token: "{{ lookup('ansible.builtin.env', 'NETBOX_TOKEN') }}"
    name: "{{ inventory_hostname }}"
    serial: "{{ ansible_product_serial }}"
    model: "{{ ansible_system_vendor }} {{ ansible_product_name }}"
    os: "{{ ansible_distribution }} {{ ansible_distribution_version }}"
    firmware: "{{ ansible_bios_version }}"
    facts_at: "{{ now(utc=true).strftime('%Y-%m-%dT%H:%M:%SZ') }}"
    run_commit: "{{ netbox_sync_commit }}"
  delegate_to: localhost

- name: The camera's firmware is recorded (the serial and model are left as they are)
  netbox_asset:
    name: "{{ inventory_hostname }}"
    firmware: "{{ ansible_facts.camera.firmware }}"
  delegate_to: localhost
"""

RETURN = r"""
changed_fields:
  description: Owned fields that differed and were written (would be, in check mode), in a fixed order.
  type: list
  elements: str
  returned: success
  sample: [asset_facts_at]
asset:
  description: The owned fields of the device after the run (as planned, in check mode).
  type: dict
  returned: success
  sample:
    serial: "VMware-42 1a 2b"
    asset_model: "VMware, Inc. VMware Virtual Platform"
    asset_os: "Debian 12.8"
    asset_firmware: "6.00"
    asset_facts_at: "2026-12-01T08:00:00+00:00"
    asset_run_commit: "3f2c1e0d9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
device:
  description: The NetBox device that was compared.
  type: dict
  returned: success
  sample: {id: 12, name: log01, url: "https://netbox.belediye.local/api/dcim/devices/12/"}
"""

import datetime as dt
import re
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import pynetbox
    import requests

    PYNETBOX_IMPORT_ERROR = None
except ImportError:
    PYNETBOX_IMPORT_ERROR = traceback.format_exc()

# option -> NetBox field, in the order results list them. Only `serial` is a native field.
OWNED = (
    ("serial", "serial"),
    ("model", "asset_model"),
    ("os", "asset_os"),
    ("firmware", "asset_firmware"),
    ("facts_at", "asset_facts_at"),
    ("run_commit", "asset_run_commit"),
)
NATIVE = frozenset({"serial"})
FIELD_ORDER = [field for _, field in OWNED]


class AssetError(Exception):
    """A failure whose text is ready for fail_json."""


# --- pure functions -------------------------------------------------------------------------------


def parse_timestamp(value):
    """An ISO 8601 date and time as an aware UTC datetime, or None when it is not one.

    'Z' is accepted for UTC (Python before 3.11 does not read it); a time without a zone is UTC.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC)


def canonical_timestamp(value):
    """The form written to NetBox: UTC, whole seconds, '+00:00'."""
    stamp = parse_timestamp(value)
    if stamp is None:
        raise AssetError(f"facts_at {value!r} is not an ISO 8601 date and time (e.g. 2026-12-01T08:00:00Z)")
    return stamp.replace(microsecond=0).isoformat()


def desired_fields(params):
    """NetBox field -> wanted value for the options that were given (None means: leave alone)."""
    wanted = {}
    for option, field in OWNED:
        value = params.get(option)
        if value is None:
            continue
        value = str(value).strip()
        wanted[field] = canonical_timestamp(value) if field == "asset_facts_at" else value
    return wanted


def current_fields(device):
    """The owned fields of a device as NetBox returns it (a dict); missing custom fields are left out."""
    custom = device.get("custom_fields") or {}
    current = {"serial": device.get("serial") or ""}
    for _, field in OWNED:
        if field not in NATIVE and field in custom:
            current[field] = custom[field]
    return current


def missing_custom_fields(device, wanted):
    """Custom fields the module would write that NetBox does not define for dcim.device."""
    custom = device.get("custom_fields") or {}
    return [f for f in FIELD_ORDER if f in wanted and f not in NATIVE and f not in custom]


def same_value(field, current, wanted):
    """Whether NetBox's value already is the wanted one (time stamps compared as instants)."""
    if field == "asset_facts_at":
        return current is not None and parse_timestamp(str(current)) == parse_timestamp(wanted)
    return ("" if current is None else str(current)) == wanted


def plan_asset(current, wanted):
    """Compare the owned fields. Returns (changed_fields, patch body, after).

    The patch body holds only the differing fields: `serial` at the top level, the others under
    `custom_fields` (NetBox merges a partial custom_fields into the stored ones).
    """
    changed = [f for f in FIELD_ORDER if f in wanted and not same_value(f, current.get(f), wanted[f])]
    body = {}
    for field in changed:
        if field in NATIVE:
            body[field] = wanted[field]
        else:
            body.setdefault("custom_fields", {})[field] = wanted[field]
    after = dict(current)
    after.update({f: wanted[f] for f in changed})
    return changed, body, after


def connection_reason(exc):
    """A short reason for a failed connection: '[Errno 111] Connection refused' -> 'Connection refused'."""
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if match:
        return match.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    return text.splitlines()[0][:200] if text else exc.__class__.__name__


# --- NetBox ---------------------------------------------------------------------------------------


def netbox_session(timeout, verify):
    """A requests session that applies a default timeout to every request pynetbox makes."""

    class TimeoutSession(requests.Session):
        def request(self, *args, **kwargs):
            kwargs.setdefault("timeout", timeout)
            return super().request(*args, **kwargs)

    session = TimeoutSession()
    session.verify = verify
    return session


def netbox_call(url, what, call):
    """Run one pynetbox call; turn its failures into AssetError lines naming NetBox's URL."""
    try:
        return call()
    except pynetbox.RequestError as exc:
        status = getattr(exc.req, "status_code", None)
        if status in (401, 403):
            raise AssetError(f"NetBox at {url} refused the token (HTTP {status})") from None
        detail = str(exc.error).replace("\n", " ")[:300]
        raise AssetError(f"NetBox at {url} rejected {what} (HTTP {status}): {detail}") from None
    except pynetbox.ContentError as exc:
        raise AssetError(f"NetBox at {url} did not answer as the NetBox API while {what}: {exc}") from None
    except requests.exceptions.RequestException as exc:
        raise AssetError(f"NetBox at {url} cannot be reached: {connection_reason(exc)}") from None


def find_device(nb, url, name):
    devices = netbox_call(url, f"the search for device {name}", lambda: list(nb.dcim.devices.filter(name=name)))
    if not devices:
        raise AssetError(f"device {name} is not in NetBox (seed it with tools/netbox_seed.py)")
    if len(devices) > 1:
        raise AssetError(f"device name {name} matches {len(devices)} devices in NetBox; names must be unique")
    return devices[0]


def run(module):
    p = module.params
    url = p["netbox_url"].rstrip("/")
    name = p["name"]
    wanted = desired_fields(p)
    nb = pynetbox.api(url, token=p["netbox_token"])
    nb.http_session = netbox_session(p["timeout"], p["validate_certs"])
    record = find_device(nb, url, name)
    device = dict(record)
    missing = missing_custom_fields(device, wanted)
    if missing:
        raise AssetError(
            f"NetBox at {url} has no custom field {', '.join(missing)} on dcim.device "
            "(create the asset register fields with tools/netbox_seed.py)"
        )
    before = current_fields(device)
    changed, body, after = plan_asset(before, wanted)
    if body and not module.check_mode:
        body["id"] = record.id
        message = f"belediye-iac netbox_asset: {', '.join(changed)}"
        if p["run_commit"]:
            message += f" (commit {p['run_commit']})"
        netbox_call(
            url, f"the update of device {name}", lambda: nb.dcim.devices.update([body], changelog_message=message)
        )
    result = {
        "changed": bool(changed),
        "changed_fields": changed,
        "asset": after,
        "device": {"id": record.id, "name": device.get("name"), "url": device.get("url")},
    }
    if module._diff:
        result["diff"] = {
            "before_header": f"NetBox device {name}",
            "after_header": f"NetBox device {name}",
            "before": before,
            "after": after,
        }
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "netbox_url": {"type": "str", "required": True, "fallback": (env_fallback, ["NETBOX_API"])},
            "netbox_token": {
                "type": "str",
                "required": True,
                "no_log": True,
                "fallback": (env_fallback, ["NETBOX_TOKEN"]),
            },
            "validate_certs": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 30},
            "name": {"type": "str", "required": True},
            "serial": {"type": "str"},
            "model": {"type": "str"},
            "os": {"type": "str"},
            "firmware": {"type": "str"},
            "facts_at": {"type": "str"},
            "run_commit": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if PYNETBOX_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("pynetbox"), exception=PYNETBOX_IMPORT_ERROR)
    error = None
    try:
        result = run(module)
    except AssetError as exc:
        error = str(exc)
    if error:
        # one exit for failures: one line naming NetBox or the device; no traceback is added
        module.fail_json(msg=error, changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
