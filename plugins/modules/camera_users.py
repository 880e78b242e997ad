#!/usr/bin/python
"""Keep the accounts of an IP camera equal to a list, over ONVIF."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: camera_users
short_description: Create, update and remove the user accounts of an IP camera over ONVIF
description:
  - Creates missing users, corrects user levels and, with O(purge), removes accounts that are not
    listed (factory and forgotten accounts). Accounts in O(keep) and the login account are never removed.
  - ONVIF C(GetUsers) never returns passwords, so a password cannot be compared. With
    O(update_password=always) every listed password is set on every run and the task reports a change;
    with C(on_create) passwords are only set for new users.
  - Runs on the controller (C(connection=local) or C(delegate_to=localhost)). Supports check mode
    and diff mode; the diff shows user levels only, never passwords.
version_added: "1.0.0"
author: Bilgi İşlem Müdürlüğü
extends_documentation_fragment: [belediye_camera]
options:
  users:
    description: The accounts that should exist.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {description: Account name., type: str, required: true}
      password: {description: Password; required for an account that does not exist yet., type: str}
      level:
        description: ONVIF user level.
        type: str
        choices: [Administrator, Operator, User]
        default: User
  update_password:
    description: C(always) sets every listed password on each run; C(on_create) only for new users.
    type: str
    choices: [always, on_create]
    default: on_create
  purge: {description: Remove accounts that are not listed., type: bool, default: true}
  keep:
    description: Account names that are never removed, listed or not.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Only the VMS and the operators' accounts exist on the cameras
  camera_users:
    host: "{{ ansible_host }}"
    name: "{{ inventory_hostname }}"
    username: admin
    password: "{{ vault_camera_admin_password }}"
    users:
      - {name: vms, password: "{{ vault_camera_vms_password }}", level: Operator}
      - {name: izleme, password: "{{ vault_camera_viewer_password }}", level: User}
    keep: [onvif-nvr]
  delegate_to: localhost
"""

RETURN = r"""
created: {description: Accounts created., type: list, elements: str, returned: always}
updated:
  description: Accounts whose level (or, with update_password=always, password) was set.
  type: list
  elements: str
  returned: always
removed: {description: Accounts removed., type: list, elements: str, returned: always}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.belediye_camera import (
    CONNECTION_ARGS,
    CameraError,
    connect,
    diff_users,
    require_libraries,
    user_plan_summary,
)


def apply(device, plan):
    """Create before update before remove, so a run that replaces the only other admin never locks out."""
    if plan["create"]:
        device.create_users(plan["create"])
    if plan["update"]:
        device.set_users(plan["update"])
    if plan["remove"]:
        device.delete_users(plan["remove"])


def main():
    spec = dict(CONNECTION_ARGS)
    spec.update(
        users={
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "name": {"type": "str", "required": True},
                "password": {"type": "str", "no_log": True},
                "level": {"type": "str", "choices": ["Administrator", "Operator", "User"], "default": "User"},
            },
        },
        update_password={"type": "str", "choices": ["always", "on_create"], "default": "on_create", "no_log": False},
        purge={"type": "bool", "default": True},
        keep={"type": "list", "elements": "str", "default": []},
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    require_libraries(module)
    params = module.params
    try:
        device = connect(params)
        current = device.users()
        try:
            plan = diff_users(
                current,
                params["users"],
                params["update_password"],
                params["purge"],
                params["keep"],
                login_user=params["username"],
            )
        except ValueError as exc:
            raise CameraError(f"{device.label}: {exc}") from None
        if not module.check_mode:
            apply(device, plan)
    except CameraError as exc:
        module.fail_json(msg=str(exc))
    summary = user_plan_summary(plan, current)
    diff = summary.pop("diff")
    changed = bool(summary["created"] or summary["updated"] or summary["removed"])
    result = dict(changed=changed, **summary)
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
