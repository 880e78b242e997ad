#!/usr/bin/python
"""Enforce the municipality's baseline settings on an IP camera over ONVIF and the vendor API."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: camera_settings
short_description: Enforce NTP, time zone, hostname, discovery, cloud and UPnP settings on an IP camera
description:
  - Reads the camera's settings over ONVIF Device Management (NTP servers, time mode, time zone,
    hostname, WS-Discovery mode) and, for what ONVIF cannot reach, over the vendor's API (P2P/cloud,
    UPnP and the vendor's own time zone field), compares them with the wanted values and writes
    only what differs.
  - Runs on the controller (C(connection=local) or C(delegate_to=localhost)); needs zeep, requests,
    xmltodict and onvif-zeep-async (for its WSDL files) in the controller's Python.
  - Options left out are not managed, except O(cloud) and O(upnp), which default to off when a vendor
    is given.
  - Supports check mode and diff mode.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
extends_documentation_fragment: [belediye_camera]
options:
  vendor:
    description: Vendor API for the settings ONVIF lacks. C(none) manages only the ONVIF settings.
    type: str
    choices: [hikvision, none]
    default: none
  ntp_servers:
    description:
      - NTP servers (IPv4, IPv6 or DNS names). The comparison ignores order and case, because
        the camera queries every listed server; when they differ the list is written in this order.
      - Also sets the time mode to NTP.
    type: list
    elements: str
  timezone:
    description:
      - C(Europe/Istanbul) (or another name the module_util knows) or a POSIX TZ without daylight
        saving such as C(<+03>-3). Written as POSIX TZ over ONVIF and, for Hikvision, as
        C(CST-3:00:00) over ISAPI.
    type: str
  hostname: {description: Host name of the camera (compared case-insensitively)., type: str}
  discoverable: {description: Whether the camera answers WS-Discovery probes., type: bool}
  cloud:
    description: Whether the vendor's P2P/cloud service (Hikvision EZVIZ/Hik-Connect) is on.
    type: bool
    default: false
  upnp: {description: Whether UPnP (and its port mapping) is on., type: bool, default: false}
"""

EXAMPLES = r"""
- name: Cameras follow the municipality's time, naming and exposure baseline
  camera_settings:
    host: "{{ ansible_host }}"
    port: "{{ camera_port | default(80) }}"
    name: "{{ inventory_hostname }}"
    username: admin
    password: "{{ vault_camera_admin_password }}"
    vendor: hikvision
    ntp_servers: [10.20.0.1, 10.20.0.2]
    timezone: Europe/Istanbul
    hostname: "{{ inventory_hostname }}"
    discoverable: false
  delegate_to: localhost
"""

RETURN = r"""
changes:
  description: Names of the settings that differed (and were written unless in check mode).
  type: list
  elements: str
  returned: always
  sample: [ntp_servers, timezone, cloud]
diff:
  description: Before and after values of the changed settings.
  type: dict
  returned: when diff mode is on
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_camera import (
    CONNECTION_ARGS,
    CameraError,
    connect,
    normalise_ntp,
    require_libraries,
    settings_plan,
    timezone_forms,
    vendor_driver,
)


def desired_settings(params):
    """The wanted values, in the keys settings_plan() compares; None means not managed."""
    posix = vendor_tz = None
    if params["timezone"] is not None:
        posix, vendor_tz = timezone_forms(params["timezone"])
    has_vendor = params["vendor"] != "none"
    return {
        "ntp_servers": normalise_ntp(params["ntp_servers"]) if params["ntp_servers"] is not None else None,
        "time_mode": "NTP" if params["ntp_servers"] else None,
        "timezone": posix,
        "vendor_timezone": vendor_tz if has_vendor else None,
        "hostname": params["hostname"],
        "discoverable": params["discoverable"],
        "cloud": params["cloud"] if has_vendor else None,
        "upnp": params["upnp"] if has_vendor else None,
    }


def read_current(device, vendor, desired):
    """Read only what is managed, so an unmanaged setting costs no request. The host name is always
    read: it is the first authenticated call (the time settings come from an unauthenticated one)."""
    current = {"hostname": device.hostname()}
    if desired["time_mode"] is not None or desired["timezone"] is not None:
        current.update(device.time_settings())
    if desired["ntp_servers"] is not None:
        current["ntp_servers"] = normalise_ntp(device.ntp_servers())
    if desired["discoverable"] is not None:
        current["discoverable"] = device.discoverable()
    if vendor is not None:
        if desired["cloud"] is not None:
            current["cloud"] = vendor.cloud()
        if desired["upnp"] is not None:
            current["upnp"] = vendor.upnp()
        if desired["vendor_timezone"] is not None:
            current["vendor_timezone"] = vendor.timezone()
    return current


def apply(device, vendor, desired, changes):
    if "ntp_servers" in changes:
        device.set_ntp(desired["ntp_servers"])
    if "time_mode" in changes or "timezone" in changes:
        device.set_time(desired["time_mode"], desired["timezone"])
    if "hostname" in changes:
        device.set_hostname(desired["hostname"])
    if "discoverable" in changes:
        device.set_discoverable(desired["discoverable"])
    if "cloud" in changes:
        vendor.set_cloud(desired["cloud"])
    if "upnp" in changes:
        vendor.set_upnp(desired["upnp"])
    if "vendor_timezone" in changes:
        vendor.set_timezone(desired["vendor_timezone"])


def main():
    spec = dict(CONNECTION_ARGS)
    spec.update(
        vendor={"type": "str", "choices": ["hikvision", "none"], "default": "none"},
        ntp_servers={"type": "list", "elements": "str"},
        timezone={"type": "str"},
        hostname={"type": "str"},
        discoverable={"type": "bool"},
        cloud={"type": "bool", "default": False},
        upnp={"type": "bool", "default": False},
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    require_libraries(module)
    params = module.params
    try:
        desired = desired_settings(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        device = connect(params)
        vendor = vendor_driver(
            params["vendor"],
            params["host"],
            params["port"],
            params["username"],
            params["password"],
            timeout=params["timeout"],
            device_name=params["name"],
        )
        current = read_current(device, vendor, desired)
        changes, diff = settings_plan(current, desired)
        if changes and not module.check_mode:
            apply(device, vendor, desired, changes)
    except CameraError as exc:
        module.fail_json(msg=str(exc))
    result = {"changed": bool(changes), "changes": changes}
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
