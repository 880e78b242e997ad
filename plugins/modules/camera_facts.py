#!/usr/bin/python
"""Read an IP camera's identity and firmware over ONVIF and compare it with the approved versions."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: camera_facts
short_description: Gather an IP camera's manufacturer, model, firmware and serial number over ONVIF
description:
  - Calls ONVIF C(GetDeviceInformation) and returns the answer as C(ansible_facts.camera).
  - With O(approved_firmware) it also reports whether the firmware is on the approved list for the
    model (C(firmware_drift)). With O(firmware_policy) and O(firmware_version), the inventory's
    per-camera policy, it reports whether the firmware is the pinned version or at least the minimum.
  - Drift is reported, as a warning and in the facts, never a failure; upgrading is a separate job
    with its own approval.
  - Runs on the controller; changes nothing, so it is safe in check mode.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
extends_documentation_fragment: [belediye_camera]
options:
  approved_firmware:
    description:
      - "Model to list of approved firmware versions, e.g. C({DS-2CD2143G2-I: [V5.7.3, V5.7.15]})."
      - A model missing from the mapping counts as drift.
    type: dict
  firmware_policy:
    description:
      - C(pinned) the camera runs exactly O(firmware_version); C(minimum) that version or newer
        (digit runs compared as numbers, build dates ignored); C(report_only) the version is only
        reported, e.g. for a model out of vendor support.
    type: str
    choices: [pinned, minimum, report_only]
  firmware_version:
    description: The version for O(firmware_policy); required with C(pinned) and C(minimum).
    type: str
"""

EXAMPLES = r"""
- name: The camera's firmware is known and compared with the approved list
  camera_facts:
    host: "{{ ansible_host }}"
    name: "{{ inventory_hostname }}"
    username: admin
    password: "{{ vault_camera_admin_password }}"
    approved_firmware: "{{ camera_approved_firmware }}"
  delegate_to: localhost

- name: The camera runs at least the firmware the inventory asks for
  camera_facts:
    host: "{{ ansible_host }}"
    name: "{{ inventory_hostname }}"
    username: admin
    password: "{{ vault_camera_admin_password }}"
    firmware_policy: minimum
    firmware_version: "11.11.73"
"""

RETURN = r"""
ansible_facts:
  description:
    - C(camera) with manufacturer, model, firmware, serial, hardware_id and, when approved_firmware
      or firmware_policy is given, firmware_drift (bool).
    - With approved_firmware, also approved_firmware (the list for the model).
    - With firmware_policy, also firmware_policy, firmware_wanted, firmware_status (C(ok),
      C(differs), C(older), C(unknown) or C(not_enforced)) and firmware_reason.
  type: dict
  returned: always
  sample:
    camera:
      manufacturer: HIKVISION
      model: DS-2CD2143G2-I
      firmware: V5.7.3
      serial: DS-2CD2143G2-I20230101AAWRJ00001
      hardware_id: "88"
      firmware_drift: false
      approved_firmware: [V5.7.3]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_camera import (
    CONNECTION_ARGS,
    CameraError,
    connect,
    firmware_drift,
    firmware_status,
    require_libraries,
)


def camera_facts(info, approved, policy=None, wanted=None):
    facts = dict(info)
    if approved is not None:
        facts["firmware_drift"], facts["approved_firmware"] = firmware_drift(info["model"], info["firmware"], approved)
    if policy is not None:
        status, drift, reason = firmware_status(info["firmware"], policy, wanted)
        facts.update(
            firmware_policy=policy,
            firmware_wanted=wanted,
            firmware_status=status,
            firmware_drift=drift,
            firmware_reason=reason,
        )
    return facts


def main():
    spec = dict(CONNECTION_ARGS)
    spec.update(
        approved_firmware={"type": "dict"},
        firmware_policy={"type": "str", "choices": ["pinned", "minimum", "report_only"]},
        firmware_version={"type": "str"},
    )
    module = AnsibleModule(
        argument_spec=spec,
        supports_check_mode=True,
        mutually_exclusive=[("approved_firmware", "firmware_policy")],
        required_if=[
            ("firmware_policy", "pinned", ("firmware_version",)),
            ("firmware_policy", "minimum", ("firmware_version",)),
        ],
    )
    require_libraries(module)
    try:
        info = connect(module.params).device_information()
    except CameraError as exc:
        module.fail_json(msg=str(exc))
    params = module.params
    facts = camera_facts(info, params["approved_firmware"], params["firmware_policy"], params["firmware_version"])
    if facts.get("firmware_drift"):
        label = params["name"] or params["host"]
        module.warn(
            f"camera {label}: {facts.get('firmware_reason') or 'firmware ' + info['firmware'] + ' is not approved'}"
        )
    module.exit_json(changed=False, ansible_facts={"camera": facts})


if __name__ == "__main__":
    main()
